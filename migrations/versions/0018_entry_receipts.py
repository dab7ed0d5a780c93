"""Entries from the session room carry a key: a retry after a dropped connection records nothing twice

Revision ID: 0018_entry_receipts
Revises: 0017_patient_safety_details
Create Date: 2026-12-07 00:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0018_entry_receipts"
down_revision = "0017_patient_safety_details"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "entry_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=36), nullable=False),
        sa.Column("endpoint", sa.String(length=80), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("entry_type", sa.String(length=60), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_entry_receipts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_receipts")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_entry_receipts_user_id")),
    )
    with op.batch_alter_table("entry_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_receipts_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("entry_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_receipts_user_id"))
    op.drop_table("entry_receipts")
