"""Who the simulated users are: seeded staff, each with patients from their own caseload.

Read back from the database through the app's own caseload filter, so every patient a user
visits is one the app lets them see, whatever the seeder put where.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.access import Role
from psiflow.models import Patient, User
from psiflow.models.patients import caseload_filter

PATIENTS_PER_MEMBER = 100


@dataclass(frozen=True)
class Member:
    id: int
    email: str
    role: Role
    patient_ids: tuple[int, ...]


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
            if patient_ids:
                cast[user.role].append(Member(user.id, user.email, user.role, tuple(patient_ids)))
    return cast
