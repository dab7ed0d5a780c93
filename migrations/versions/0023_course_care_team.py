"""Each course carries its patient's care team, so a caseload's courses are one index range per clinician

Revision ID: 0023_course_care_team
Revises: 0022_clinician_practice_indexes
Create Date: 2026-12-07 20:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023_course_care_team"
down_revision = "0022_clinician_practice_indexes"
branch_labels = None
depends_on = None

# Frozen here: the columns after the clinician in both indexes (models.courses.CASELOAD_INDEXED).
_INDEXED = [
    "is_practice",
    "phase",
    "phase_entered_at",
    "attention_from",
    "protocol_id",
    "patient_id",
    "id",
]
_CARE_TEAM = ("lead_clinician_id", "co_facilitator_id", "is_practice")
_PATIENT_INDEXES = (
    ("ix_patients_lead_clinician_practice", "lead_clinician_id"),
    ("ix_patients_co_facilitator_practice", "co_facilitator_id"),
)


def upgrade():
    # Plain columns, added in place: a foreign key would make SQLite copy the courses table,
    # which every record refers to (and the patient's own columns hold the keys).
    with op.batch_alter_table("courses", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("lead_clinician_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("co_facilitator_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("is_practice", sa.Boolean(), nullable=True))
    # The copy, as the rule makes it (psiflow.models.stored.care_team): the patient's columns.
    for column in _CARE_TEAM:
        op.execute(
            f"UPDATE courses SET {column} = "
            f"(SELECT patients.{column} FROM patients WHERE patients.id = courses.patient_id)"
        )
    op.create_index("ix_courses_lead_caseload", "courses", ["lead_clinician_id", *_INDEXED])
    op.create_index("ix_courses_co_caseload", "courses", ["co_facilitator_id", *_INDEXED])
    # The patients' clinician indexes hold the id too (PostgreSQL reads it from the index then).
    for index, column in _PATIENT_INDEXES:
        op.drop_index(index, table_name="patients")
        op.create_index(index, "patients", [column, "is_practice", "id"])


def downgrade():
    for index, column in _PATIENT_INDEXES:
        op.drop_index(index, table_name="patients")
        op.create_index(index, "patients", [column, "is_practice"])
    op.drop_index("ix_courses_co_caseload", table_name="courses")
    op.drop_index("ix_courses_lead_caseload", table_name="courses")
    # In place (SQLite 3.35+ drops a column itself), as 0008 and 0011 do.
    with op.batch_alter_table("courses", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("is_practice")
        batch_op.drop_column("co_facilitator_id")
        batch_op.drop_column("lead_clinician_id")
