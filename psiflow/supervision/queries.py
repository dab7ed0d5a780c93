"""The supervisor's lists: the review queue, the team's alerts and the outcome table.

Each page issues a fixed number of queries whatever the size of the team.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow import catalog
from psiflow.domain.outcomes import (
    OUTCOME_INSTRUMENTS,
    Outcome,
    OutcomeJudge,
    mean_change_by_group,
    overdue_follow_ups,
)
from psiflow.domain.phases import Phase
from psiflow.domain.review import REVIEW_OVERDUE_DAYS
from psiflow.domain.schedule import DueKind
from psiflow.extensions import db
from psiflow.models import (
    Alert,
    Course,
    CourseDueItem,
    CourseOutcomeScore,
    Patient,
    User,
)
from psiflow.models.alerts import SEVERITY_RANK as _SEVERITY_RANK
from psiflow.models.alerts import of_team
from psiflow.models.courses import PinnedProtocol, caseload_courses
from psiflow.models.due_items import ITEM_COLUMNS, item_from_row
from psiflow.models.integration import instrument_names
from psiflow.models.patients import caseload_key, caseload_params
from psiflow.models.reviews import awaiting_review_page, oldest_waiting_by_course
from psiflow.web.paging import RowPage

OUTCOME_PHASES = (Phase.INTEGRATION, Phase.FOLLOW_UP, Phase.COMPLETED)
DEFAULT_OUTCOME_PHASES = (Phase.INTEGRATION, Phase.FOLLOW_UP)


def review_queue(supervisor, page: int, per_page: int) -> RowPage:
    """A page of the queue, oldest first, as the columns its rows show (one query)."""
    page = max(page, 1)
    rows, total = awaiting_review_page(supervisor, per_page, (page - 1) * per_page)
    return RowPage(page, per_page, total, rows)


def team_alerts(supervisor, page: int, per_page: int, practice: bool = False):
    """The team's alerts: open ones first, most severe first, then newest first (real
    patients', or with `practice` the trainees' practice patients')."""
    return db.paginate(
        of_team(sa.select(Alert), supervisor, practice)
        .options(
            so.contains_eager(Alert.course).contains_eager(Course.patient),
            so.joinedload(Alert.acknowledged_by),
        )
        .order_by(
            Alert.acknowledged_at.is_not(None),
            _SEVERITY_RANK,
            Alert.raised_at.desc(),
            Alert.id.desc(),
        ),
        page=page,
        per_page=per_page,
        error_out=False,
    )


@dataclass(frozen=True)
class OutcomeFilters:
    clinician_id: int | None = None
    protocol_id: str | None = None
    phase: Phase | None = None

    @property
    def phases(self) -> tuple[Phase, ...]:
        return (self.phase,) if self.phase else DEFAULT_OUTCOME_PHASES

    def args(self) -> dict:
        return {
            "clinician": self.clinician_id,
            "protocol": self.protocol_id,
            "phase": self.phase.value if self.phase else None,
        }


def _course_scope(
    role, active: bool, phases: tuple[Phase, ...], by_clinician: bool, by_protocol: bool
):
    """The selected courses' ids, protocols and table order (never their rows: a page loads
    only its own), for any supervisor of this role: `_scope_params` fills in who and what."""
    # The team's courses (the caseload's user is the supervisor whose team this is), from the
    # care-team indexes alone, not every course in these phases searched or each team patient's
    # courses. Practice patients never enter outcome figures or their export.

    def where(courses):
        conditions = [courses.c.phase.in_(phases)]
        if by_clinician:
            clinician_id = sa.bindparam("clinician_id", type_=sa.Integer, required=True)
            conditions.append(
                sa.or_(
                    courses.c.lead_clinician_id == clinician_id,
                    courses.c.co_facilitator_id == clinician_id,
                )
            )
        if by_protocol:
            protocol_id = sa.bindparam("protocol_id", required=True)
            conditions.append(courses.c.protocol_id == protocol_id)
        return conditions

    courses = caseload_courses(role, active, practice=sa.false(), where=where)
    return sa.select(
        courses.c.id.label("id"),
        courses.c.protocol_id.label("protocol_id"),
        courses.c.phase_entered_at.label("phase_entered_at"),
    ).cte("scope")


def _scope_params(supervisor, filters: OutcomeFilters) -> dict:
    params = caseload_params(supervisor)
    if filters.clinician_id is not None:
        params["clinician_id"] = filters.clinician_id
    if filters.protocol_id:
        params["protocol_id"] = filters.protocol_id
    return params


def _scope_key(supervisor, filters: OutcomeFilters) -> tuple:
    return (
        *caseload_key(supervisor),
        filters.phases,
        filters.clinician_id is not None,
        bool(filters.protocol_id),
    )


@dataclass(frozen=True, slots=True)
class TableCourse(PinnedProtocol):
    """A course as a row of the outcome table and its CSV show it: read as columns, since
    loading each page's courses, patients and clinicians as objects cost more than the rest
    of the page's rows."""

    id: int
    patient_id: int
    protocol_id: str
    protocol_version: str
    phase: Phase
    patient_name: str
    record_number: str
    lead_clinician_name: str
    # Its stored scores (`CourseOutcomeScore`), per outcome instrument it has both of:
    # (instrument id, baseline, latest, latest timepoint, latest at).
    scores: tuple[tuple, ...] = ()


def _load_courses(ids: list[int]) -> list[TableCourse]:
    """The courses named by `ids`, in that order, with their stored scores (one statement)."""
    if not ids:
        return []
    columns: dict[int, tuple] = {}
    scores: dict[int, list[tuple]] = {}
    # Columns only, so the session's ORM layer has nothing to add: run on its connection.
    for row in db.session.connection().execute(_courses_statement(), {"course_ids": ids}):
        course_id = row[0]
        if course_id not in columns:
            columns[course_id] = row[:8]
            scores[course_id] = []
        if row[8] is not None:
            scores[course_id].append(row[8:])
    return [TableCourse(*columns[i], tuple(scores[i])) for i in ids]


@functools.cache  # built once: building it and its cache key took 0.89 ms a visit
def _courses_statement():
    lead = so.aliased(User)
    stored = CourseOutcomeScore.__table__
    return (
        sa.select(
            Course.id,
            Course.patient_id,
            Course.protocol_id,
            Course.protocol_version,
            Course.phase,
            Patient.display_name,
            Patient.record_number,
            lead.name,
            stored.c.instrument_id,
            stored.c.baseline,
            stored.c.latest,
            stored.c.latest_timepoint,
            stored.c.latest_at,
        )
        .join(Course.patient)
        .join(lead, lead.id == Patient.lead_clinician_id)
        .outerjoin(stored, stored.c.course_id == Course.id)
        .where(Course.id.in_(sa.bindparam("course_ids", expanding=True, required=True)))
    )


@dataclass(frozen=True, slots=True)
class OutcomeCell:
    """An outcome as the table's cell shows it, its texts worked out in Python once per
    distinct outcome: a page's 250 cells hold a few dozen, and calling for each cell's texts
    from the template cost more than the rest of its row."""

    scores_text: str
    change_percent: float | None
    status_label: str
    status_kind: str  # the badge's shade (Outcome.status_kind)


@dataclass
class OutcomeRow:
    course: TableCourse
    protocol_name: str
    outcomes: dict[str, Outcome]
    # `columns` as the table's cells show them.
    cells: list[OutcomeCell | None]
    overdue_follow_ups: list[str]
    review_waiting_since: datetime | None
    review_overdue: bool

    @property
    def columns(self) -> list[Outcome | None]:
        """The outcome of each instrument of the table (`OUTCOME_INSTRUMENTS`), in its order."""
        return [self.outcomes.get(instrument_id) for instrument_id in OUTCOME_INSTRUMENTS]


def outcome_scores(supervisor, filters: OutcomeFilters):
    """Every course the filters select, in the table's order (phase entered, id), with its
    protocol and, per outcome instrument, the two totals `course_outcomes` compares (baseline
    and latest), as each course stores them (`CourseOutcomeScore`).
    A course with none comes once, with no instrument. The scope is read once for the table,
    its total and the chart; a page reads the rest of its own courses' scores with them.
    """
    # Columns only, so the session's ORM layer has nothing to add: run on its connection.
    connection = db.session.connection()
    return connection.execute(
        _scores_statement(*_scope_key(supervisor, filters)), _scope_params(supervisor, filters)
    ).all()


@functools.cache  # built once: building it and its cache key took 1.7 ms a visit
def _scores_statement(
    role, active: bool, phases: tuple[Phase, ...], by_clinician: bool, by_protocol: bool
):
    """`outcome_scores` for any supervisor of this role and filters of this shape: built once,
    since building and keying the statement took a third of its time."""
    scope = _course_scope(role, active, phases, by_clinician, by_protocol)
    # Stored, not picked from the team's measures on every visit: picking them took more
    # than the rest of the page.
    scores = CourseOutcomeScore.__table__
    return (
        sa.select(
            scope.c.id.label("course_id"),
            scope.c.protocol_id,
            scores.c.instrument_id,
            scores.c.baseline,
            scores.c.latest,
        )
        .outerjoin(scores, scores.c.course_id == scope.c.id)
        .order_by(scope.c.phase_entered_at, scope.c.id, scores.c.instrument_id)
    )


@dataclass
class ScopeOutcomes:
    """The courses the filters select, in the table's order, and their stored scores: judged
    into outcomes only where a page shows them (`TableCourse.scores`), and into the change
    from baseline alone for the chart's means."""

    course_ids: list[int]
    # (course id, protocol id, instrument id, baseline, latest) of every stored pair.
    scores: list[tuple]
    judge: OutcomeJudge

    def outcomes(self, course: TableCourse) -> dict[str, Outcome]:
        outcomes = {}
        for instrument_id, baseline, latest, timepoint, at in course.scores:
            result = self.judge.outcome(instrument_id, baseline, latest, timepoint, at)
            if result is not None:
                outcomes[instrument_id] = result
        return outcomes


def scope_outcomes(supervisor, filters: OutcomeFilters) -> ScopeOutcomes:
    """The stored scores of every course the filters select, once per request: the chart,
    the table's total and its page all read them."""
    rows = outcome_scores(supervisor, filters)
    return ScopeOutcomes(
        # A course comes once per stored pair, in the table's order.
        course_ids=list(dict.fromkeys([row[0] for row in rows])),
        scores=[row for row in rows if row[2] is not None],
        judge=OutcomeJudge(catalog.instruments()),
    )


def _overdue_follow_ups(courses: list[TableCourse], now: datetime) -> dict[int, list[str]]:
    """Each course's overdue follow-up measures, from its stored due items (one statement)."""
    found: dict[int, list] = {c.id: [] for c in courses}
    names = instrument_names()
    # Columns only, so the session's ORM layer has nothing to add: read on its connection.
    for row in db.session.connection().execute(
        _overdue_follow_ups_statement(), {"course_ids": list(found), "now": now}
    ):
        found[row[0]].append(item_from_row(row[1:], names))
    return {course_id: overdue_follow_ups(items, now) for course_id, items in found.items()}


@functools.cache  # a plain statement, built once
def _overdue_follow_ups_statement():
    item = CourseDueItem
    return sa.select(item.course_id, *(getattr(item, c) for c in ITEM_COLUMNS)).where(
        item.course_id.in_(sa.bindparam("course_ids", expanding=True, required=True)),
        item.kind == DueKind.FOLLOW_UP_MEASURE,
        item.overdue_at <= sa.bindparam("now", required=True),
    )


def outcome_rows(
    supervisor, courses: list[TableCourse], now: datetime, outcomes: ScopeOutcomes
) -> list[OutcomeRow]:
    """Table rows for `courses`, with their outcomes from `scope_outcomes`."""
    if not courses:
        return []
    overdue = _overdue_follow_ups(courses, now)
    waiting = oldest_waiting_by_course(supervisor, [c.id for c in courses])
    # A page's courses follow a few protocols and share a few dozen outcomes.
    protocol_names: dict[str, str] = {}
    cells: dict[tuple, OutcomeCell] = {}

    def cell(outcome: Outcome | None) -> OutcomeCell | None:
        if outcome is None:
            return None
        shown = (outcome.baseline, outcome.latest, outcome.change_percent, outcome.status_label())
        found = cells.get(shown)
        if found is None:
            found = cells[shown] = OutcomeCell(
                outcome.scores_text(), outcome.change_percent, shown[3], outcome.status_kind()
            )
        return found

    rows = []
    for course in courses:
        name = protocol_names.get(course.protocol_key)
        if name is None:
            name = protocol_names[course.protocol_key] = course.protocol.name
        found = outcomes.outcomes(course)
        since = waiting.get(course.id)
        rows.append(
            OutcomeRow(
                course=course,
                protocol_name=name,
                outcomes=found,
                cells=[cell(found.get(iid)) for iid in OUTCOME_INSTRUMENTS],
                overdue_follow_ups=overdue[course.id],
                review_waiting_since=since,
                review_overdue=since is not None
                and now - since > timedelta(days=REVIEW_OVERDUE_DAYS),
            )
        )
    return rows


def outcome_page(supervisor, page: int, per_page: int, now, outcomes: ScopeOutcomes) -> RowPage:
    """A page of the table: the scope is already known, so only the page's courses load."""
    page = max(page, 1)
    ids = outcomes.course_ids
    courses = _load_courses(ids[(page - 1) * per_page : page * per_page])
    return RowPage(page, per_page, len(ids), outcome_rows(supervisor, courses, now, outcomes))


def all_outcome_rows(supervisor, filters: OutcomeFilters, now) -> list[OutcomeRow]:
    outcomes = scope_outcomes(supervisor, filters)
    return outcome_rows(supervisor, _load_courses(outcomes.course_ids), now, outcomes)


def improvement_by_protocol(outcomes: ScopeOutcomes):
    """Mean improvement per protocol and instrument over the courses of `scope_outcomes`."""
    names = {p.id: p.name for p in catalog.protocols().values()}
    change = outcomes.judge.change
    return mean_change_by_group(
        catalog.instruments(),
        [
            (names.get(protocol_id, protocol_id), instrument_id, percent)
            # In course-id (and instrument) order, as the means were always summed: float
            # addition is not associative, and a reordered sum can move a rounded figure.
            for _, protocol_id, instrument_id, baseline, latest in sorted(
                outcomes.scores, key=itemgetter(0, 2)
            )
            if (percent := change(instrument_id, baseline, latest)) is not None
        ],
    )


# The outcome table's clinician filter, on every visit: built once, the supervisor bound; the
# (id, name) rows the filter shows rather than whole users.
_TEAM_CLINICIANS = (
    sa.select(User.id, User.name)
    .where(
        sa.or_(
            User.id == sa.bindparam("supervisor_id", type_=sa.Integer, required=True),
            User.supervisor_id == sa.bindparam("supervisor_id"),
        ),
        User.role != "trainee",
    )
    .order_by(User.name)
)


def team_clinicians(supervisor) -> list:
    """The supervisor and the clinicians they supervise: rows of (id, name), by name."""
    # Columns only, so the session's ORM layer has nothing to add: run on its connection.
    connection = db.session.connection()
    return connection.execute(_TEAM_CLINICIANS, {"supervisor_id": supervisor.id}).all()
