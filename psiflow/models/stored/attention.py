"""A course's schedule after dosing, stored: `Course.attention_from` and its `CourseDueItem` rows.

The dashboards list what is due or overdue after dosing, across a caseload or a whole team.
Working that out reads a course's doses, notes, measures and calls; this value keeps the
answer with the course: the items still outstanding and not superseded (`CourseDueItem`,
from `domain.schedule.outstanding`), and the one moment from which it has anything due
(`Course.attention_from`, `domain.schedule.attention_from`). A list of the team's most urgent
items is then one statement ordered by deadline, whatever the team's size. The rule reads the
record and never the clock, so the stored value only changes when the record does: whether an
item is due or overdue is the clock's part, read where it is shown. NULL (no rows) means
nothing more falls due.

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
    DueItem,
    outstanding,
    schedule_numbers,
)
from psiflow.models.courses import Course, PhaseTransition
from psiflow.models.dosing import DoseAdministration, DosingSession
from psiflow.models.due_items import ITEM_COLUMNS, CourseDueItem, item_row
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
ITEMS = "due_items"  # the value's other part: the course's `CourseDueItem` rows


class _CourseRef(NamedTuple):
    id: int


# --- The rule over many courses --------------------------------------------------------------


def compute_schedule(
    connection, course_rows: Iterable, protocols: dict
) -> dict[int, tuple[datetime | None, list[DueItem]]]:
    """Per course, from what is on record now: `attention_from` and the items still
    outstanding and not superseded (what `CourseDueItem` keeps), earliest deadline first.

    `course_rows`: (id, protocol_id, protocol_version); `protocols`: keyed `id@version`;
    `connection`: a session or connection to read through.
    """
    rows = list(course_rows)
    found: dict[int, tuple[datetime | None, list[DueItem]]] = {}
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        done = schedule_done([_CourseRef(row[0]) for row in batch], connection)
        numbers: dict[str, object] = {}
        for course_id, protocol_id, version in batch:
            key = f"{protocol_id}@{version}"
            if key not in numbers:
                numbers[key] = schedule_numbers(protocols[key])
            items = [i for i in outstanding(numbers[key], done[course_id]) if not i.superseded]
            # `domain.schedule.attention_from` over the same items, not worked out twice.
            found[course_id] = (min((i.due_from for i in items), default=None), items)
    return found


def _stored_items(connection, course_ids: list[int]) -> dict[int, set[tuple]]:
    """The items stored for these courses, per course, as `item_row` tuples."""
    table = CourseDueItem.__table__
    found: dict[int, set[tuple]] = {cid: set() for cid in course_ids}
    columns = [table.c[name] for name in ITEM_COLUMNS]
    for row in connection.execute(
        sa.select(table.c.course_id, *columns).where(table.c.course_id.in_(course_ids))
    ):
        found[row[0]].add(tuple(row[1:]))
    return found


def refresh(connection, course_ids: Iterable[int], protocols: dict) -> dict[int, datetime | None]:
    """Work the stored value out again for these courses: `attention_from` and their due items.
    Returns, for each course where either changed, its `attention_from`.

    The course rows are locked first (PostgreSQL), so two transactions writing records of
    one course store the value of both, not of whichever committed last.
    """
    courses = Course.__table__
    items_table = CourseDueItem.__table__
    ids = sorted(set(course_ids))
    changed: dict[int, datetime | None] = {}
    moved: dict[int, datetime | None] = {}
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
        fresh = compute_schedule(connection, [row[:3] for row in rows], protocols)
        kept = _stored_items(connection, list(fresh))
        items_differ = [cid for cid, (_, items) in fresh.items() if kept[cid] != _rows(items)]
        moved_here = {cid: at for cid, (at, _) in fresh.items() if at != stored[cid]}
        moved.update(moved_here)
        changed.update((cid, fresh[cid][0]) for cid in [*items_differ, *moved_here])
        if items_differ:
            # Derived rows, replaced whole for a course whose schedule changed (no clinical
            # record is deleted: these are the rule's answer, as the outcome scores are).
            connection.execute(
                items_table.delete().where(items_table.c.course_id.in_(items_differ))
            )
            new_rows = [
                {"course_id": cid, "item": item.key, **{c: getattr(item, c) for c in ITEM_COLUMNS}}
                for cid in items_differ
                for item in fresh[cid][1]
            ]
            if new_rows:
                connection.execute(items_table.insert(), new_rows)
    if moved:
        # Core, not the ORM: a derived column is no clinical change (no audit event, no
        # version bump), and no flush can start again from here.
        connection.execute(
            sa.update(courses)
            .where(courses.c.id == sa.bindparam("course_id"))
            .values(attention_from=sa.bindparam("at")),
            [{"course_id": cid, "at": at} for cid, at in moved.items()],
        )
    return changed


def _rows(items: list[DueItem]) -> set[tuple]:
    return {item_row(item) for item in items}


def refresh_all(connection, protocols: dict) -> int:
    """Every course, in batches: for rows written around the ORM."""
    return refresh_every_course(connection, lambda conn, ids: refresh(conn, ids, protocols))


def stale(connection, course_ids: Iterable[int]) -> list[Disagreement]:
    """Courses whose stored value (`attention_from`, or their due items) differs from the rule
    over what is on record now. Courses on a protocol this app did not load are skipped."""
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
    fresh = compute_schedule(connection, [row[:3] for row in rows], protocols)
    kept: dict[int, set[tuple]] = {}
    for ids in batches([row[0] for row in rows], BATCH):
        kept.update(_stored_items(connection, ids))
    found = []
    for row in rows:
        at, items = fresh[row[0]]
        if row[3] != at:
            found.append(Disagreement(row[0], NAME, row[3], at))
        if kept[row[0]] != _rows(items):
            found.append(Disagreement(row[0], ITEMS, sorted(kept[row[0]]), sorted(_rows(items))))
    return found


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
