"""Each alert carries its patient's care team, so a team's open alerts are one index range per clinician

Revision ID: 0025_alert_care_team
Revises: 0024_open_alerts_index
Create Date: 2026-12-08 00:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025_alert_care_team"
down_revision = "0024_open_alerts_index"
branch_labels = None
depends_on = None

# Frozen here: the columns after the clinician in both indexes (models.alerts.TEAM_OPEN_INDEXED).
_INDEXED = ["is_practice", "severity", "raised_at", "id"]
_CARE_TEAM = ("lead_clinician_id", "co_facilitator_id", "is_practice")
_OPEN = sa.text("acknowledged_at IS NULL")


def upgrade():
    # Plain columns, added in place, as the courses' copy (0023): the patient's columns hold
    # the keys.
    with op.batch_alter_table("alerts", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("lead_clinician_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("co_facilitator_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("is_practice", sa.Boolean(), nullable=True))
    # The copy, as the rule makes it (psiflow.models.stored.care_team): the columns of the
    # patient of the alert's course.
    for column in _CARE_TEAM:
        op.execute(
            f"UPDATE alerts SET {column} = (SELECT patients.{column} FROM courses "
            "JOIN patients ON patients.id = courses.patient_id "
            "WHERE courses.id = alerts.course_id)"
        )
    for index, column in (
        ("ix_alerts_open_lead", "lead_clinician_id"),
        ("ix_alerts_open_co", "co_facilitator_id"),
    ):
        op.create_index(
            index, "alerts", [column, *_INDEXED], sqlite_where=_OPEN, postgresql_where=_OPEN
        )


def downgrade():
    op.drop_index("ix_alerts_open_co", table_name="alerts")
    op.drop_index("ix_alerts_open_lead", table_name="alerts")
    with op.batch_alter_table("alerts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("is_practice")
        batch_op.drop_column("co_facilitator_id")
        batch_op.drop_column("lead_clinician_id")
