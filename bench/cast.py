"""Who the simulated users are: seeded staff, each with patients from their own caseload.

Read back from the database through the app's own caseload filter, so every patient a user
visits is one the app lets them see, whatever the seeder put where. With the patients come
what the record pages need: the sessions under way, the draft notes (with the action items
their form carries), the courses to export and the patient with the longest history.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.access import Role
from psiflow.domain.signing import RecordStatus
from psiflow.models import (
    ActionItem,
    Course,
    DosingSession,
    IntegrationSession,
    Patient,
    PhaseTransition,
    User,
)
from psiflow.models.integration import ActionStatus
from psiflow.models.patients import caseload_filter

PATIENTS_PER_MEMBER = 100


@dataclass(frozen=True)
class Member:
    id: int
    email: str
    role: Role
    patient_ids: tuple[int, ...]
    live_session_ids: tuple[int, ...] = ()  # dosing sessions under way
    draft_notes: tuple[tuple[int, dict], ...] = ()  # (note id, its form's action-item fields)
    course_ids: tuple[int, ...] = ()
    long_history_patient_id: int | None = None


def _own(user, query):
    return query.join(Course.patient).where(caseload_filter(user))


def read_cast(
    engine: sa.Engine, roles=(Role.CLINICIAN, Role.SUPERVISOR)
) -> dict[Role, list[Member]]:
    cast: dict[Role, list[Member]] = {role: [] for role in roles}
    with so.Session(engine) as session:
        users = session.scalars(sa.select(User).where(User.role.in_(roles)).order_by(User.id))
        for user in users:
            patient_ids = session.scalars(
                sa.select(Patient.id)
                .where(caseload_filter(user))
                .order_by(Patient.id)
                .limit(PATIENTS_PER_MEMBER)
            ).all()
            if not patient_ids:
                continue
            live = session.scalars(
                _own(user, sa.select(DosingSession.id).join(Course))
                .where(
                    DosingSession.status == RecordStatus.DRAFT, Patient.lead_clinician_id == user.id
                )
                .order_by(DosingSession.id)
            ).all()
            notes = session.scalars(
                _own(user, sa.select(IntegrationSession).join(Course))
                .where(
                    IntegrationSession.status == RecordStatus.DRAFT,
                    Patient.lead_clinician_id == user.id,
                )
                .order_by(IntegrationSession.id)
            ).all()
            courses = session.scalars(
                _own(user, sa.select(Course.id))
                .where(Patient.is_practice.is_(False))
                .order_by(Course.id)
                .limit(PATIENTS_PER_MEMBER)
            ).all()
            longest = session.scalar(
                _own(user, sa.select(Course.patient_id).join(PhaseTransition))
                .group_by(Course.patient_id)
                .order_by(sa.func.count().desc(), Course.patient_id)
                .limit(1)
            )
            cast[user.role].append(
                Member(
                    user.id,
                    user.email,
                    user.role,
                    tuple(patient_ids),
                    tuple(live),
                    tuple((n.id, _note_items(session, n)) for n in notes),
                    tuple(courses),
                    longest,
                )
            )
    return cast


def _note_items(session, note) -> dict:
    """The action-item fields the note's form carries, posted as they stand (a save that keeps
    the plan): every open item carried forward stays open, the note's own items keep their text."""
    items = session.scalars(
        sa.select(ActionItem).where(
            ActionItem.course_id == note.course_id,
            sa.or_(
                ActionItem.status == ActionStatus.OPEN,
                ActionItem.closed_in_id == note.id,
            ),
        )
    ).all()
    fields = {}
    for item in items:
        if item.created_in_id == note.id:
            fields[f"own_{item.id}"] = item.text
        else:
            fields[f"item_{item.id}"] = ActionStatus.OPEN.value
    return fields
