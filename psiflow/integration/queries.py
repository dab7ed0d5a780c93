"""What the clinician's dashboard and the course export read (the patient page's integration
panel is `integration/panel.py`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, NamedTuple

import sqlalchemy as sa

from psiflow import access
from psiflow.domain.phases import Phase
from psiflow.domain.schedule import DueKind, DueStatus
from psiflow.models import CourseDueItem, Patient, SafetyCheckIn
from psiflow.models.courses import caseload_courses
from psiflow.models.due_items import ITEM_COLUMNS, item_from_row
from psiflow.models.integration import (
    CheckInContext,
    Sleep,
    instrument_names,
)
from psiflow.models.patients import caseload_key, caseload_params
from psiflow.models.reviews import awaiting_review_count, returned_to
from psiflow.models.statements import read_columns
from psiflow.models.types import utcnow
from psiflow.models.users import User

SCHEDULED_PHASES = (Phase.DOSING, Phase.INTEGRATION, Phase.FOLLOW_UP)
# A team's list runs to hundreds (223 items for a team of 1,000 patients in the benchmark, a
# 128 kB board at 5x the baseline): the supervisor's board shows the most urgent, overdue
# first, and says how many more wait; each patient's page lists its own. A clinician's own
# list is rarely long; past this many it is cut the same way.
TEAM_DUE_ON_BOARD = 25
OWN_DUE_ON_BOARD = 100


@dataclass(frozen=True, slots=True)
class CallLine:
    """A safety check-in call as the panel lists it: the answers that raise concerns and when
    it was, not the notes."""

    id: int
    course_id: int
    occurred_at: datetime
    voided_at: datetime | None
    context: CheckInContext
    dosing_number: int | None
    scheduled_day: int | None
    serious_events: bool
    sleep: Sleep
    substance_use: bool
    back_to_normal: bool
    suicidal_thoughts: bool

    record_type: ClassVar[str] = SafetyCheckIn.record_type
    # The record's own rules, read from the line's columns.
    signals = SafetyCheckIn.signals
    concerns = SafetyCheckIn.concerns
    when_label = SafetyCheckIn.when_label

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class DueCourse(NamedTuple):
    """A course on the dashboard: the columns its rows link to."""

    id: int
    patient_id: int
    display_name: str
    lead_clinician_name: str = ""


@functools.cache  # built once: building it and its cache key took 0.45 ms a visit
def _due_items_statement(role, active: bool):
    """The caseload's stored due items (`CourseDueItem`) whose window has opened, overdue
    first, then by deadline, with how many there are in all: the user's own, or for a
    supervisor the whole team's (a supervisee's day-1 call is the supervisor's concern too).
    Built once per kind of caseload; the user, the clock and the cap are bound at each
    execution."""
    now = sa.bindparam("now", required=True)
    # Practice patients never join a real caseload's list (the practice board has them). The
    # caseload's courses whose attention has come, from the care-team indexes alone: the items
    # of a course with nothing due yet are never read.
    courses = caseload_courses(
        role,
        active,
        practice=sa.false(),
        where=lambda c: [c.c.phase.in_(SCHEDULED_PHASES), c.c.attention_from <= now],
    )
    overdue_first = sa.case((CourseDueItem.overdue_at <= now, 0), else_=1)
    urgent = (
        sa.select(
            courses.c.id,
            courses.c.patient_id,
            *(getattr(CourseDueItem, column) for column in ITEM_COLUMNS),
            sa.func.count().over().label("total"),
            overdue_first.label("overdue_first"),
            courses.c.phase_entered_at,
            CourseDueItem.item,
        )
        .select_from(courses)
        .join(CourseDueItem, CourseDueItem.course_id == courses.c.id)
        .where(CourseDueItem.due_from <= now)
        .order_by(
            overdue_first,
            CourseDueItem.overdue_at,
            courses.c.phase_entered_at,
            courses.c.id,
            CourseDueItem.item,
        )
        .limit(sa.bindparam("limit", type_=sa.Integer, required=True))
        .subquery()
    )
    # The names of only the rows shown: joined before the cut, the lead clinician was looked
    # up for every patient of the team (1.3 ms of a supervisor's board at 1,350 patients).
    return (
        sa.select(
            urgent.c.id,
            urgent.c.patient_id,
            Patient.display_name,
            User.name,
            *(urgent.c[column] for column in ITEM_COLUMNS),
            urgent.c.total,
        )
        .join(Patient, Patient.id == urgent.c.patient_id)
        .join(User, User.id == Patient.lead_clinician_id)
        .order_by(
            urgent.c.overdue_first,
            urgent.c.overdue_at,
            urgent.c.phase_entered_at,
            urgent.c.id,
            urgent.c.item,
        )
    )


def dashboard(user) -> dict:
    """What needs doing across the user's caseload after dosing (the team's, for a
    supervisor), most urgent first, and notes returned to them."""
    now = utcnow()
    team = access.sees_supervisees_patients(user.role)
    params = {
        "now": now,
        "limit": TEAM_DUE_ON_BOARD if team else OWN_DUE_ON_BOARD,
        **caseload_params(user),
    }
    names = instrument_names()
    attention, total = [], 0
    for row in read_columns(_due_items_statement(*caseload_key(user)), params):
        item = item_from_row(row[4:-1], names)
        attention.append((DueCourse(*row[:4]), item, item.status(now)))
        total = row[-1]
    return {
        "attention": attention,
        "attention_total": total,
        "team": team,
        # The supervision links say how much waits behind them (one statement).
        "reviews_waiting": awaiting_review_count(user) if team else None,
        "returned": returned_to(user, 50),
        "now": now,
        "DueStatus": DueStatus,
        "DueKind": DueKind,
    }
