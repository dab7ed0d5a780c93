"""The dashboard works out the after-dosing schedule only of the courses that need attention:
each course stores from when it has something due

Revision ID: 0008_course_schedule_attention
Revises: 0007_returned_notes_index
Create Date: 2026-11-26 16:30:00.000000

"""

from alembic import op
import sqlalchemy as sa

import psiflow.models.types

# revision identifiers, used by Alembic.
revision = "0008_course_schedule_attention"
down_revision = "0007_returned_notes_index"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "attention_from", psiflow.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(
            "ix_courses_schedule_attention",
            ["patient_id", "phase", "phase_entered_at", "attention_from"],
            unique=False,
        )
    # Existing courses get their value from the app's own rule, so the dashboard shows the
    # same rows the moment the migration is done.
    from flask import current_app

    from psiflow import schedule_attention

    protocols = current_app.extensions["psiflow"]["protocols"]
    schedule_attention.refresh_all(op.get_bind(), protocols)


def downgrade():
    # In place (SQLite 3.35+ drops a column itself): batch mode's copy of the table would
    # drop a table that rows of every record type refer to.
    with op.batch_alter_table("courses", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_courses_schedule_attention")
        batch_op.drop_column("attention_from")
