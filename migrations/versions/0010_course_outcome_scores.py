"""The team outcome table reads each course's two scores per outcome instrument as the course
stores them, instead of picking them from the team's measures on every visit

Revision ID: 0010_course_outcome_scores
Revises: 0009_outcome_scores_index
Create Date: 2026-11-26 23:29:16.422666

"""

from alembic import op
import sqlalchemy as sa

import psiflow.models.types

# revision identifiers, used by Alembic.
revision = "0010_course_outcome_scores"
down_revision = "0009_outcome_scores_index"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "course_outcome_scores",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=20), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("latest", sa.Float(), nullable=False),
        sa.Column("latest_timepoint", sa.String(length=40), nullable=False),
        sa.Column(
            "latest_at", psiflow.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_course_outcome_scores_course_id_courses")
        ),
        sa.PrimaryKeyConstraint(
            "course_id", "instrument_id", name=op.f("pk_course_outcome_scores")
        ),
    )
    # Existing courses get their scores from the app's own rule, so the table shows the same
    # outcomes the moment the migration is done.
    from psiflow import stored_outcomes

    stored_outcomes.refresh_all(op.get_bind())


def downgrade():
    op.drop_table("course_outcome_scores")
