"""The team outcome table reads each course's two scores per outcome instrument as the course
stores them, instead of picking them from the team's measures on every visit

Revision ID: 0010_course_outcome_scores
Revises: 0009_outcome_scores_index
Create Date: 2026-11-26 23:29:16.422666

"""

from alembic import op
import sqlalchemy as sa


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
            "latest_at", sa.DateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_course_outcome_scores_course_id_courses")
        ),
        sa.PrimaryKeyConstraint(
            "course_id", "instrument_id", name=op.f("pk_course_outcome_scores")
        ),
    )
    # Existing courses get their scores now, so the table shows the same outcomes the moment
    # the migration is done, by the rule as it stood at this revision (frozen here: a later
    # change of the rule must not change what this migration does).
    op.execute(_FILL_SCORES)


# Per course and outcome instrument: the first counting baseline score (ties in time to the
# lower id) and the latest counting score after it (ties to the higher id). A record counts
# when it is not voided, not a draft, and co-signed where it needs a co-signature.
_FILL_SCORES = sa.text(
    """
INSERT INTO course_outcome_scores
    (course_id, instrument_id, baseline, latest, latest_timepoint, latest_at)
SELECT latest.course_id, latest.instrument_id, baseline.total, latest.total,
       latest.timepoint, latest.occurred_at
FROM (
    SELECT course_id, instrument_id, timepoint, occurred_at, total,
           ROW_NUMBER() OVER (
               PARTITION BY course_id, instrument_id ORDER BY occurred_at DESC, id DESC
           ) AS pick
    FROM measure_responses
    WHERE instrument_id IN ('phq9', 'gad7', 'pcl5', 'who5', 'madrs')
      AND voided_at IS NULL AND status <> 'draft' AND (NOT needs_cosign OR status = 'cosigned')
      AND timepoint <> 'baseline'
) AS latest
JOIN (
    SELECT course_id, instrument_id, occurred_at, total,
           ROW_NUMBER() OVER (
               PARTITION BY course_id, instrument_id ORDER BY occurred_at, id
           ) AS pick
    FROM measure_responses
    WHERE instrument_id IN ('phq9', 'gad7', 'pcl5', 'who5', 'madrs')
      AND voided_at IS NULL AND status <> 'draft' AND (NOT needs_cosign OR status = 'cosigned')
      AND timepoint = 'baseline'
) AS baseline
  ON baseline.course_id = latest.course_id AND baseline.instrument_id = latest.instrument_id
WHERE latest.pick = 1 AND baseline.pick = 1 AND latest.occurred_at > baseline.occurred_at
"""
)


def downgrade():
    op.drop_table("course_outcome_scores")
