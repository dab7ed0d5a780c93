"""The review queue finds the notes awaiting review through an index per record table

Revision ID: 0006_review_queue_index
Revises: 0005_integration_and_review
Create Date: 2026-11-26 11:28:05.770910

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_review_queue_index'
down_revision = '0005_integration_and_review'
branch_labels = None
depends_on = None

# Every clinical record table (ClinicalRecord adds the index to each): the queue asks each one
# for an author's signed records awaiting review, which it now reads from this index alone.
RECORD_TABLES = (
    'consents',
    'dosing_sessions',
    'integration_sessions',
    'measure_responses',
    'preparation_sessions',
    'safety_check_ins',
    'screenings',
    'set_intakes',
)


def upgrade():
    for table in RECORD_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                f'ix_{table}_review_state', ['author_id', 'status', 'needs_cosign'], unique=False
            )


def downgrade():
    for table in reversed(RECORD_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_review_state')
