"""The caseload board's queries: a fixed number per page, whatever the caseload's size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

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
from psiflow.models.patients import caseload_filter
from psiflow.statements import built_once

CLOSED_VIEW_PHASES = (Phase.ON_HOLD, Phase.COMPLETED, Phase.WITHDRAWN)


def _scope(user, clinician_id: int | None, practice: bool):
    conditions = [caseload_filter(user), Patient.is_practice.is_(practice)]
    if clinician_id is not None:
        conditions.append(
            sa.or_(
                Patient.lead_clinician_id == clinician_id,
                Patient.co_facilitator_id == clinician_id,
            )
        )
    return sa.and_(*conditions)


def _courses_in_scope(user, clinician_id: int | None, practice: bool):
    # The caseload's patients first, then their courses by ix_courses_patient_id: a join let
    # SQLite start from every course of the network in the phase and check each one's patient.
    patients = sa.select(Patient.id).where(_scope(user, clinician_id, practice))
    return Course.patient_id.in_(patients)


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

    def gates(self, facts: CourseFacts) -> list[tuple[Phase, list[str]]]:
        """As `Course.gates`, from facts gathered for the whole board."""
        if self.phase not in GATED_FROM:
            return []
        return forward_gates(self.phase, gate_numbers(self.protocol), facts)


def board_courses(user, phases, per_phase: int, clinician_id=None, practice=False):
    """Up to `per_phase` courses in each phase, longest in phase first, and how many courses
    each phase has (one query)."""
    ranked = (
        sa.select(
            Course.id,
            sa.func.row_number()
            .over(partition_by=Course.phase, order_by=(Course.phase_entered_at, Course.id))
            .label("rank"),
            sa.func.count().over(partition_by=Course.phase).label("in_phase"),
        )
        .where(_courses_in_scope(user, clinician_id, practice), Course.phase.in_(phases))
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            Course.id,
            Course.phase,
            Course.phase_entered_at,
            Course.planned_dosing_at,
            Course.protocol_id,
            Course.protocol_version,
            Patient.id,
            Patient.display_name,
            User.name,
            ranked.c.in_phase,
        )
        .join(ranked, ranked.c.id == Course.id)
        .join(Patient, Patient.id == Course.patient_id)
        .join(User, User.id == Patient.lead_clinician_id)
        .where(ranked.c.rank <= per_phase)
        .order_by(Course.phase_entered_at, Course.id)
    ).tuples()
    protocols = catalog.protocols()
    grouped: dict[Phase, list[CourseCard]] = {phase: [] for phase in phases}
    counts = dict.fromkeys(phases, 0)
    for cid, phase, entered, planned, pid, version, patient_id, name, lead, in_phase in rows:
        grouped[phase].append(
            CourseCard(
                cid, phase, entered, planned, protocols[f"{pid}@{version}"], patient_id, name, lead
            )
        )
        counts[phase] = in_phase
    return grouped, counts


def phase_page(user, phase: Phase, page: int, per_page: int, clinician_id=None, practice=False):
    return db.paginate(
        sa.select(Course)
        .where(_courses_in_scope(user, clinician_id, practice), Course.phase == phase)
        .options(so.joinedload(Course.patient).joinedload(Patient.lead_clinician))
        .order_by(Course.phase_entered_at, Course.id),
        page=page,
        per_page=per_page,
        error_out=False,
    )


def patients_without_course(user, limit: int, practice=False):
    has_course = sa.select(Course.id).where(Course.patient_id == Patient.id).exists()
    return db.session.scalars(
        sa.select(Patient)
        .where(caseload_filter(user), Patient.is_practice.is_(practice), ~has_course)
        .order_by(Patient.created_at.desc())
        .limit(limit)
    ).all()


def load_course_histories(patient) -> None:
    """Load the patient's courses with their phase histories and who made each change in one
    query, however many courses the patient has had (lazy loading ran one query per course)."""
    courses = (
        db.session.scalars(_course_histories_query(), {"patient_id": patient.id}).unique().all()
    )
    so.attributes.set_committed_value(patient, "courses", courses)


@built_once
def _course_histories_query():
    return (
        sa.select(Course)
        .where(Course.patient_id == sa.bindparam("patient_id"))
        .order_by(Course.started_at)
        # Of who made each change, only the name the history shows: a user's other columns
        # (password hash, lockout times) took half the query's time on a long history.
        .options(
            so.joinedload(Course.transitions).joinedload(PhaseTransition.by).load_only(User.name)
        )
    )


def team_members(supervisor) -> list[User]:
    """The supervisor and everyone they supervise, for the board's clinician filter."""
    return db.session.scalars(
        sa.select(User)
        .where(sa.or_(User.id == supervisor.id, User.supervisor_id == supervisor.id))
        .order_by(User.name)
    ).all()


__all__ = ["ACTIVE_PHASES", "CLOSED_VIEW_PHASES"]
