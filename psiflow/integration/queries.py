"""What the clinician's dashboard and the course export read (the patient page's integration
panel is `integration/panel.py`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, NamedTuple

import sqlalchemy as sa

from psiflow import access, catalog
from psiflow.domain.phases import Phase
from psiflow.domain.schedule import (
    DueKind,
    DueStatus,
    needing_attention,
    outstanding,
    schedule_numbers,
)
from psiflow.extensions import db
from psiflow.models import Course, Patient, SafetyCheckIn
from psiflow.models.integration import (
    CheckInContext,
    Sleep,
    instrument_names,
    schedule_done,
)
from psiflow.models.patients import caseload_key, caseload_params, caseload_rule, team_patients
from psiflow.models.reviews import awaiting_review_count, returned_to
from psiflow.models.types import utcnow
from psiflow.models.users import User

SCHEDULED_PHASES = (Phase.DOSING, Phase.INTEGRATION, Phase.FOLLOW_UP)
# Clinic default: the dashboard looks at this many of a clinician's courses after dosing,
# longest in phase first, so it stays one page of bounded queries for any caseload.
DASHBOARD_COURSES = 200
# A team's list runs to hundreds (223 items for a team of 1,000 patients in the benchmark, a
# 128 kB board at 5x the baseline): the supervisor's board shows the most urgent, overdue
# first, and says how many more wait; each patient's page lists its own.
TEAM_DUE_ON_BOARD = 25


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
    """A course on the dashboard: the columns its rows link to and its schedule needs."""

    id: int
    patient_id: int
    display_name: str
    protocol_key: str
    lead_clinician_name: str = ""


@functools.cache  # built once: building it and its cache key took 0.45 ms a visit
def _due_courses_statement(role, active: bool):
    """The first DASHBOARD_COURSES courses of the caseload after dosing, longest in phase
    first: the user's own, or for a supervisor the whole team's (a supervisee's day-1 call is
    the supervisor's concern too), but only those whose stored attention_from has come: the
    others have nothing due or overdue (`domain.schedule.attention_from`). Built once per kind
    of caseload, the user and the clock bound at each execution; columns, not whole courses
    and patients."""
    user_id = sa.bindparam("user_id", type_=sa.Integer, required=True)
    team = team_patients(role)
    whose = (
        # Practice patients never join a real caseload's list (the practice board has them).
        sa.and_(Patient.id.in_(team), Patient.is_practice.is_(False))
        if team is not None
        else sa.or_(Patient.lead_clinician_id == user_id, Patient.co_facilitator_id == user_id)
    )
    looked_at = (
        sa.select(Course.id, Course.attention_from)
        .join(Course.patient)
        .where(caseload_rule(role, active), whose, Course.phase.in_(SCHEDULED_PHASES))
        .order_by(Course.phase_entered_at, Course.id)
        .limit(sa.bindparam("limit", type_=sa.Integer, required=True))
        .subquery()
    )
    return (
        sa.select(
            Course.id,
            Course.patient_id,
            Patient.display_name,
            Course.protocol_id,
            Course.protocol_version,
            User.name,
        )
        .join(looked_at, looked_at.c.id == Course.id)
        .join(Course.patient)
        .join(User, User.id == Patient.lead_clinician_id)
        .where(looked_at.c.attention_from <= sa.bindparam("now", required=True))
        .order_by(Course.phase_entered_at, Course.id)
    )


def dashboard(user) -> dict:
    """What needs doing across the user's own caseload after dosing, and notes returned to them."""
    now = utcnow()
    params = {"user_id": user.id, "now": now, "limit": DASHBOARD_COURSES, **caseload_params(user)}
    courses = [
        DueCourse(cid, patient_id, name, f"{protocol_id}@{version}", lead)
        for cid, patient_id, name, protocol_id, version, lead in db.session.execute(
            _due_courses_statement(*caseload_key(user)), params
        )
    ]
    done = schedule_done(courses)  # even for none: the board's query count stays fixed
    names = instrument_names()
    protocols = catalog.protocols()
    numbers = {key: schedule_numbers(protocols[key]) for key in {c.protocol_key for c in courses}}
    attention = []
    for course in courses:
        items = outstanding(numbers[course.protocol_key], done[course.id], names)
        attention += [(course, item, status) for item, status in needing_attention(items, now)]
    attention.sort(key=lambda row: (row[2] != DueStatus.OVERDUE, row[1].overdue_at))
    team = access.sees_supervisees_patients(user.role)
    return {
        "attention": attention[:TEAM_DUE_ON_BOARD] if team else attention,
        "attention_total": len(attention),
        "team": team,
        # The supervision links say how much waits behind them (one statement).
        "reviews_waiting": awaiting_review_count(user) if team else None,
        "returned": returned_to(user, 50),
        "now": now,
        "DueStatus": DueStatus,
        "DueKind": DueKind,
    }
