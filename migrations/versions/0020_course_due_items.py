"""Each course keeps its schedule's outstanding items, so a team's most urgent are one statement

Revision ID: 0020_course_due_items
Revises: 0019_training_clock
Create Date: 2026-12-07 07:40:00

The table starts empty and `flask --app psiflow stored-values refresh` (the README's upgrade
step after every `db upgrade`) fills it by today's rule; until then the due-after-dosing lists
would be empty, so the rows are filled here too, by a frozen copy of the rule as it stands at
this revision (a later change of the rule must not change what this migration does).
"""

from datetime import UTC, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020_course_due_items"
down_revision = "0019_training_clock"
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
    op.create_table(
        "course_due_items",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("dosing_number", sa.Integer(), nullable=True),
        sa.Column("instrument_id", sa.String(length=20), nullable=True),
        sa.Column("timepoint", sa.String(length=40), nullable=True),
        sa.Column("day", sa.Integer(), nullable=True),
        sa.Column("week", sa.Integer(), nullable=True),
        sa.Column("due_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_course_due_items_course_id_courses")
        ),
        sa.PrimaryKeyConstraint("course_id", "item", name=op.f("pk_course_due_items")),
    )
    op.create_index("ix_course_due_items_due_from", "course_due_items", ["due_from"])
    # The protocols' numbers are data (each version pinned by its courses) and come from the
    # catalog the app loaded; the rule is the frozen copy below.
    from flask import current_app

    _fill_items(op.get_bind(), current_app.extensions["psiflow"]["protocols"])


def downgrade():
    op.drop_index("ix_course_due_items_due_from", table_name="course_due_items")
    op.drop_table("course_due_items")


# --- The schedule rule as it stood at this revision (domain.schedule.outstanding) ------------

_BATCH = 500
_items = sa.table(
    "course_due_items",
    *(
        sa.column(name, kind)
        for name, kind in (
            ("course_id", sa.Integer),
            ("item", sa.String),
            ("kind", sa.String),
            ("dosing_number", sa.Integer),
            ("instrument_id", sa.String),
            ("timepoint", sa.String),
            ("day", sa.Integer),
            ("week", sa.Integer),
            ("due_from", _UTCDateTime(timezone=True)),
            ("overdue_at", _UTCDateTime(timezone=True)),
        )
    ),
)
_courses = sa.table(
    "courses",
    sa.column("id", sa.Integer),
    sa.column("protocol_id", sa.String),
    sa.column("protocol_version", sa.String),
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


def _fill_items(connection, protocols):
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
            # A course on a protocol this app does not load has none.
            protocol = protocols.get(f"{protocol_id}@{version}")
            if protocol is not None:
                values += [
                    {"course_id": course_id, **item}
                    for item in _outstanding(protocol, *done[course_id])
                ]
        if values:
            connection.execute(_items.insert(), values)
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


def _item(
    kind, due_from, overdue_at, number=None, instrument_id=None, timepoint=None, day=None, week=None
):
    key = ":".join("" if p is None else str(p) for p in (kind, number, instrument_id, day, week))
    return {
        "item": key,
        "kind": kind,
        "dosing_number": number,
        "instrument_id": instrument_id,
        "timepoint": timepoint,
        "day": day,
        "week": week,
        "due_from": due_from,
        "overdue_at": overdue_at,
    }


def _outstanding(protocol, dose_times, note_times, measures, calls):
    """The items of the latest dose (those of earlier doses are superseded by it) and the
    follow-ups, not yet done."""
    if not dose_times:
        return []
    number, dosed_at = len(dose_times), dose_times[-1]
    found = []
    if protocol.integration_sessions_per_dosing > 0 and not any(dosed_at <= t for t in note_times):
        within = timedelta(hours=protocol.first_integration_within_hours)
        found.append(_item("first_integration", dosed_at, dosed_at + within, number))
    timepoint = f"after_dosing_{number}"
    for instrument_id in protocol.after_dosing_measures:
        if (instrument_id, timepoint) not in measures:
            due = dosed_at + timedelta(days=1)
            found.append(
                _item(
                    "after_dosing_measure",
                    due,
                    due + timedelta(days=1),
                    number,
                    instrument_id,
                    timepoint,
                )
            )
    for day in protocol.safety_checkin_days:
        if (number, day) not in calls:
            due = dosed_at + timedelta(days=day)
            found.append(_item("safety_check_in", due, due + timedelta(days=1), number, day=day))
    if number >= protocol.dosing_sessions:
        # Follow-up weeks count from the last dosing session of the course.
        for week in protocol.follow_up_weeks:
            timepoint = f"follow_up_week_{week}"
            for instrument_id in protocol.follow_up_measures:
                if (instrument_id, timepoint) not in measures:
                    due = dosed_at + timedelta(weeks=week)
                    found.append(
                        _item(
                            "follow_up_measure",
                            due,
                            due + timedelta(days=7),
                            instrument_id=instrument_id,
                            timepoint=timepoint,
                            week=week,
                        )
                    )
    return found
