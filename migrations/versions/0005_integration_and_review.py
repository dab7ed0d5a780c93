"""Integration notes, safety check-ins, action items and supervisor reviews

Revision ID: 0005_integration_and_review
Revises: 0004_dosing_sessions
Create Date: 2026-11-26 10:46:56.346888

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0005_integration_and_review'
down_revision = '0004_dosing_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.Enum('cosigned', 'returned', name='decision', native_enum=False, length=24), nullable=False),
    sa.Column('comments', sa.Text(), nullable=False),
    sa.Column('fidelity', sa.JSON(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resubmitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_reviews_author_id_users')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_reviews_course_id_courses')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_reviews_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviews_course_id'), ['course_id'], unique=False)
        batch_op.create_index('ix_reviews_record', ['record_type', 'record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviews_resubmitted_at'), ['resubmitted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviews_reviewer_id'), ['reviewer_id'], unique=False)

    op.create_table('safety_check_ins',
    sa.Column('context', sa.Enum('integration_session', 'call', name='checkincontext', native_enum=False, length=24), nullable=False),
    sa.Column('dosing_number', sa.Integer(), nullable=True),
    sa.Column('scheduled_day', sa.Integer(), nullable=True),
    sa.Column('serious_events', sa.Boolean(), nullable=False),
    sa.Column('serious_events_detail', sa.Text(), nullable=False),
    sa.Column('sleep', sa.Enum('as_usual', 'somewhat_disturbed', 'badly_disturbed', name='sleep', native_enum=False, length=24), nullable=False),
    sa.Column('substance_use', sa.Boolean(), nullable=False),
    sa.Column('substance_use_detail', sa.Text(), nullable=False),
    sa.Column('back_to_normal', sa.Boolean(), nullable=False),
    sa.Column('suicidal_thoughts', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('draft', 'signed', 'cosigned', name='recordstatus', native_enum=False, length=24), nullable=False),
    sa.Column('needs_cosign', sa.Boolean(), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_safety_check_ins_author_id_users')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_safety_check_ins_course_id_courses')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_safety_check_ins_voided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_check_ins'))
    )
    with op.batch_alter_table('safety_check_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_check_ins_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_safety_check_ins_course_id'), ['course_id'], unique=False)

    op.create_table('integration_sessions',
    sa.Column('duration_minutes', sa.Integer(), nullable=True),
    sa.Column('themes', sa.Text(), nullable=False),
    sa.Column('emotions', sa.JSON(), nullable=False),
    sa.Column('emotions_notes', sa.Text(), nullable=False),
    sa.Column('meaning_made', sa.Text(), nullable=False),
    sa.Column('risk_notes', sa.Text(), nullable=False),
    sa.Column('plan_next_session', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('check_in_id', sa.Integer(), nullable=True),
    sa.Column('risk_screen_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('draft', 'signed', 'cosigned', name='recordstatus', native_enum=False, length=24), nullable=False),
    sa.Column('needs_cosign', sa.Boolean(), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_integration_sessions_author_id_users')),
    sa.ForeignKeyConstraint(['check_in_id'], ['safety_check_ins.id'], name=op.f('fk_integration_sessions_check_in_id_safety_check_ins')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_integration_sessions_course_id_courses')),
    sa.ForeignKeyConstraint(['risk_screen_id'], ['measure_responses.id'], name=op.f('fk_integration_sessions_risk_screen_id_measure_responses')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_integration_sessions_voided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_sessions'))
    )
    with op.batch_alter_table('integration_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_sessions_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_sessions_check_in_id'), ['check_in_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_sessions_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_sessions_risk_screen_id'), ['risk_screen_id'], unique=False)

    op.create_table('action_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_in_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', 'dropped', name='actionstatus', native_enum=False, length=24), nullable=False),
    sa.Column('closed_in_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['closed_in_id'], ['integration_sessions.id'], name=op.f('fk_action_items_closed_in_id_integration_sessions')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_action_items_course_id_courses')),
    sa.ForeignKeyConstraint(['created_in_id'], ['integration_sessions.id'], name=op.f('fk_action_items_created_in_id_integration_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_items'))
    )
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_items_closed_in_id'), ['closed_in_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_created_in_id'), ['created_in_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_status'), ['status'], unique=False)

    op.create_table('integration_session_measures',
    sa.Column('integration_session_id', sa.Integer(), nullable=False),
    sa.Column('measure_response_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['integration_session_id'], ['integration_sessions.id'], name=op.f('fk_integration_session_measures_integration_session_id_integration_sessions')),
    sa.ForeignKeyConstraint(['measure_response_id'], ['measure_responses.id'], name=op.f('fk_integration_session_measures_measure_response_id_measure_responses')),
    sa.PrimaryKeyConstraint('integration_session_id', 'measure_response_id', name=op.f('pk_integration_session_measures'))
    )
    with op.batch_alter_table('integration_session_measures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_session_measures_measure_response_id'), ['measure_response_id'], unique=False)



def downgrade():
    with op.batch_alter_table('integration_session_measures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_session_measures_measure_response_id'))

    op.drop_table('integration_session_measures')
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_items_status'))
        batch_op.drop_index(batch_op.f('ix_action_items_created_in_id'))
        batch_op.drop_index(batch_op.f('ix_action_items_course_id'))
        batch_op.drop_index(batch_op.f('ix_action_items_closed_in_id'))

    op.drop_table('action_items')
    with op.batch_alter_table('integration_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_sessions_risk_screen_id'))
        batch_op.drop_index(batch_op.f('ix_integration_sessions_course_id'))
        batch_op.drop_index(batch_op.f('ix_integration_sessions_check_in_id'))
        batch_op.drop_index(batch_op.f('ix_integration_sessions_author_id'))

    op.drop_table('integration_sessions')
    with op.batch_alter_table('safety_check_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_check_ins_course_id'))
        batch_op.drop_index(batch_op.f('ix_safety_check_ins_author_id'))

    op.drop_table('safety_check_ins')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_reviews_resubmitted_at'))
        batch_op.drop_index('ix_reviews_record')
        batch_op.drop_index(batch_op.f('ix_reviews_course_id'))
        batch_op.drop_index(batch_op.f('ix_reviews_author_id'))

    op.drop_table('reviews')
