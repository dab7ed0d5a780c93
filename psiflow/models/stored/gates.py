"""`Course.stored_facts`: what the gates out of a course's phase read.

A board card and the patient page show each course's gates: what the next phase still needs.
Working that out reads the course's forms, sessions, measures and signatures through five fact
sources (`models.courses.gate_facts`), about ten statements for a board of a hundred cards.
The facts read no clock, so they only change when the record does: each course stores those
its phase's gates read (`domain.phases.GATE_FACTS`), and pages that list gates read them from
the course row (`stored_gate_facts`). A phase change itself still asks the records
(`change_phase`): what a page shows is the stored copy, what a gate decides is the record.

NULL means not worked out yet (a row written around the app, or a course migration 0011
found, that no refresh reached): pages then work the facts out from the records.
Missing-measure lists hold the instruments' short names as the catalog had them at the last
write.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from psiflow import catalog
from psiflow.domain.phases import GATE_FACTS, CourseFacts, Phase
from psiflow.models.alerts import Alert
from psiflow.models.courses import Course, PhaseTransition, PinnedProtocol, gather_facts
from psiflow.models.dosing import DosingSession
from psiflow.models.integration import IntegrationSession
from psiflow.models.measures import MeasureResponse
from psiflow.models.preparation import (
    Consent,
    PreparationSession,
    Screening,
    ScreeningFlag,
    SetIntake,
)
from psiflow.models.records import Signature
from psiflow.models.stored.watch import (
    Disagreement,
    StoredValue,
    batches,
    may_be_transition,
    refresh_every_course,
    values,
)

_SIGNED = ("course_id", "status", "needs_cosign", "voided_at")
# Per class the fact sources read, the columns they read. An insert or delete counts whole.
FEEDS: dict[type, tuple[str, ...]] = {
    Screening: (*_SIGNED, "created_at"),
    Consent: (*_SIGNED, "created_at"),
    SetIntake: (*_SIGNED, "created_at", "intention", "transport_plan"),
    ScreeningFlag: ("course_id", "screening_id", "cleared_at"),
    PreparationSession: (*_SIGNED, "occurred_at"),
    MeasureResponse: (*_SIGNED, "instrument_id", "timepoint"),
    DosingSession: (*_SIGNED, "occurred_at"),
    Signature: ("course_id", "record_type", "record_id", "meaning"),
    IntegrationSession: (*_SIGNED, "occurred_at"),
    PhaseTransition: ("course_id", "from_phase", "to_phase", "at"),
    Alert: ("course_id", "kind", "acknowledged_at"),
    Course: ("phase", "planned_dosing_at", "protocol_id", "protocol_version"),
}
BATCH = 500
NAME = "stored_facts"
# The facts that are times: stored as ISO text, read back as aware datetimes.
_DATES = frozenset(
    name for name, hint in typing.get_type_hints(CourseFacts).items() if hint == datetime | None
)


@dataclass(frozen=True, slots=True)
class _CourseRow(PinnedProtocol):
    """What a fact source reads of a course."""

    id: int
    phase: Phase
    protocol_id: str
    protocol_version: str
    planned_dosing_at: datetime | None


# --- Stored form -----------------------------------------------------------------------------


def encode(facts: CourseFacts, phase: Phase) -> dict:
    """The facts the gates out of `phase` read, as JSON values (dates in ISO form)."""
    stored = {}
    for name in sorted(GATE_FACTS.get(phase, ())):
        value = getattr(facts, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        stored[name] = value
    return stored


def decode(stored: dict) -> CourseFacts:
    facts = {}
    for name, value in stored.items():
        if name in _DATES and value is not None:
            value = datetime.fromisoformat(value)
        elif isinstance(value, list):
            value = tuple(value)
        facts[name] = value
    return CourseFacts(**facts)


def stored_gate_facts(courses: list) -> dict[int, CourseFacts]:
    """Each course's gate facts as stored on it (`stored_facts`), for pages that show gates.

    A course without a stored value (a row written around the app, or a course an upgrade
    left, that no refresh reached) is worked out from its records instead, so a page never
    shows a gate as met by mistake.
    """
    from psiflow.models.courses import gate_facts

    found = {c.id: decode(c.stored_facts) for c in courses if c.stored_facts is not None}
    missing = [c for c in courses if c.stored_facts is None]
    if missing:
        found.update(gate_facts(missing))
    return found


# --- The rule over many courses --------------------------------------------------------------


def compute(connection, course_rows: Iterable) -> dict[int, dict]:
    """The stored form of each course's gate facts, from what is on record now.

    `course_rows`: (id, phase, protocol_id, protocol_version, planned_dosing_at); the protocols
    come from the catalog; `connection`: a session or connection to read through.
    """
    courses = [_CourseRow(*row) for row in course_rows]
    found: dict[int, dict] = {}
    for start in range(0, len(courses), BATCH):
        batch = courses[start : start + BATCH]
        facts = gather_facts(
            batch, lambda course: GATE_FACTS.get(course.phase, frozenset()), connection
        )
        found.update((c.id, encode(facts[c.id], c.phase)) for c in batch)
    return found


_COURSE_COLUMNS = (
    Course.id,
    Course.phase,
    Course.protocol_id,
    Course.protocol_version,
    Course.planned_dosing_at,
    Course.stored_facts,
)


def refresh(connection, course_ids: Iterable[int]) -> dict[int, dict]:
    """Work the stored facts out again for these courses; returns the values that changed.

    The course rows are locked first (PostgreSQL), so two transactions writing records of
    one course store the facts of both, not of whichever committed last.
    """
    changed: dict[int, dict] = {}
    for ids in batches(course_ids, BATCH):
        rows = connection.execute(
            sa.select(*_COURSE_COLUMNS)
            .where(Course.id.in_(ids))
            .order_by(Course.id)
            .with_for_update()
        ).all()
        stored = {row[0]: row[5] for row in rows}
        fresh = compute(connection, [row[:5] for row in rows])
        changed.update((cid, value) for cid, value in fresh.items() if value != stored[cid])
    if changed:
        # Core, not the ORM: a derived column is no clinical change (no audit event, no
        # version bump), and no flush can start again from here.
        courses = Course.__table__
        connection.execute(
            sa.update(courses)
            .where(courses.c.id == sa.bindparam("course_id"))
            .values(stored_facts=sa.bindparam("facts")),
            [{"course_id": cid, "facts": facts} for cid, facts in changed.items()],
        )
    return changed


def refresh_all(connection) -> int:
    """Every course, in batches: for rows written around the ORM."""
    return refresh_every_course(connection, refresh)


def stale(connection, course_ids: Iterable[int]) -> list[Disagreement]:
    """Courses whose stored facts differ from their records (none stored counts). Courses on
    a protocol this app did not load are skipped."""
    protocols = catalog.protocols()
    rows = []
    for ids in batches(course_ids, BATCH):
        rows += [
            row
            for row in connection.execute(sa.select(*_COURSE_COLUMNS).where(Course.id.in_(ids)))
            if f"{row[2]}@{row[3]}" in protocols
        ]
    fresh = compute(connection, [row[:5] for row in rows])
    return [
        Disagreement(row[0], NAME, row[5], fresh[row[0]]) for row in rows if row[5] != fresh[row[0]]
    ]


# --- Noticing the writes ---------------------------------------------------------------------


def _can_matter(cls, state) -> bool:
    # Of signatures, only a dosing session's (its second facilitator's) is read; of phase
    # transitions, only dosing -> integration (integration sessions count from it). A value
    # not known here (expired) counts.
    if cls is Signature:
        kinds = values(state, "record_type")
        return not kinds or DosingSession.record_type in kinds
    if cls is PhaseTransition:
        return may_be_transition(state, Phase.DOSING, Phase.INTEGRATION)
    return True


VALUE = StoredValue(
    name=NAME,
    attribute="stored_facts",
    feeds=FEEDS,
    refresh=refresh,
    stale=stale,
    can_matter=_can_matter,
)
