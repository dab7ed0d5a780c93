"""Test data builders (`gen_<thing>(**overrides)`): sensible defaults, flush but never commit."""

from __future__ import annotations

import itertools
from datetime import timedelta

from psiflow import catalog
from psiflow.access import Role
from psiflow.domain.phases import Phase
from psiflow.extensions import db
from psiflow.models import Clinic, Course, Patient, PhaseTransition, User
from psiflow.models.types import utcnow
from psiflow.security.password_hashing import hash_password

TEST_PASSWORD = "a long test passphrase"
# Hashes of TEST_PASSWORD as earlier releases stored them (argon2-cffi): its default setting,
# and the 12 MiB / 3 passes one.
EARLIER_RELEASE_HASHES = (
    "$argon2id$v=19$m=65536,t=3,p=4$gilsNF9fMNYJv9Bvrq3M1Q$OyaqQcAmUc8YGiwgHtFn7bSh+Ypiw1iVxIDHq+yTq3I",
    "$argon2id$v=19$m=12288,t=3,p=1$ReRubGzup16Qxrtvqw7rGg$Gavsb8UGRM/WM0zTsEqnCU35O6zxCQokChEkOe73OjE",
)
_HASH = hash_password(TEST_PASSWORD)  # hashed once: Argon2 is slow on purpose
_seq = itertools.count(1)

FORWARD = [
    Phase.SCREENING,
    Phase.PREPARATION,
    Phase.DOSING,
    Phase.INTEGRATION,
    Phase.FOLLOW_UP,
    Phase.COMPLETED,
]


def gen_clinic(**overrides) -> Clinic:
    n = next(_seq)
    clinic = Clinic(**{"name": f"Clinic {n}", "timezone": "America/Los_Angeles", **overrides})
    db.session.add(clinic)
    db.session.flush()
    return clinic


def gen_user(role: Role = Role.CLINICIAN, clinic: Clinic | None = None, **overrides) -> User:
    n = next(_seq)
    fields = {
        "email": f"{role.value}{n}@clinic.test",
        "name": f"{role.value.capitalize()} {n}",
        "role": role,
        "clinic": clinic or gen_clinic(),
        "password_hash": _HASH,
    }
    fields.update(overrides)
    user = User(**fields)
    db.session.add(user)
    db.session.flush()
    return user


def gen_patient(lead: User, **overrides) -> Patient:
    n = next(_seq)
    fields = {
        "clinic_id": lead.clinic_id,
        "display_name": f"Test Patient {n}",
        "record_number": f"T-{n:05d}",
        "is_practice": lead.role == Role.TRAINEE,
        "lead_clinician": lead,
        "created_by_id": lead.id,
    }
    fields.update(overrides)
    patient = Patient(**fields)
    db.session.add(patient)
    db.session.flush()
    return patient


def gen_course(
    patient: Patient,
    phase: Phase = Phase.SCREENING,
    protocol_key: str | None = None,
    path: list[Phase] | None = None,
) -> Course:
    """A course that has walked `path` (default: the forward path up to `phase`)."""
    protocol = catalog.protocol(protocol_key) if protocol_key else catalog.current_protocols()[0]
    if path is None:
        path = FORWARD[: FORWARD.index(phase) + 1] if phase in FORWARD else [Phase.SCREENING, phase]
    at = utcnow() - timedelta(days=10 * len(path))
    course = Course(
        patient=patient,
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        phase=path[-1],
        phase_entered_at=at,
        started_at=at,
        started_by_id=patient.lead_clinician_id,
    )
    db.session.add(course)
    previous = None
    for step in path:
        db.session.add(
            PhaseTransition(
                course=course,
                from_phase=previous,
                to_phase=step,
                at=at,
                by_id=patient.lead_clinician_id,
                reason="test history",
            )
        )
        course.phase_entered_at = at
        previous = step
        at += timedelta(days=10)
    db.session.flush()
    return course


def gen_dosing_session(
    course: Course,
    author: User,
    *,
    complete: bool = True,
    co_facilitator: User | None = None,
    hours_ago: float = 10,
):
    """A dosing session started `hours_ago`; `complete` fills everything signing needs."""
    from psiflow.domain.dosing import DoseKind
    from psiflow.domain.vitals import Reading
    from psiflow.models import dosing

    t0 = utcnow() - timedelta(hours=hours_ago)
    session = dosing.start_session(course, author, now=t0)
    if co_facilitator is not None:
        session.facilitator_ids = sorted({author.id, co_facilitator.id})
    db.session.flush()
    if not complete:
        return session
    protocol = course.protocol
    for item in protocol.checklist:
        dosing.record_answer(
            session,
            dosing.AnswerKind.CHECKLIST,
            item.id,
            True,
            author,
            now=t0 + timedelta(minutes=1),
        )
    for question in protocol.session_questions:
        dosing.record_answer(
            session,
            dosing.AnswerKind.QUESTION,
            question.id,
            False,
            author,
            now=t0 + timedelta(minutes=1),
        )
    dose_at = t0 + timedelta(minutes=10)
    dosing.record_vitals(
        session,
        Reading(systolic=120, diastolic=78, heart_rate=72, spo2=98),
        t0 + timedelta(minutes=5),
        author,
        now=t0 + timedelta(minutes=5),
    )
    dosing.record_dose(
        session, DoseKind.INITIAL, protocol.dose.min, "LOT-1", dose_at, author, now=dose_at
    )
    db.session.flush()
    minutes = protocol.min_session_minutes_for_dose(protocol.dose.min)
    leave = dose_at + timedelta(minutes=minutes + 5)
    if protocol.blood_pressure_checks:
        # The Spravato REMS: blood pressure again about 40 minutes after the dose and before
        # discharge.
        for taken in (dose_at + timedelta(minutes=40), leave - timedelta(minutes=10)):
            dosing.record_vitals(
                session,
                Reading(systolic=124, diastolic=80, heart_rate=74, spo2=98),
                taken,
                author,
                now=taken,
            )
    dosing.discharge(
        session,
        discharged_at=leave,
        ready_to_leave_at=None,
        criteria_met=[c.id for c in protocol.discharge_criteria],
        accompanied_by="Partner",
        as_planned=True,
        deviation="",
        transport_plan="Partner drives home",
        now=leave,
    )
    if len(session.facilitator_ids) < protocol.facilitators_required:
        session.facilitator_ids = sorted({author.id, course.patient.co_facilitator_id or 0} - {0})
    db.session.flush()
    return session


def gen_signed_screening_with_flags(team: dict, positive: list[str]):
    """A psilocybin course in screening whose signed screening raised a flag per `positive`
    check (and the contraindication alert): (course, flags)."""
    import sqlalchemy as sa

    from psiflow.domain.signing import Meaning
    from psiflow.models import Screening, ScreeningFlag
    from psiflow.models.records import sign_record

    clinician = team["clinician"]
    course = gen_course(gen_patient(clinician), Phase.SCREENING, "psilocybin-single-dose@1.0")
    checks = {
        c.id: {"positive": c.id in positive, "detail": "Reported at screening" * (c.id in positive)}
        for c in course.protocol.contraindications
    }
    screening = Screening(
        course=course,
        author=clinician,
        occurred_at=utcnow(),
        created_at=utcnow(),
        medical_history="None of note",
        psychiatric_history="Depression",
        checks=checks,
    )
    db.session.add(screening)
    sign_record(screening, clinician, Meaning.AUTHORED)
    db.session.commit()
    flags = db.session.scalars(sa.select(ScreeningFlag).order_by(ScreeningFlag.id)).all()
    return course, flags
