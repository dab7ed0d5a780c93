"""The caseload board's and the patient page's queries: a fixed number per page, whatever the
caseload's size or the patient's history."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime

import sqlalchemy as sa

from psiflow import catalog
from psiflow.domain.phases import (
    ACTIVE_PHASES,
    GATED_FROM,
    CourseFacts,
    Phase,
    forward_gates,
    gate_numbers,
)
from psiflow.domain.protocols import Protocol
from psiflow.extensions import db
from psiflow.models import Course, Patient, PhaseTransition, User
from psiflow.models.courses import caseload_courses
from psiflow.models.patients import (
    caseload_key,
    caseload_params,
    caseload_patients,
    one_of,
)
from psiflow.models.rems import earliest_form_due
from psiflow.models.statements import read_columns
from psiflow.web.paging import RowPage

CLOSED_VIEW_PHASES = (Phase.ON_HOLD, Phase.COMPLETED, Phase.WITHDRAWN)


@dataclass(frozen=True, slots=True)
class CourseCard:
    """A course as its board card shows it, read as columns: a board shows a hundred cards and
    needs none of the ORM's change tracking. Answers what the fact sources ask of a course."""

    id: int
    phase: Phase
    phase_entered_at: datetime
    planned_dosing_at: datetime | None
    protocol: Protocol
    patient_id: int
    display_name: str
    lead_clinician_name: str
    stored_facts: dict | None
    # When its earliest REMS monitoring form not yet submitted is due (None: none owed).
    rems_form_due_at: datetime | None = None

    def gates(self, facts: CourseFacts) -> list[tuple[Phase, list[str]]]:
        """As `Course.gates`, from facts gathered for the whole board."""
        if self.phase not in GATED_FROM:
            return []
        return forward_gates(self.phase, gate_numbers(self.protocol), facts)


_CARD_COLUMNS = (
    Course.id,
    Course.phase,
    Course.phase_entered_at,
    Course.planned_dosing_at,
    Course.protocol_id,
    Course.protocol_version,
    Patient.id,
    Patient.display_name,
    User.name,
    Course.stored_facts,
    # In the card's own row (a correlated subquery on an index): no query per card.
    earliest_form_due(Course.id).label("rems_form_due_at"),
)


def _card(row, protocols) -> CourseCard:
    cid, phase, entered, planned, pid, version, patient_id, name, lead, facts, rems_due = row[
        : len(_CARD_COLUMNS)
    ]
    return CourseCard(
        cid,
        phase,
        entered,
        planned,
        protocols[f"{pid}@{version}"],
        patient_id,
        name,
        lead,
        facts,
        rems_due,
    )


# The board and its phase lists run on every visit: their statements are built once per shape
# of caseload (role, and whether one clinician is picked), the user and filters bound at each
# execution (`_params`); building and keying them cost more than SQLite running them.
def _caseload_courses(role, active: bool, by_clinician: bool, phase=None):
    """The caseload's courses (`caseload_courses`) in this phase (in the list `phases` bound
    at execution when none is named), of the kind asked, and of one clinician's patients when
    one is picked."""

    def where(courses):
        if phase is None:
            conditions = [courses.c.phase.in_(sa.bindparam("phases", expanding=True))]
        else:
            conditions = [courses.c.phase == phase]
        if by_clinician:
            clinician = sa.bindparam("clinician_id", type_=sa.Integer)
            conditions.append(
                sa.or_(
                    courses.c.lead_clinician_id == clinician,
                    courses.c.co_facilitator_id == clinician,
                )
            )
        return conditions

    return caseload_courses(role, active, sa.bindparam("practice"), where)


def _params(user, clinician_id: int | None, practice: bool, **more) -> dict:
    return {
        **caseload_params(user),
        "practice": practice,
        "clinician_id": clinician_id,
        **more,
    }


@functools.cache  # built once: building it and its cache key took 0.66 ms a visit
def _board_statement(role, active: bool, by_clinician: bool, per_phase: int, cards: int):
    # The numbers of cards are the board's settings, written into the statement's text:
    # sent as parameters, PostgreSQL judged its shared plan worse than one made for them and
    # planned the statement again on every visit (0.6-0.8 ms).
    # Ranked from the index alone; only the cards shown read their course, patient and lead.
    courses = _caseload_courses(role, active, by_clinician)
    ranked = sa.select(
        courses.c.id,
        sa.func.row_number()
        .over(partition_by=courses.c.phase, order_by=(courses.c.phase_entered_at, courses.c.id))
        .label("rank"),
        sa.func.count().over(partition_by=courses.c.phase).label("in_phase"),
    ).subquery()
    # The cards' number said as a limit too: estimating a third of the team's courses kept,
    # PostgreSQL hashed every course of the network to join the hundred shown.
    shown = (
        sa.select(ranked.c.id, ranked.c.in_phase)
        .where(ranked.c.rank <= sa.literal(per_phase, sa.Integer, literal_execute=True))
        .limit(sa.literal(cards, sa.Integer, literal_execute=True))
        .subquery()
    )
    return (
        sa.select(*_CARD_COLUMNS, shown.c.in_phase)
        .join(shown, shown.c.id == Course.id)
        .join(Patient, Patient.id == Course.patient_id)
        .join(User, User.id == Patient.lead_clinician_id)
        .order_by(Course.phase_entered_at, Course.id)
    )


def board_courses(user, phases, per_phase: int, clinician_id=None, practice=False):
    """Up to `per_phase` courses in each phase, longest in phase first, and how many courses
    each phase has (one query)."""
    statement = _board_statement(
        *caseload_key(user), clinician_id is not None, per_phase, per_phase * len(phases)
    )
    rows = read_columns(statement, _params(user, clinician_id, practice, phases=list(phases)))
    protocols = catalog.protocols()
    grouped: dict[Phase, list[CourseCard]] = {phase: [] for phase in phases}
    counts = dict.fromkeys(phases, 0)
    for row in rows:
        card = _card(row, protocols)
        grouped[card.phase].append(card)
        counts[card.phase] = row.in_phase
    return grouped, counts


@functools.cache  # built once: building it and its cache key took 0.46 ms a visit
def _phase_page_statement(role, active: bool, by_clinician: bool):
    courses = _caseload_courses(role, active, by_clinician, sa.bindparam("phase"))
    page = (
        sa.select(courses.c.id, sa.func.count().over().label("total"))
        .order_by(courses.c.phase_entered_at, courses.c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .offset(sa.bindparam("offset", type_=sa.Integer))
        .subquery()
    )
    return (
        sa.select(*_CARD_COLUMNS, page.c.total)
        .join(page, page.c.id == Course.id)
        .join(Patient, Patient.id == Course.patient_id)
        .join(User, User.id == Patient.lead_clinician_id)
        .order_by(Course.phase_entered_at, Course.id)
    )


def phase_page(user, phase: Phase, page: int, per_page: int, clinician_id=None, practice=False):
    """One page of a phase's courses, longest in phase first, with their number (one query;
    a page past the end counts them again)."""
    page = max(page, 1)
    key = (*caseload_key(user), clinician_id is not None)
    params = _params(user, clinician_id, practice, phase=phase)
    rows = read_columns(
        _phase_page_statement(*key), {**params, "limit": per_page, "offset": (page - 1) * per_page}
    ).all()
    if rows:
        total = rows[0].total
    else:
        courses = _caseload_courses(*key, sa.bindparam("phase"))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(courses), params)
    protocols = catalog.protocols()
    return RowPage(page, per_page, total, [_card(row, protocols) for row in rows])


@functools.cache  # built once: building it and its cache key took 0.19 ms a visit
def _unstarted_statement(role, active: bool):
    # The caseload's patients less those its courses belong to, both found from the clinician
    # indexes alone; then only those few are read. Asking of each team patient whether it has
    # a course searched the courses a thousand times (4 ms of the supervisor's board on
    # PostgreSQL).
    practice = sa.bindparam("practice")
    courses = caseload_courses(role, active, practice)
    # Each side a plain select (SQLite takes no compound inside another).
    patients = caseload_patients(role, active, practice).subquery("caseload_patients")
    without_course = sa.except_(sa.select(patients.c.id), sa.select(courses.c.patient_id))
    # Under an alias of its own: a caseload found by the rule reads `patients`, which must
    # not be correlated to the patients listed.
    shown = Patient.__table__.alias("unstarted")
    return (
        sa.select(shown.c.id, shown.c.display_name)
        .where(one_of(shown.c.id, without_course.scalar_subquery()))
        .order_by(shown.c.created_at.desc())
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


def patients_without_course(user, limit: int, practice=False):
    """The newest patients of the caseload who have no course yet (id, display_name)."""
    return read_columns(
        _unstarted_statement(*caseload_key(user)),
        {**caseload_params(user), "practice": practice, "limit": limit},
    ).all()


@dataclass(frozen=True, slots=True)
class TransitionLine:
    """One step of a course's phase history as the patient page shows it."""

    course_id: int
    at: datetime
    from_phase: Phase | None
    to_phase: Phase
    override: bool
    reason: str
    unmet_at_override: list | None
    by_name: str


@dataclass(frozen=True, slots=True)
class CourseHistory:
    """A course's phase history, oldest first, read as lines."""

    phase: Phase
    transitions: list[TransitionLine]

    # Where a held course resumes: the course's own rule, read from the lines.
    held_from = Course.held_from


def patient_courses(patient_id: int) -> list[Course]:
    """The patient's courses, oldest first (one query)."""
    return db.session.scalars(_courses_query(), {"patient_id": patient_id}).all()


def phase_histories(patient_id: int, courses: list[Course]) -> dict[int, CourseHistory]:
    """Each of these courses' phase history with who made each change, in one query however
    many changes the patient's courses have had.

    The histories are lines, not mapped objects: loading forty transitions and their authors
    through the ORM took three quarters of the time of the page's loading of its courses.
    """
    lines: dict[int, list[TransitionLine]] = {c.id: [] for c in courses}
    for row in read_columns(_transitions_query(), {"patient_id": patient_id}):
        line = TransitionLine(*row)
        lines[line.course_id].append(line)
    return {c.id: CourseHistory(c.phase, lines[c.id]) for c in courses}


@functools.cache  # built once: building it and its cache key took 0.041 ms a visit
def _courses_query():
    return (
        sa.select(Course)
        .where(Course.patient_id == sa.bindparam("patient_id"))
        .order_by(Course.started_at)
    )


@functools.cache  # built once: building it and its cache key took 0.099 ms a visit
def _transitions_query():
    transitions, courses, users = PhaseTransition.__table__, Course.__table__, User.__table__
    return (
        sa.select(*[transitions.c[f.name] for f in fields(TransitionLine)[:-1]], users.c.name)
        .join(courses, courses.c.id == transitions.c.course_id)
        .join(users, users.c.id == transitions.c.by_id)
        .where(courses.c.patient_id == sa.bindparam("patient_id"))
        .order_by(transitions.c.id)
    )


@functools.cache  # built once, as the board's other statements
def _team_members_statement():
    supervisor_id = sa.bindparam("supervisor_id", type_=sa.Integer, required=True)
    return (
        sa.select(User.id, User.name, User.role)
        .where(sa.or_(User.id == supervisor_id, User.supervisor_id == supervisor_id))
        .order_by(User.name)
    )


def team_members(supervisor) -> list[sa.Row]:
    """The supervisor and everyone they supervise (id, name, role), for the board's clinician
    filter: columns, not users with their accounts' state, which a filter never shows."""
    return read_columns(_team_members_statement(), {"supervisor_id": supervisor.id}).all()


__all__ = ["ACTIVE_PHASES", "CLOSED_VIEW_PHASES"]
