"""The board finds the notes returned to a clinician through an index of their own

Revision ID: 0007_returned_notes_index
Revises: 0006_review_queue_index
Create Date: 2026-11-26 13:30:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_returned_notes_index'
down_revision = '0006_review_queue_index'
branch_labels = None
depends_on = None


# Every board asks for the author's returned notes not yet re-submitted; without this index
# SQLite read them through ix_reviews_resubmitted_at, i.e. every review still open (~7 ms).
def upgrade():
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(
            'ix_reviews_returned', ['author_id', 'decision', 'resubmitted_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_reviews_returned')
