"""Practicum hours: a trainee's log of hours by kind, signed by the trainee, signed off by
their supervisor, with the practice dosing sessions each entry covers

Revision ID: 0016_practicum_hours
Revises: 0015_music_and_attestation
Create Date: 2026-12-07 04:20:44.389502

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016_practicum_hours"
down_revision = "0015_music_and_attestation"
branch_labels = None
depends_on = None


def upgrade():
    # New tables only: no existing row changes, so nothing to backfill.
    op.create_table(
        "practicum_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "practice_session",
                "observed_session",
                "supervision",
                "consultation",
                name="practicumkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("protocol_id", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft", "signed", "cosigned", name="recordstatus", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["users.id"], name=op.f("fk_practicum_entries_trainee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["voided_by_id"], ["users.id"], name=op.f("fk_practicum_entries_voided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practicum_entries")),
    )
    with op.batch_alter_table("practicum_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_practicum_entries_trainee_day", ["trainee_id", "occurred_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_practicum_entries_trainee_id"), ["trainee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_practicum_entries_voided_by_id"), ["voided_by_id"], unique=False
        )

    op.create_table(
        "practicum_addenda",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("printed_name", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_practicum_addenda_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["practicum_entries.id"],
            name=op.f("fk_practicum_addenda_entry_id_practicum_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practicum_addenda")),
    )
    with op.batch_alter_table("practicum_addenda", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_practicum_addenda_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_practicum_addenda_entry_id"), ["entry_id"], unique=False
        )

    op.create_table(
        "practicum_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("signer_id", sa.Integer(), nullable=False),
        sa.Column("printed_name", sa.String(length=120), nullable=False),
        sa.Column(
            "meaning",
            sa.Enum(
                "authored",
                "co_facilitated",
                "reviewed",
                "approved",
                name="meaning",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["practicum_entries.id"],
            name=op.f("fk_practicum_signatures_entry_id_practicum_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["signer_id"], ["users.id"], name=op.f("fk_practicum_signatures_signer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practicum_signatures")),
    )
    with op.batch_alter_table("practicum_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_practicum_signatures_entry_id"), ["entry_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_practicum_signatures_signer_id"), ["signer_id"], unique=False
        )

    op.create_table(
        "practicum_entry_sessions",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("dosing_session_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dosing_session_id"],
            ["dosing_sessions.id"],
            name=op.f("fk_practicum_entry_sessions_dosing_session_id_dosing_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["practicum_entries.id"],
            name=op.f("fk_practicum_entry_sessions_entry_id_practicum_entries"),
        ),
        sa.PrimaryKeyConstraint(
            "entry_id", "dosing_session_id", name=op.f("pk_practicum_entry_sessions")
        ),
    )
    with op.batch_alter_table("practicum_entry_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_practicum_entry_sessions_dosing_session_id", ["dosing_session_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("practicum_entry_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_practicum_entry_sessions_dosing_session_id")

    op.drop_table("practicum_entry_sessions")
    with op.batch_alter_table("practicum_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practicum_signatures_signer_id"))
        batch_op.drop_index(batch_op.f("ix_practicum_signatures_entry_id"))

    op.drop_table("practicum_signatures")
    with op.batch_alter_table("practicum_addenda", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practicum_addenda_entry_id"))
        batch_op.drop_index(batch_op.f("ix_practicum_addenda_author_id"))

    op.drop_table("practicum_addenda")
    with op.batch_alter_table("practicum_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practicum_entries_voided_by_id"))
        batch_op.drop_index(batch_op.f("ix_practicum_entries_trainee_id"))
        batch_op.drop_index("ix_practicum_entries_trainee_day")

    op.drop_table("practicum_entries")
