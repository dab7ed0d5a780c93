"""The live dosing-session record: checklist, doses, events, vital signs, adverse events, discharge

Revision ID: 0004_dosing_sessions
Revises: 0003_audit_trail
Create Date: 2026-11-26 10:35:32.146848

"""

from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = "0004_dosing_sessions"
down_revision = "0003_audit_trail"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dosing_sessions",
        sa.Column("facilitator_ids", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "ready_to_leave_at", sa.DateTime(timezone=True), nullable=True
        ),
        sa.Column("discharge_criteria_met", sa.JSON(), nullable=False),
        sa.Column("accompanied_by", sa.String(length=200), nullable=False),
        sa.Column("transport_plan", sa.Text(), nullable=False),
        sa.Column("left_as_planned", sa.Boolean(), nullable=True),
        sa.Column("transport_deviation", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft", "signed", "cosigned", name="recordstatus", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("needs_cosign", sa.Boolean(), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_dosing_sessions_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_dosing_sessions_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by_id"], ["users.id"], name=op.f("fk_dosing_sessions_voided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dosing_sessions")),
    )
    with op.batch_alter_table("dosing_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dosing_sessions_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dosing_sessions_course_id"), ["course_id"], unique=False
        )

    op.create_table(
        "adverse_events",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("onset_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column(
            "relatedness",
            sa.Enum(
                "not_related",
                "unlikely",
                "possible",
                "probable",
                "definite",
                name="relatedness",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("action_taken", sa.Text(), nullable=False),
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
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_adverse_events_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_adverse_events_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dosing_sessions.id"],
            name=op.f("fk_adverse_events_session_id_dosing_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
    )
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adverse_events_course_id"), ["course_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_adverse_events_recorded_by_id"), ["recorded_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_adverse_events_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "dose_administrations",
        sa.Column(
            "kind",
            sa.Enum("initial", "supplemental", name="dosekind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("substance", sa.String(length=60), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=32), nullable=False),
        sa.Column("lot_number", sa.String(length=60), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_dose_administrations_recorded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dosing_sessions.id"],
            name=op.f("fk_dose_administrations_session_id_dosing_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_administrations")),
        sa.UniqueConstraint("session_id", "kind", name=op.f("uq_dose_administrations_session_id")),
    )
    with op.batch_alter_table("dose_administrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dose_administrations_recorded_by_id"), ["recorded_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dose_administrations_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "session_answers",
        sa.Column(
            "kind",
            sa.Enum("checklist", "question", name="answerkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_session_answers_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dosing_sessions.id"],
            name=op.f("fk_session_answers_session_id_dosing_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_answers")),
    )
    with op.batch_alter_table("session_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_answers_recorded_by_id"), ["recorded_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_session_answers_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "session_events",
        sa.Column(
            "kind",
            sa.Enum(
                "onset",
                "peak",
                "music_change",
                "break",
                "note",
                name="eventkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_session_events_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dosing_sessions.id"],
            name=op.f("fk_session_events_session_id_dosing_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_events")),
    )
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_events_recorded_by_id"), ["recorded_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_session_events_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "vital_signs",
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("systolic", sa.Integer(), nullable=True),
        sa.Column("diastolic", sa.Integer(), nullable=True),
        sa.Column("heart_rate", sa.Integer(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("spo2", sa.Integer(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column(
            "acknowledged_at", sa.DateTime(timezone=True), nullable=True
        ),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledgement", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["users.id"],
            name=op.f("fk_vital_signs_acknowledged_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_vital_signs_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dosing_sessions.id"],
            name=op.f("fk_vital_signs_session_id_dosing_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vital_signs")),
    )
    with op.batch_alter_table("vital_signs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vital_signs_recorded_by_id"), ["recorded_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_vital_signs_session_id"), ["session_id"], unique=False)


def downgrade():
    with op.batch_alter_table("vital_signs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vital_signs_session_id"))
        batch_op.drop_index(batch_op.f("ix_vital_signs_recorded_by_id"))

    op.drop_table("vital_signs")
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_events_session_id"))
        batch_op.drop_index(batch_op.f("ix_session_events_recorded_by_id"))

    op.drop_table("session_events")
    with op.batch_alter_table("session_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_answers_session_id"))
        batch_op.drop_index(batch_op.f("ix_session_answers_recorded_by_id"))

    op.drop_table("session_answers")
    with op.batch_alter_table("dose_administrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dose_administrations_session_id"))
        batch_op.drop_index(batch_op.f("ix_dose_administrations_recorded_by_id"))

    op.drop_table("dose_administrations")
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_events_session_id"))
        batch_op.drop_index(batch_op.f("ix_adverse_events_recorded_by_id"))
        batch_op.drop_index(batch_op.f("ix_adverse_events_course_id"))

    op.drop_table("adverse_events")
    with op.batch_alter_table("dosing_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dosing_sessions_course_id"))
        batch_op.drop_index(batch_op.f("ix_dosing_sessions_author_id"))

    op.drop_table("dosing_sessions")
