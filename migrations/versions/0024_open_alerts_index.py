"""A team's open alerts are counted from its courses through a partial index of the open ones

Revision ID: 0024_open_alerts_index
Revises: 0023_course_care_team
Create Date: 2026-12-07 21:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_open_alerts_index"
down_revision = "0023_course_care_team"
branch_labels = None
depends_on = None

_OPEN = sa.text("acknowledged_at IS NULL")


def upgrade():
    op.create_index(
        "ix_alerts_open_course",
        "alerts",
        ["course_id", "severity"],
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def downgrade():
    op.drop_index("ix_alerts_open_course", table_name="alerts")
