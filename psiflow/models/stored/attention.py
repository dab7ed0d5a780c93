"""`Course.attention_from`: from when a course has something due after dosing.

The dashboard lists what is due or overdue after dosing. Working that out reads a course's
doses, notes, measures and calls; `Course.attention_from` stores the one moment from which a
course has anything due (`domain.schedule.attention_from`), so the dashboard works out only
the courses whose moment has come. The rule reads the record and never the clock, so the
stored value only changes when the record does. NULL means nothing more falls due.

`FEEDS` is kept in step with what `models.integration.schedule_done` reads; a vitals reading
or a signed note touches none of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

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
from psiflow.models.stored.watch import (
    Disagreement,
    StoredValue,
    batches,
    may_be_transition,
    refresh_every_course,
    values,
)

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
NAME = "attention_from"


class _CourseRef(NamedTuple):
    id: int


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
        fresh = compute(connection, [row[:3] for row in rows], protocols)
        changed.update((cid, at) for cid, at in fresh.items() if at != stored[cid])
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
    return refresh_every_course(connection, lambda conn, ids: refresh(conn, ids, protocols))


def stale(connection, course_ids: Iterable[int]) -> list[Disagreement]:
    """Courses whose stored value differs from the rule over what is on record now. Courses on
    a protocol this app did not load are skipped."""
    protocols = catalog.protocols()
    courses = Course.__table__
    rows = []
    for ids in batches(course_ids, BATCH):
        rows += [
            row
            for row in connection.execute(
                sa.select(
                    courses.c.id,
                    courses.c.protocol_id,
                    courses.c.protocol_version,
                    courses.c.attention_from,
                ).where(courses.c.id.in_(ids))
            )
            if f"{row[1]}@{row[2]}" in protocols
        ]
    fresh = compute(connection, [row[:3] for row in rows], protocols)
    return [
        Disagreement(row[0], NAME, row[3], fresh[row[0]]) for row in rows if row[3] != fresh[row[0]]
    ]


# --- Noticing the writes ---------------------------------------------------------------------


def _can_matter(cls, state) -> bool:
    # Measures and calls off the schedule, and transitions other than dosing -> integration,
    # are read by nothing the schedule does (a baseline, an unscheduled call, a hold). A
    # value not known here (expired) counts.
    if cls is MeasureResponse:
        timepoints = values(state, "timepoint")
        return not timepoints or any(
            t is None or t.startswith((AFTER_DOSING_PREFIX, FOLLOW_UP_PREFIX)) for t in timepoints
        )
    if cls is SafetyCheckIn:
        days = values(state, "scheduled_day")
        return not days or any(d is not None for d in days)
    if cls is PhaseTransition:
        return may_be_transition(state, Phase.DOSING, Phase.INTEGRATION)
    return True


VALUE = StoredValue(
    name=NAME,
    attribute="attention_from",
    feeds=FEEDS,
    refresh=lambda connection, ids: refresh(connection, ids, catalog.protocols()),
    stale=stale,
    can_matter=_can_matter,
    inserts_that_cannot_matter=_INSERTS_THAT_CANNOT_MATTER,
    through={DoseAdministration: ("session_id", DosingSession)},
)
