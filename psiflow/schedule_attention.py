"""`Course.attention_from`, kept equal to the schedule rule by every write that can change it.

The dashboard lists what is due or overdue after dosing. Working that out reads a course's
doses, notes, measures and calls; `Course.attention_from` stores the one moment from which a
course has anything due (`domain.schedule.attention_from`), so the dashboard works out only
the courses whose moment has come. The rule reads the record and never the clock, so the
stored value only changes when the record does.

A session listener notes which courses a flush touched through what the schedule reads
(`FEEDS`, in step with `models.integration.schedule_done`) and works their value out again
just before the transaction commits, in one batch, through the same rule. Nothing else is
read or written when a transaction touches none of it (a vitals reading, a signed note).
Rows written around the ORM (the benchmark's seed, a migration) call `refresh` themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow import catalog
from psiflow.domain.phases import Phase
from psiflow.domain.schedule import (
    AFTER_DOSING_PREFIX,
    FOLLOW_UP_PREFIX,
    attention_from,
    schedule_numbers,
)
from psiflow.models.courses import Course, PhaseTransition
from psiflow.models.dosing import DoseAdministration, DosingSession
from psiflow.models.integration import IntegrationSession, SafetyCheckIn, schedule_done
from psiflow.models.measures import MeasureResponse

# Per class the schedule reads, the columns it reads. An insert or delete counts whole.
FEEDS: dict[type, tuple[str, ...]] = {
    DosingSession: ("course_id", "voided_at"),
    DoseAdministration: ("session_id", "kind", "given_at"),
    IntegrationSession: ("course_id", "occurred_at", "voided_at"),
    MeasureResponse: ("course_id", "instrument_id", "timepoint", "status", "voided_at"),
    SafetyCheckIn: ("course_id", "dosing_number", "scheduled_day", "voided_at"),
    PhaseTransition: ("course_id", "from_phase", "to_phase", "at"),
    Course: ("protocol_id", "protocol_version"),
}
# Inserts that cannot change the value: a new course has no record yet (NULL is right), a
# new dosing session no dose (its dose is a row of its own, noticed when it is given).
_INSERTS_THAT_CANNOT_MATTER = (Course, DosingSession)
BATCH = 500


class _CourseRef(NamedTuple):
    id: int


_COURSES = "psiflow.schedule_attention.courses"  # session.info: course ids to work out again
_SESSIONS = "psiflow.schedule_attention.sessions"  # dosing session ids whose course is unknown
_RECORDS = "psiflow.schedule_attention.records"  # (class, id) whose course is unknown


def init_app(app) -> None:
    # On the base Session class, like the audit trail: every session, whoever opened it.
    for name, listener in (
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not sa.event.contains(so.Session, name, listener):
            sa.event.listen(so.Session, name, listener)


# --- The rule over many courses --------------------------------------------------------------


def compute(connection, course_rows: Iterable, protocols: dict) -> dict[int, datetime | None]:
    """`attention_from` of each course, from what is on record now.

    `course_rows`: (id, protocol_id, protocol_version); `protocols`: keyed `id@version`;
    `connection`: a session or connection to read through.
    """
    rows = list(course_rows)
    found: dict[int, datetime | None] = {}
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        done = schedule_done([_CourseRef(row[0]) for row in batch], connection)
        numbers: dict[str, object] = {}
        for course_id, protocol_id, version in batch:
            key = f"{protocol_id}@{version}"
            if key not in numbers:
                numbers[key] = schedule_numbers(protocols[key])
            found[course_id] = attention_from(numbers[key], done[course_id])
    return found


def refresh(connection, course_ids: Iterable[int], protocols: dict) -> dict[int, datetime | None]:
    """Work the stored value out again for these courses; returns the values that changed.

    The course rows are locked first (PostgreSQL), so two transactions writing records of
    one course store the value of both, not of whichever committed last.
    """
    courses = Course.__table__
    ids = sorted(set(course_ids))
    changed: dict[int, datetime | None] = {}
    for start in range(0, len(ids), BATCH):
        rows = connection.execute(
            sa.select(
                courses.c.id,
                courses.c.protocol_id,
                courses.c.protocol_version,
                courses.c.attention_from,
            )
            .where(courses.c.id.in_(ids[start : start + BATCH]))
            .order_by(courses.c.id)
            .with_for_update()
        ).all()
        stored = {row[0]: row[3] for row in rows}
        values = compute(connection, [row[:3] for row in rows], protocols)
        changed.update((cid, at) for cid, at in values.items() if at != stored[cid])
    if changed:
        # Core, not the ORM: a derived column is no clinical change (no audit event, no
        # version bump), and no flush can start again from here.
        connection.execute(
            sa.update(courses)
            .where(courses.c.id == sa.bindparam("course_id"))
            .values(attention_from=sa.bindparam("at")),
            [{"course_id": cid, "at": at} for cid, at in changed.items()],
        )
    return changed


def refresh_all(connection, protocols: dict) -> int:
    """Every course, in batches: for rows written around the ORM."""
    courses = Course.__table__
    last, total = 0, 0
    while True:
        ids = (
            connection.execute(
                sa.select(courses.c.id)
                .where(courses.c.id > last)
                .order_by(courses.c.id)
                .limit(BATCH * 4)
            )
            .scalars()
            .all()
        )
        if not ids:
            return total
        total += len(refresh(connection, ids, protocols))
        last = ids[-1]


# --- Noticing the writes ---------------------------------------------------------------------


def _after_flush(session, _flush_context) -> None:
    # After the flush, new rows have their ids and foreign keys; "new", "dirty", "deleted"
    # and the attribute histories still describe what the flush wrote.
    new, deleted = session.new, session.deleted
    for obj in (*new, *session.dirty, *deleted):
        cls = type(obj)
        columns = FEEDS.get(cls)
        if columns is None:
            continue
        state = sa.inspect(obj)
        if obj in new:
            if cls in _INSERTS_THAT_CANNOT_MATTER:
                continue
        elif obj not in deleted and not any(
            state.attrs[key].history.has_changes() for key in columns
        ):
            continue
        if _can_matter(cls, state):
            _note(session, cls, state)


def _values(state, key) -> list:
    """Every value the attribute had or has in this flush (old and new)."""
    history = state.attrs[key].history
    values = [*history.added, *history.unchanged, *history.deleted]
    if not values and key in state.dict:
        values = [state.dict[key]]
    return values


def _can_matter(cls, state) -> bool:
    # Measures and calls off the schedule, and transitions other than dosing -> integration,
    # are read by nothing the schedule does (a baseline, an unscheduled call, a hold). A
    # value not known here (expired) counts.
    if cls is MeasureResponse:
        timepoints = _values(state, "timepoint")
        return not timepoints or any(
            t is None or t.startswith((AFTER_DOSING_PREFIX, FOLLOW_UP_PREFIX)) for t in timepoints
        )
    if cls is SafetyCheckIn:
        days = _values(state, "scheduled_day")
        return not days or any(d is not None for d in days)
    if cls is PhaseTransition:
        froms, tos = _values(state, "from_phase"), _values(state, "to_phase")
        return not froms or not tos or (Phase.DOSING in froms and Phase.INTEGRATION in tos)
    return True


def _note(session, cls, state) -> None:
    courses = session.info.setdefault(_COURSES, set())
    if cls is Course:
        courses.add(state.identity[0])
        return
    if cls is DoseAdministration:
        session_ids = [v for v in _values(state, "session_id") if v is not None]
        if not session_ids:
            session.info.setdefault(_RECORDS, set()).add((cls, state.identity[0]))
        for session_id in session_ids:
            dosing = session.identity_map.get(so.util.identity_key(DosingSession, session_id))
            course_id = None if dosing is None else sa.inspect(dosing).dict.get("course_id")
            if course_id is None:
                session.info.setdefault(_SESSIONS, set()).add(session_id)
            else:
                courses.add(course_id)
        return
    course_ids = [v for v in _values(state, "course_id") if v is not None]
    if not course_ids:
        # Expired since it was read: which course it belongs to is asked at commit.
        session.info.setdefault(_RECORDS, set()).add((cls, state.identity[0]))
    courses.update(course_ids)


def _before_commit(session) -> None:
    # The commit flushes after this hook: flush now, so what it writes is noticed too.
    session.flush()
    if not (
        session.info.get(_COURSES) or session.info.get(_SESSIONS) or session.info.get(_RECORDS)
    ):
        return
    courses = session.info.pop(_COURSES, set())
    sessions = session.info.pop(_SESSIONS, set())
    records = session.info.pop(_RECORDS, set())
    connection = session.connection()
    if sessions:
        courses.update(
            connection.execute(
                sa.select(DosingSession.course_id).where(DosingSession.id.in_(sessions))
            ).scalars()
        )
    for cls, record_id in records:
        table = cls.__table__
        if cls is DoseAdministration:
            query = (
                sa.select(DosingSession.course_id)
                .join(table, table.c.session_id == DosingSession.id)
                .where(table.c.id == record_id)
            )
        else:
            query = sa.select(table.c.course_id).where(table.c.id == record_id)
        courses.update(connection.execute(query).scalars())
    changed = refresh(connection, courses, catalog.protocols())
    # A course this session holds would show the old value until it is next loaded.
    for course_id, at in changed.items():
        course = session.identity_map.get(so.util.identity_key(Course, course_id))
        if course is not None:
            so.attributes.set_committed_value(course, "attention_from", at)


def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:
        for key in (_COURSES, _SESSIONS, _RECORDS):
            session.info.pop(key, None)
