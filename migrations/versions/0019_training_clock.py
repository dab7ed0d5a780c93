"""Trainees rehearse scripted scenarios on a training clock; scripted monitor readings are marked as such

Revision ID: 0019_training_clock
Revises: 0018_entry_receipts
Create Date: 2026-12-07 04:24:20.444323

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0019_training_clock"
down_revision = "0018_entry_receipts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scenario_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=64), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_scenario_runs_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_scenario_runs_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dosing_sessions.id"],
            name=op.f("fk_scenario_runs_session_id_dosing_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["users.id"], name=op.f("fk_scenario_runs_trainee_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_runs")),
    )
    with op.batch_alter_table("scenario_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scenario_runs_course_id"), ["course_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_scenario_runs_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scenario_runs_scenario_id"), ["scenario_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scenario_runs_session_id"), ["session_id"], unique=True
        )
        batch_op.create_index(
            batch_op.f("ix_scenario_runs_trainee_id"), ["trainee_id"], unique=False
        )

    op.create_table(
        "training_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("speed", sa.Integer(), nullable=False),
        sa.Column("anchor_wall_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anchor_session_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"], ["users.id"], name=op.f("fk_training_clocks_changed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dosing_sessions.id"],
            name=op.f("fk_training_clocks_session_id_dosing_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_clocks")),
    )
    with op.batch_alter_table("training_clocks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_clocks_changed_by_id"), ["changed_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_clocks_session_id"), ["session_id"], unique=True
        )

    op.create_table(
        "adherence_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_adherence_comments_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["scenario_runs.id"],
            name=op.f("fk_adherence_comments_run_id_scenario_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adherence_comments")),
    )
    with op.batch_alter_table("adherence_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adherence_comments_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_adherence_comments_run_id"), ["run_id"], unique=False)

    op.create_table(
        "scenario_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vital_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["scenario_runs.id"],
            name=op.f("fk_scenario_deliveries_run_id_scenario_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["vital_id"],
            ["vital_signs.id"],
            name=op.f("fk_scenario_deliveries_vital_id_vital_signs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_deliveries")),
        sa.UniqueConstraint("run_id", "event_id", name=op.f("uq_scenario_deliveries_run_id")),
    )
    with op.batch_alter_table("scenario_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scenario_deliveries_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_scenario_deliveries_vital_id"), ["vital_id"], unique=False
        )

    with op.batch_alter_table("vital_signs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=40), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("vital_signs", schema=None) as batch_op:
        batch_op.drop_column("source")

    with op.batch_alter_table("scenario_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_deliveries_vital_id"))
        batch_op.drop_index(batch_op.f("ix_scenario_deliveries_run_id"))

    op.drop_table("scenario_deliveries")
    with op.batch_alter_table("adherence_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adherence_comments_run_id"))
        batch_op.drop_index(batch_op.f("ix_adherence_comments_author_id"))

    op.drop_table("adherence_comments")
    with op.batch_alter_table("training_clocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_clocks_session_id"))
        batch_op.drop_index(batch_op.f("ix_training_clocks_changed_by_id"))

    op.drop_table("training_clocks")
    with op.batch_alter_table("scenario_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_runs_trainee_id"))
        batch_op.drop_index(batch_op.f("ix_scenario_runs_session_id"))
        batch_op.drop_index(batch_op.f("ix_scenario_runs_scenario_id"))
        batch_op.drop_index(batch_op.f("ix_scenario_runs_patient_id"))
        batch_op.drop_index(batch_op.f("ix_scenario_runs_course_id"))

    op.drop_table("scenario_runs")
