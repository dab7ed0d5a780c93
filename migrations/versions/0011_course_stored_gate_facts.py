"""Boards and the patient page show each course's gates from facts stored on the course

Revision ID: 0011_course_stored_gate_facts
Revises: 0010_course_outcome_scores
Create Date: 2026-11-27 00:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0011_course_stored_gate_facts"
down_revision = "0010_course_outcome_scores"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stored_facts", sa.JSON(), nullable=True))
    # Existing courses keep NULL: pages work a course's gates out from its records until it
    # has stored facts (`models.stored.gates.stored_gate_facts`), and
    # `flask --app psiflow stored-values refresh` after the upgrade stores them. A migration
    # never runs today's fact sources: a later change of them must not change what it does.


def downgrade():
    # In place (SQLite 3.35+ drops a column itself): batch mode's copy of the table would
    # drop a table that rows of every record type refer to.
    with op.batch_alter_table("courses", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("stored_facts")
