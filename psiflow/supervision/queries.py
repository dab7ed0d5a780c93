"""The supervisor's lists: the review queue, the team's alerts and the outcome table.

Each page issues a fixed number of queries whatever the size of the team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow import catalog
from psiflow.domain.outcomes import (
    OUTCOME_INSTRUMENTS,
    Outcome,
    course_outcomes,
    mean_improvement_by_group,
)
from psiflow.domain.phases import Phase
from psiflow.domain.review import REVIEW_OVERDUE_DAYS
from psiflow.domain.schedule import DueKind, DueStatus, outstanding, schedule_numbers
from psiflow.extensions import db
from psiflow.models import Alert, Course, MeasureResponse, Patient, User
from psiflow.models.integration import instrument_names, schedule_done
from psiflow.models.patients import caseload_filter
from psiflow.models.reviews import awaiting_review_query, load_records, oldest_waiting_by_course

OUTCOME_PHASES = (Phase.INTEGRATION, Phase.FOLLOW_UP, Phase.COMPLETED)
DEFAULT_OUTCOME_PHASES = (Phase.INTEGRATION, Phase.FOLLOW_UP)


@dataclass
class RowPage:
    """A page of rows of a multi-column query (db.paginate returns scalars only)."""

    page: int
    per_page: int
    total: int
    rows: list

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def review_queue(supervisor, page: int, per_page: int) -> RowPage:
    """A page of the queue, oldest first, with each row's record loaded (bounded queries)."""
    query = awaiting_review_query(supervisor)
    page = max(page, 1)
    # The total rides along with the page's rows (a window count), so the eight-table union
    # runs once per request, not twice; only a page past the end needs a count of its own.
    rows = db.session.execute(
        query.add_columns(sa.func.count().over().label("total"))
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    if rows:
        total = rows[0].total
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    records = load_records(rows)
    return RowPage(
        page,
        per_page,
        total,
        [(records[(t, i)], signed_at) for t, i, signed_at, _ in rows if (t, i) in records],
    )


def team_alerts(supervisor, page: int, per_page: int):
    """The team's alerts: unacknowledged first, newest first within each."""
    return db.paginate(
        sa.select(Alert)
        .join(Alert.course)
        .join(Course.patient)
        .where(caseload_filter(supervisor))
        .options(
            so.contains_eager(Alert.course).contains_eager(Course.patient),
            so.joinedload(Alert.acknowledged_by),
        )
        .order_by(Alert.acknowledged_at.is_not(None), Alert.raised_at.desc(), Alert.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
    )


def unacknowledged_count(supervisor) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Alert.id))
        .join(Alert.course)
        .join(Course.patient)
        .where(caseload_filter(supervisor), Alert.acknowledged_at.is_(None))
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


def _outcome_scope(supervisor, filters: OutcomeFilters):
    # Practice patients never enter outcome figures or their export.
    conditions = [
        caseload_filter(supervisor),
        Patient.is_practice.is_(False),
        Course.phase.in_(filters.phases),
    ]
    if filters.clinician_id is not None:
        conditions.append(
            sa.or_(
                Patient.lead_clinician_id == filters.clinician_id,
                Patient.co_facilitator_id == filters.clinician_id,
            )
        )
    if filters.protocol_id:
        conditions.append(Course.protocol_id == filters.protocol_id)
    return sa.and_(*conditions)


def _courses_query(supervisor, filters):
    return (
        sa.select(Course)
        .join(Course.patient)
        .where(_outcome_scope(supervisor, filters))
        .options(so.contains_eager(Course.patient).joinedload(Patient.lead_clinician))
        .order_by(Course.phase_entered_at, Course.id)
    )


@dataclass
class OutcomeRow:
    course: Course
    outcomes: dict[str, Outcome]
    overdue_follow_ups: list[str]
    review_waiting_since: datetime | None
    review_overdue: bool


def _counting_outcome_measures(course_scope, *columns):
    """Counting outcome measures of the courses in scope: whole records, or only `columns`
    (rows with the same attribute names, far cheaper for many courses)."""
    query = (sa.select(*columns) if columns else sa.select(MeasureResponse)).where(
        MeasureResponse.course_id.in_(course_scope),
        MeasureResponse.instrument_id.in_(OUTCOME_INSTRUMENTS),
        MeasureResponse.counting(),
    )
    if columns:
        return db.session.execute(query).all()
    return db.session.scalars(query).all()


# What `course_outcomes` reads of a measure.
_OUTCOME_COLUMNS = (
    MeasureResponse.course_id,
    MeasureResponse.instrument_id,
    MeasureResponse.timepoint,
    MeasureResponse.occurred_at,
    MeasureResponse.total,
)


def outcome_rows(supervisor, courses: list[Course], now: datetime) -> list[OutcomeRow]:
    ids = [c.id for c in courses]
    measures: dict[int, list] = {cid: [] for cid in ids}
    for m in _counting_outcome_measures(ids) if ids else []:
        measures[m.course_id].append(m)
    done = schedule_done(courses) if courses else {}
    waiting = oldest_waiting_by_course(supervisor, ids)
    instruments = catalog.instruments()
    names = instrument_names()
    rows = []
    for course in courses:
        items = outstanding(schedule_numbers(course.protocol), done[course.id], names)
        overdue = [
            i.label
            for i in items
            if i.kind == DueKind.FOLLOW_UP_MEASURE and i.status(now) == DueStatus.OVERDUE
        ]
        since = waiting.get(course.id)
        rows.append(
            OutcomeRow(
                course=course,
                outcomes=course_outcomes(instruments, measures[course.id]),
                overdue_follow_ups=overdue,
                review_waiting_since=since,
                review_overdue=since is not None
                and now - since > timedelta(days=REVIEW_OVERDUE_DAYS),
            )
        )
    return rows


def outcome_page(supervisor, filters: OutcomeFilters, page: int, per_page: int, now):
    result = db.paginate(
        _courses_query(supervisor, filters), page=page, per_page=per_page, error_out=False
    )
    result.rows = outcome_rows(supervisor, list(result.items), now)
    return result


def all_outcome_rows(supervisor, filters: OutcomeFilters, now) -> list[OutcomeRow]:
    courses = db.session.scalars(_courses_query(supervisor, filters)).unique().all()
    return outcome_rows(supervisor, courses, now)


def improvement_by_protocol(supervisor, filters: OutcomeFilters):
    """Mean improvement per protocol and instrument over every course the filters select."""
    scope = sa.select(Course.id).join(Course.patient).where(_outcome_scope(supervisor, filters))
    protocol_of = dict(
        db.session.execute(
            sa.select(Course.id, Course.protocol_id)
            .join(Course.patient)
            .where(_outcome_scope(supervisor, filters))
        ).all()
    )
    by_course: dict[int, list] = {}
    # Every course of the team: columns, not records (a team of 2,000 patients has ~10,000).
    for m in _counting_outcome_measures(scope, *_OUTCOME_COLUMNS):
        by_course.setdefault(m.course_id, []).append(m)
    names = {p.id: p.name for p in catalog.protocols().values()}
    instruments = catalog.instruments()
    results = [
        (names.get(protocol_of[cid], protocol_of[cid]), o)
        for cid, given in by_course.items()
        for o in course_outcomes(instruments, given).values()
    ]
    return mean_improvement_by_group(instruments, results)


def team_clinicians(supervisor) -> list[User]:
    return db.session.scalars(
        sa.select(User)
        .where(
            sa.or_(User.id == supervisor.id, User.supervisor_id == supervisor.id),
            User.role != "trainee",
        )
        .order_by(User.name)
    ).all()
