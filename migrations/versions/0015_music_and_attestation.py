"""Music changes say what was played; both facilitators present sign a dosing record and the
supervisor attests it; the set intake keeps the agreed pickup time

Revision ID: 0015_music_and_attestation
Revises: 0014_session_tokens
Create Date: 2026-12-07 00:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0015_music_and_attestation"
down_revision = "0014_session_tokens"
branch_labels = None
depends_on = None


def upgrade():
    # Existing music changes keep their note; what was played is asked from now on.
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("playlist", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("track", sa.String(length=300), nullable=False, server_default="")
        )
    # Sessions signed before: co_facilitator_signs stays NULL (the protocol's pair rule still
    # reads them) and no attestation is due, so the queues do not fill with old records.
    with op.batch_alter_table("dosing_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("co_facilitator_signs", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("attestation_due", sa.Boolean(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("set_intakes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pickup_time", sa.Time(), nullable=True))


def downgrade():
    # Dropped in place (SQLite 3.35+): a copied table would break the rows that refer to it.
    with op.batch_alter_table("set_intakes", recreate="never") as batch_op:
        batch_op.drop_column("pickup_time")
    with op.batch_alter_table("dosing_sessions", recreate="never") as batch_op:
        batch_op.drop_column("attestation_due")
        batch_op.drop_column("co_facilitator_signs")
    with op.batch_alter_table("session_events", recreate="never") as batch_op:
        batch_op.drop_column("track")
        batch_op.drop_column("playlist")
