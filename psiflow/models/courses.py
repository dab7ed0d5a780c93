"""Treatment courses and their phase history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow import access
from psiflow.domain.phases import (
    GATE_FACTS,
    GATED_FROM,
    GATED_TRANSITIONS,
    CourseFacts,
    Phase,
    PhaseError,
    check_protocol_allows,
    check_transition,
    forward_gates,
    gate_numbers,
    unmet_requirements,
)
from psiflow.extensions import db
from psiflow.models.patients import CASELOAD_USER, Patient, kinds_seen, one_of, team_members
from psiflow.models.types import UTCDateTime, enum_column, utcnow
from psiflow.models.users import User


class GateClosed(PhaseError):
    def __init__(self, unmet: list[str]):
        super().__init__("The gate is closed: " + "; ".join(unmet))
        self.unmet = unmet


class PinnedProtocol:
    """The protocol version a course pinned when it started, from its `protocol_id` and
    `protocol_version` (a course row, or a row of columns read from one)."""

    __slots__ = ()

    @property
    def protocol_key(self) -> str:
        return f"{self.protocol_id}@{self.protocol_version}"

    @property
    def protocol(self):
        from psiflow import catalog

        return catalog.protocol(self.protocol_key)


# What a caseload's courses are ranked and filtered by, after the clinician in each index.
CASELOAD_INDEXED = (
    "is_practice",
    "phase",
    "phase_entered_at",
    "attention_from",
    "protocol_id",
    "patient_id",
    "id",
)


class Course(PinnedProtocol, db.Model):
    __tablename__ = "courses"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patients.id"), index=True)
    # A course pins the protocol version it started on, whatever is released later.
    protocol_id: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    protocol_version: so.Mapped[str] = so.mapped_column(sa.String(16))
    phase: so.Mapped[Phase] = so.mapped_column(enum_column(Phase), index=True)
    # Derived from the latest transition, kept here so boards can sort and count cheaply.
    phase_entered_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    started_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    # When the (next) dosing session is planned: protocols time preparation against it.
    planned_dosing_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # From when the course has something due after dosing (`domain.schedule.attention_from`
    # of its record), kept by `psiflow.models.stored.attention` on every write that changes
    # it, so the dashboard works out the schedule of only the courses that need attention now.
    attention_from: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # What the gates out of its phase read (`GATE_FACTS`), as on record now: kept by
    # `psiflow.models.stored.gates` on every write that changes it, so pages that show a
    # hundred courses' gates read no records (NULL: worked out from the records when read).
    # Phase changes ask the records themselves.
    stored_facts: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    # The patient's care team and kind, copied here by `psiflow.models.stored.care_team` on
    # every write that changes them, so a caseload's courses are found from one range of an
    # index per clinician (`caseload_courses`), not searched patient by patient. The
    # patient's columns stay the truth: access asks them. NULL: not copied yet (a row written
    # around the app); `stored-values refresh` copies them. No foreign keys: the patient's
    # columns hold them, and adding one would have made SQLite copy this table to migrate.
    lead_clinician_id: so.Mapped[int | None]
    co_facilitator_id: so.Mapped[int | None]
    is_practice: so.Mapped[bool | None]
    version: so.Mapped[int] = so.mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
    # The dashboard ranks a caseload's courses in phase and keeps those whose attention has
    # come, from the index alone.
    __table_args__ = (
        sa.Index(
            "ix_courses_schedule_attention",
            "patient_id",
            "phase",
            "phase_entered_at",
            "attention_from",
        ),
        # A caseload's courses by care team (`caseload_courses`): each clinician's courses of
        # one kind are one range, in phase and then in phase order, holding every column the
        # boards and the due list rank by, so neither database reads a course row to rank.
        *(
            sa.Index(f"ix_courses_{role}_caseload", column, *CASELOAD_INDEXED)
            for role, column in (("lead", "lead_clinician_id"), ("co", "co_facilitator_id"))
        ),
    )

    patient: so.Mapped[Patient] = so.relationship(back_populates="courses")
    transitions: so.Mapped[list[PhaseTransition]] = so.relationship(
        back_populates="course", order_by="PhaseTransition.id"
    )

    def __repr__(self) -> str:
        return f"<Course {self.id} {self.phase}>"

    @property
    def is_closed(self) -> bool:
        return self.phase in (Phase.COMPLETED, Phase.WITHDRAWN)

    def held_from(self) -> Phase | None:
        """The phase an on-hold course left, which is where it resumes."""
        if self.phase != Phase.ON_HOLD:
            return None
        for t in reversed(self.transitions):
            if t.to_phase == Phase.ON_HOLD:
                return t.from_phase
        return None

    def facts(self) -> CourseFacts:
        """The gate-relevant snapshot of this course's records."""
        return gather_facts([self])[self.id]

    def gates(self, facts: CourseFacts | None = None) -> list[tuple[Phase, list[str]]]:
        """Each forward phase reachable now, with what its gate still needs."""
        if self.phase not in GATED_FROM:
            return []
        numbers = gate_numbers(self.protocol)
        if facts is None:
            facts = gate_facts([self])[self.id]
        return forward_gates(self.phase, numbers, facts)


def caseload_courses(role: access.Role, active: bool = True, practice=None, where=None):
    """The caseload's courses (any user of the role, `CASELOAD_USER` bound at execution), as a
    subquery of their id, patient, phase, moment in phase, `attention_from` and protocol:
    those whose patient the user leads or co-facilitates, and for a role that sees its
    supervisees' patients, those a supervisee does, of the kinds the role sees (`practice`,
    a SQL boolean or parameter, keeps to one kind).

    The same courses as the caseload rule asked of each course's patient (tested), found from
    the care team each course carries: one range of `ix_courses_lead_caseload` and of
    `ix_courses_co_caseload` per clinician, read from the index alone, where starting from the
    team's thousand patients searched the courses once for each (3-5 ms a statement on
    PostgreSQL). `where(courses)` adds conditions on each branch's course table (a phase, an
    attention date), so each range is cut in the index. An inactive user's, or a role's
    without a caseload, is empty."""
    branches = []
    for column in CARE_TEAM_MEMBERS:
        courses = Course.__table__.alias(f"caseload_by_{column}")
        conditions = care_team_conditions(courses, column, role, active, practice)
        if where is not None:
            conditions += where(courses)
        branches.append(
            sa.select(*(courses.c[name] for name in _CASELOAD_COLUMNS)).where(*conditions)
        )
    # UNION, not UNION ALL: a course its lead and co-facilitator both bring is listed once.
    return sa.union(*branches).subquery("caseload_courses")


# The columns of a copy of the care team (`models.stored.care_team`) that name a clinician.
CARE_TEAM_MEMBERS = ("lead_clinician_id", "co_facilitator_id")


def care_team_conditions(table, column: str, role: access.Role, active: bool, practice=None):
    """The conditions keeping rows of `table`, which carries a copy of the care team, to the
    caseload (any user of the role, `CASELOAD_USER` bound at execution) through one of its
    members (`column`), of the kinds the role sees (`practice` keeps to one kind). An inactive
    user's, or a role's without a caseload, keep nothing."""
    if not active or not access.has_caseload(role):
        member = sa.false()
    elif access.sees_supervisees_patients(role):
        member = one_of(table.c[column], team_members())
    else:
        member = table.c[column] == CASELOAD_USER
    conditions = [member, *kinds_seen(role, table.c.is_practice)]
    if practice is not None:
        conditions.append(table.c.is_practice == practice)
    return conditions


_CASELOAD_COLUMNS = (
    "id",
    "patient_id",
    "phase",
    "phase_entered_at",
    "attention_from",
    "protocol_id",
)


# Each record type contributes the facts it knows, for many courses at once (a fixed number of
# queries per source, whatever the number of courses: boards stay at a fixed number of queries).
# A source reads only a course's `id`, `phase`, `protocol` and `planned_dosing_at`, so the board
# can pass cards read as columns instead of whole courses. It names the facts it gives, so a
# board asks it only about the courses whose gates read them.
# A source's statements are built once, with the ids bound at each execution
# (`psiflow.models.statements.COURSE_IDS`).
FactSource = Callable[[list["Course"], object], dict[int, dict]]
_FACT_NAMES = frozenset(f.name for f in fields(CourseFacts))


@dataclass(frozen=True)
class _Source:
    fn: FactSource
    gives: frozenset[str]


_FACT_SOURCES: list[_Source] = []


def fact_source(*gives: str) -> Callable[[FactSource], FactSource]:
    """Register a function(courses, connection) returning {course_id: {fact: value}} for the
    `gives` facts; it reads through `connection`, or the app's session when that is None."""
    unknown = set(gives) - _FACT_NAMES
    if unknown:
        raise KeyError(f"unknown facts {sorted(unknown)}")

    def register(fn: FactSource) -> FactSource:
        _FACT_SOURCES.append(_Source(fn, frozenset(gives)))
        return fn

    return register


def gather_facts(
    courses: list[Course],
    wanted: Callable[[Course], frozenset[str]] = lambda _: _FACT_NAMES,
    connection=None,
) -> dict[int, CourseFacts]:
    """Every fact of each course, or the `wanted(course)` ones (the others keep the defaults
    of a course without records), read through `connection` (the app's session by default)."""
    gathered: dict[int, dict] = {c.id: {} for c in courses}
    for source in _FACT_SOURCES:
        asked = [c for c in courses if wanted(c) & source.gives]
        if not asked:
            continue
        for course_id, values in source.fn(asked, connection).items():
            if not values.keys() <= source.gives:
                unknown = sorted(values.keys() - source.gives)
                raise KeyError(f"{source.fn.__name__} reports facts it does not name: {unknown}")
            gathered[course_id].update(values)
    return {cid: CourseFacts(**values) for cid, values in gathered.items()}


def gate_facts(courses: list[Course]) -> dict[int, CourseFacts]:
    """What the gates out of each course's phase read, and nothing more (`GATE_FACTS`)."""
    return gather_facts(courses, lambda course: GATE_FACTS.get(course.phase, frozenset()))


class PhaseTransition(db.Model):
    """One step of a course's phase history: never edited, never deleted."""

    __tablename__ = "phase_transitions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    from_phase: so.Mapped[Phase | None] = so.mapped_column(enum_column(Phase))
    to_phase: so.Mapped[Phase] = so.mapped_column(enum_column(Phase))
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    override: so.Mapped[bool] = so.mapped_column(default=False)
    # What the gate still required when a supervisor overrode it: the override's context.
    unmet_at_override: so.Mapped[list | None] = so.mapped_column(sa.JSON)

    course: so.Mapped[Course] = so.relationship(back_populates="transitions")
    by: so.Mapped[User] = so.relationship()


def group_by_course(rows, course_ids) -> dict[int, list]:
    """Rows that carry a `course_id`, grouped per course (every course gets a list)."""
    grouped: dict[int, list] = {cid: [] for cid in course_ids}
    for row in rows:
        grouped[row.course_id].append(row)
    return grouped


def has_open_course(courses) -> bool:
    """A patient has one open course at a time: a new one starts once every other is closed."""
    return any(not c.is_closed for c in courses)


def start_course(patient: Patient, protocol, by: User, now: datetime | None = None) -> Course:
    now = now or utcnow()
    if has_open_course(patient.courses):
        raise PhaseError("The patient already has an open course; complete or withdraw it first.")
    course = Course(
        patient=patient,
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        phase=Phase.SCREENING,
        phase_entered_at=now,
        started_at=now,
        started_by_id=by.id,
    )
    db.session.add(course)
    db.session.add(
        PhaseTransition(
            course=course,
            from_phase=None,
            to_phase=Phase.SCREENING,
            at=now,
            by_id=by.id,
            reason="Course started",
        )
    )
    return course


def change_phase(
    course: Course,
    to: Phase,
    by: User,
    *,
    reason: str = "",
    override: bool = False,
    now: datetime | None = None,
) -> PhaseTransition:
    """Move the course to `to`, through its gate; a supervisor's override needs a reason.

    Raises PhaseError for a move the machine forbids and GateClosed when requirements are unmet.
    The caller has already checked that `by` may do this (access.py).
    """
    now = now or utcnow()
    reason = reason.strip()
    check_transition(course.phase, to, resume_to=course.held_from(), reason=reason)
    unmet: list[str] = []
    if (course.phase, to) in GATED_TRANSITIONS:
        numbers = gate_numbers(course.protocol)
        facts = gate_facts([course])[course.id]
        check_protocol_allows(course.phase, to, numbers, facts)
        unmet = unmet_requirements(course.phase, to, numbers, facts)
        if unmet and not override:
            raise GateClosed(unmet)
        if unmet and not reason:
            raise PhaseError("Overriding a closed gate needs a written reason.")
    transition = PhaseTransition(
        course=course,
        from_phase=course.phase,
        to_phase=to,
        at=now,
        by_id=by.id,
        reason=reason,
        override=bool(unmet),
        unmet_at_override=unmet or None,
    )
    db.session.add(transition)
    course.phase = to
    course.phase_entered_at = now
    return transition
