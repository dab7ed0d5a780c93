"""The team outcome table reads each course's outcome scores from one covering index

Revision ID: 0009_outcome_scores_index
Revises: 0008_course_schedule_attention
Create Date: 2026-11-26 16:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009_outcome_scores_index'
down_revision = '0008_course_schedule_attention'
branch_labels = None
depends_on = None


# The team outcome table picks, per course and instrument, the first baseline and the latest
# later score among the measures that count. With every column it reads in the index, SQLite
# never visits the table's rows (with their answers JSON): about half the statement's time.
def upgrade():
    with op.batch_alter_table('measure_responses', schema=None) as batch_op:
        batch_op.create_index(
            'ix_measure_responses_outcome_scores',
            [
                'course_id',
                'instrument_id',
                'timepoint',
                'occurred_at',
                'total',
                'status',
                'needs_cosign',
                'voided_at',
            ],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('measure_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_measure_responses_outcome_scores')
