"""A supervisor's lists find the team's real or practice patients from the clinician indexes alone, without reading each patient's row

Revision ID: 0022_clinician_practice_indexes
Revises: 0021_attestation_index
Create Date: 2026-12-07 17:25:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0022_clinician_practice_indexes"
down_revision = "0021_attestation_index"
branch_labels = None
depends_on = None


def upgrade():
    # The composite indexes lead with the clinician, so they serve the foreign keys too.
    op.create_index(
        "ix_patients_lead_clinician_practice", "patients", ["lead_clinician_id", "is_practice"]
    )
    op.create_index(
        "ix_patients_co_facilitator_practice", "patients", ["co_facilitator_id", "is_practice"]
    )
    op.drop_index("ix_patients_lead_clinician_id", table_name="patients")
    op.drop_index("ix_patients_co_facilitator_id", table_name="patients")


def downgrade():
    op.create_index("ix_patients_co_facilitator_id", "patients", ["co_facilitator_id"])
    op.create_index("ix_patients_lead_clinician_id", "patients", ["lead_clinician_id"])
    op.drop_index("ix_patients_co_facilitator_practice", table_name="patients")
    op.drop_index("ix_patients_lead_clinician_practice", table_name="patients")
