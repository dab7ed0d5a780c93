"""The dashboard works out the after-dosing schedule only of the courses that need attention:
each course stores from when it has something due

Revision ID: 0008_course_schedule_attention
Revises: 0007_returned_notes_index
Create Date: 2026-11-26 16:30:00.000000

"""

from datetime import UTC, timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008_course_schedule_attention"
down_revision = "0007_returned_notes_index"
branch_labels = None
depends_on = None


class _UTCDateTime(sa.types.TypeDecorator):
    """A frozen copy of the app's `UTCDateTime` as it was when this migration was written:
    SQLite keeps naive UTC, PostgreSQL timestamptz; the rule below reads and writes aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def upgrade():
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "attention_from", _UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(
            "ix_courses_schedule_attention",
            ["patient_id", "phase", "phase_entered_at", "attention_from"],
            unique=False,
        )
    # Existing courses get their value now, so the dashboard shows the same rows the moment
    # the migration is done. The protocols' numbers are data (each version pinned by its
    # courses) and come from the catalog the app loaded; the rule is a frozen copy below.
    from flask import current_app

    _fill_attention_from(op.get_bind(), current_app.extensions["psiflow"]["protocols"])


# --- The schedule rule as it stood at this revision (domain.schedule.attention_from) ---------
# Frozen here: a later change of the rule must not change what this migration does. Courses
# are brought up to today's rule by `flask --app psiflow stored-values refresh`.

_BATCH = 500
_courses = sa.table(
    "courses",
    sa.column("id", sa.Integer),
    sa.column("protocol_id", sa.String),
    sa.column("protocol_version", sa.String),
    sa.column("attention_from", _UTCDateTime(timezone=True)),
)
_dosing_sessions = sa.table(
    "dosing_sessions",
    sa.column("id", sa.Integer),
    sa.column("course_id", sa.Integer),
    sa.column("voided_at", _UTCDateTime(timezone=True)),
)
_doses = sa.table(
    "dose_administrations",
    sa.column("id", sa.Integer),
    sa.column("session_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("given_at", _UTCDateTime(timezone=True)),
)
_transitions = sa.table(
    "phase_transitions",
    sa.column("id", sa.Integer),
    sa.column("course_id", sa.Integer),
    sa.column("from_phase", sa.String),
    sa.column("to_phase", sa.String),
    sa.column("at", _UTCDateTime(timezone=True)),
)
_notes = sa.table(
    "integration_sessions",
    sa.column("course_id", sa.Integer),
    sa.column("occurred_at", _UTCDateTime(timezone=True)),
    sa.column("voided_at", _UTCDateTime(timezone=True)),
)
_measures = sa.table(
    "measure_responses",
    sa.column("course_id", sa.Integer),
    sa.column("instrument_id", sa.String),
    sa.column("timepoint", sa.String),
    sa.column("status", sa.String),
    sa.column("voided_at", _UTCDateTime(timezone=True)),
)
_calls = sa.table(
    "safety_check_ins",
    sa.column("course_id", sa.Integer),
    sa.column("dosing_number", sa.Integer),
    sa.column("scheduled_day", sa.Integer),
    sa.column("voided_at", _UTCDateTime(timezone=True)),
)


def _fill_attention_from(connection, protocols):
    last = 0
    while True:
        rows = connection.execute(
            sa.select(_courses.c.id, _courses.c.protocol_id, _courses.c.protocol_version)
            .where(_courses.c.id > last)
            .order_by(_courses.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        ids = [row[0] for row in rows]
        done = _done(connection, ids)
        values = []
        for course_id, protocol_id, version in rows:
            # A course on a protocol this app does not load keeps NULL.
            protocol = protocols.get(f"{protocol_id}@{version}")
            at = None if protocol is None else _attention_from(protocol, *done[course_id])
            if at is not None:
                values.append({"course_id": course_id, "at": at})
        if values:
            connection.execute(
                sa.update(_courses)
                .where(_courses.c.id == sa.bindparam("course_id"))
                .values(attention_from=sa.bindparam("at")),
                values,
            )
        last = ids[-1]


def _done(connection, ids):
    """Per course: (dose times oldest first, note times, {(instrument, timepoint)} given,
    {(dosing number, scheduled day)} called)."""
    doses = {cid: [] for cid in ids}
    for course_id, at in connection.execute(
        sa.select(_dosing_sessions.c.course_id, _doses.c.given_at)
        .join(_dosing_sessions, _doses.c.session_id == _dosing_sessions.c.id)
        .where(
            _dosing_sessions.c.course_id.in_(ids),
            _dosing_sessions.c.voided_at.is_(None),
            _doses.c.kind == "initial",
        )
        .order_by(_doses.c.given_at, _doses.c.id)
    ):
        doses[course_id].append(at)
    # A course dosed outside PsiFlow (its gate overridden) has no session: its dosing ->
    # integration transitions stand in.
    stand_ins = {cid: [] for cid in ids}
    for course_id, at in connection.execute(
        sa.select(_transitions.c.course_id, _transitions.c.at)
        .where(
            _transitions.c.course_id.in_(ids),
            _transitions.c.from_phase == "dosing",
            _transitions.c.to_phase == "integration",
        )
        .order_by(_transitions.c.at, _transitions.c.id)
    ):
        stand_ins[course_id].append(at)
    notes = {cid: [] for cid in ids}
    for course_id, at in connection.execute(
        sa.select(_notes.c.course_id, _notes.c.occurred_at).where(
            _notes.c.course_id.in_(ids), _notes.c.voided_at.is_(None)
        )
    ):
        notes[course_id].append(at)
    measures = {cid: set() for cid in ids}
    for course_id, instrument_id, timepoint in connection.execute(
        sa.select(_measures.c.course_id, _measures.c.instrument_id, _measures.c.timepoint)
        .where(
            _measures.c.course_id.in_(ids),
            _measures.c.voided_at.is_(None),
            _measures.c.status != "draft",
        )
        .distinct()
    ):
        measures[course_id].add((instrument_id, timepoint))
    calls = {cid: set() for cid in ids}
    for course_id, number, day in connection.execute(
        sa.select(_calls.c.course_id, _calls.c.dosing_number, _calls.c.scheduled_day)
        .where(
            _calls.c.course_id.in_(ids),
            _calls.c.voided_at.is_(None),
            _calls.c.scheduled_day.is_not(None),
        )
        .distinct()
    ):
        calls[course_id].add((number, day))
    return {
        cid: (doses[cid] or stand_ins[cid], notes[cid], measures[cid], calls[cid]) for cid in ids
    }


def _attention_from(protocol, dose_times, note_times, measures, calls):
    """The earliest start of a scheduled item still outstanding after the latest dose (items of
    earlier doses are superseded by it), or None when nothing more falls due."""
    if not dose_times:
        return None
    number, dosed_at = len(dose_times), dose_times[-1]
    starts = []
    if protocol.integration_sessions_per_dosing > 0 and not any(
        dosed_at <= t for t in note_times
    ):
        starts.append(dosed_at)  # the first integration session after the dose
    for instrument_id in protocol.after_dosing_measures:
        if (instrument_id, f"after_dosing_{number}") not in measures:
            starts.append(dosed_at + timedelta(days=1))  # the day after the dose
    for day in protocol.safety_checkin_days:
        if (number, day) not in calls:
            starts.append(dosed_at + timedelta(days=day))
    if number >= protocol.dosing_sessions:
        # Follow-up weeks count from the last dosing session of the course.
        for week in protocol.follow_up_weeks:
            for instrument_id in protocol.follow_up_measures:
                if (instrument_id, f"follow_up_week_{week}") not in measures:
                    starts.append(dosed_at + timedelta(weeks=week))
    return min(starts, default=None)


def downgrade():
    # In place (SQLite 3.35+ drops a column itself): batch mode's copy of the table would
    # drop a table that rows of every record type refer to.
    with op.batch_alter_table("courses", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_courses_schedule_attention")
        batch_op.drop_column("attention_from")
