"""Regulated values: the REMS monitoring form owed after each session, and dose deviations

Revision ID: 0013_rems_monitoring_forms
Revises: 0012_safety_signals
Create Date: 2026-12-01 00:00:00.000000

"""

from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = "0013_rems_monitoring_forms"
down_revision = "0012_safety_signals"
branch_labels = None
depends_on = None


def upgrade():
    # Sessions started before this revision owe no tracked form: the clinic's own log covers
    # them, and a form invented here would show as overdue the moment the migration ran.
    op.create_table(
        "rems_monitoring_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_rems_monitoring_forms_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dosing_sessions.id"],
            name=op.f("fk_rems_monitoring_forms_session_id_dosing_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_rems_monitoring_forms_submitted_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_monitoring_forms")),
        sa.UniqueConstraint("session_id", name=op.f("uq_rems_monitoring_forms_session_id")),
    )
    with op.batch_alter_table("rems_monitoring_forms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rems_monitoring_forms_course_id"), ["course_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rems_monitoring_forms_submitted_by_id"),
            ["submitted_by_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_rems_monitoring_forms_open", ["course_id", "submitted_at"], unique=False
        )

    op.create_table(
        "dose_deviations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("initial", "supplemental", name="dosekind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_dose_deviations_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dosing_sessions.id"],
            name=op.f("fk_dose_deviations_session_id_dosing_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_deviations")),
    )
    with op.batch_alter_table("dose_deviations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dose_deviations_recorded_by_id"), ["recorded_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dose_deviations_session_id"), ["session_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("dose_deviations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dose_deviations_session_id"))
        batch_op.drop_index(batch_op.f("ix_dose_deviations_recorded_by_id"))

    op.drop_table("dose_deviations")
    with op.batch_alter_table("rems_monitoring_forms", schema=None) as batch_op:
        batch_op.drop_index("ix_rems_monitoring_forms_open")
        batch_op.drop_index(batch_op.f("ix_rems_monitoring_forms_submitted_by_id"))
        batch_op.drop_index(batch_op.f("ix_rems_monitoring_forms_course_id"))

    op.drop_table("rems_monitoring_forms")
