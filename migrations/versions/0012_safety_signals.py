"""Safety signals reach a person: alert severity and how an alert closed, critical vital flags,
adverse-event seriousness criteria and outcome follow-ups, the emergency end of a session

Revision ID: 0012_safety_signals
Revises: 0011_course_stored_gate_facts
Create Date: 2026-12-07 03:00:00

"""

from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = "0012_safety_signals"
down_revision = "0011_course_stored_gate_facts"
branch_labels = None
depends_on = None

# Frozen copy of the severity each kind of alert had when this migration was written.
_SEVERITY_BY_KIND = {
    "screening_flag": "information",
    "suicide_risk": "critical",
    "serious_adverse_event": "critical",
    "safety_check_in": "warning",
    "vitals": "critical",
}


# Columns are added and dropped in place (SQLite 3.35+ drops them natively): copying
# dosing_sessions to drop a column would break the foreign keys that point at it.


def upgrade():
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "severity",
                sa.Enum(
                    "critical",
                    "warning",
                    "information",
                    name="severity",
                    native_enum=False,
                    length=16,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "resolution",
                sa.Enum(
                    "acknowledged",
                    "safety_plan",
                    "cleared",
                    "cause_resolved",
                    name="resolution",
                    native_enum=False,
                    length=24,
                ),
                nullable=True,
            )
        )
    alerts = sa.table(
        "alerts",
        sa.column("kind", sa.String),
        sa.column("severity", sa.String),
        sa.column("resolution", sa.String),
        sa.column("acknowledged_at", sa.DateTime),
    )
    for kind, severity in _SEVERITY_BY_KIND.items():
        op.execute(alerts.update().where(alerts.c.kind == kind).values(severity=severity))
    op.execute(alerts.update().where(alerts.c.severity.is_(None)).values(severity="warning"))
    op.execute(
        alerts.update()
        .where(alerts.c.acknowledged_at.is_not(None))
        .values(resolution="acknowledged")
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column(
            "severity",
            existing_type=sa.Enum(
                "critical", "warning", "information", name="severity", native_enum=False, length=16
            ),
            nullable=False,
        )

    with op.batch_alter_table("vital_signs", recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("critical_flags", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("adverse_events", recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("seriousness_criteria", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("dosing_sessions", recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column(
                "ended_early_at", sa.DateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("emergency_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("transferred_to", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("transferred_by", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("notified", sa.Text(), nullable=False, server_default=""))

    op.create_table(
        "adverse_event_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adverse_event_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "recovered",
                "recovering",
                "not_recovered",
                "recovered_with_sequelae",
                "fatal",
                "unknown",
                name="outcome",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_events.id"],
            name=op.f("fk_adverse_event_updates_adverse_event_id_adverse_events"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_adverse_event_updates_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_event_updates")),
    )
    with op.batch_alter_table("adverse_event_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adverse_event_updates_adverse_event_id"),
            ["adverse_event_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_adverse_event_updates_recorded_by_id"),
            ["recorded_by_id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("adverse_event_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_event_updates_recorded_by_id"))
        batch_op.drop_index(batch_op.f("ix_adverse_event_updates_adverse_event_id"))
    op.drop_table("adverse_event_updates")
    with op.batch_alter_table("dosing_sessions", recreate="never") as batch_op:
        for column in (
            "notified",
            "transferred_by",
            "transferred_to",
            "emergency_reason",
            "ended_early_at",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("adverse_events", recreate="never") as batch_op:
        batch_op.drop_column("seriousness_criteria")
    with op.batch_alter_table("vital_signs", recreate="never") as batch_op:
        batch_op.drop_column("critical_flags")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("resolution")
        batch_op.drop_column("severity")
