"""The patient header carries what the room needs in an emergency: allergies, current medicines,
the patient's phone and an emergency contact; the patient record gets a version so two people
editing those details never overwrite each other unseen

Revision ID: 0017_patient_safety_details
Revises: 0016_practicum_hours
Create Date: 2026-12-07 00:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0017_patient_safety_details"
down_revision = "0016_practicum_hours"
branch_labels = None
depends_on = None

_TEXT_COLUMNS = (
    ("phone", sa.String(length=40)),
    ("allergies", sa.Text()),
    ("current_medicines", sa.Text()),
    ("emergency_contact_name", sa.String(length=120)),
    ("emergency_contact_relationship", sa.String(length=60)),
    ("emergency_contact_phone", sa.String(length=40)),
)


def upgrade():
    # Existing patients start with every detail blank ("not recorded"), and at version 1. The
    # server defaults stay: rows written in bulk (the benchmark's seed) need not name them.
    for name, type_ in _TEXT_COLUMNS:
        op.add_column("patients", sa.Column(name, type_, nullable=False, server_default=""))
    op.add_column(
        "patients", sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))
    )


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+), not a batch copy of the table: copying would drop the
    # patients table that every course refers to, which SQLite's foreign keys refuse.
    op.drop_column("patients", "version")
    for name, _type in reversed(_TEXT_COLUMNS):
        op.drop_column("patients", name)
