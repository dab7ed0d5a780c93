"""The review queue finds dosing records awaiting attestation by index, not by reading every dosing record a team ever signed

Revision ID: 0021_attestation_index
Revises: 0020_course_due_items
Create Date: 2026-12-07 17:15:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0021_attestation_index"
down_revision = "0020_course_due_items"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_dosing_sessions_attestation_state",
        "dosing_sessions",
        ["author_id", "status", "attestation_due"],
    )


def downgrade():
    op.drop_index("ix_dosing_sessions_attestation_state", table_name="dosing_sessions")
