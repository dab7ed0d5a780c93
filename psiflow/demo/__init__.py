"""The demo clinic: fictional staff and patients spread over every phase of the course."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from psiflow import catalog
from psiflow.access import Role
from psiflow.domain.phases import Phase
from psiflow.extensions import db
from psiflow.models import Clinic, Course, Patient, PhaseTransition, User
from psiflow.models.types import utcnow

CLINIC_NAME = "PsiFlow Demo Clinic"
DEMO_PASSWORD = "psiflow-demo"


@dataclass
class DemoContext:
    """What each feature's demo seeder gets: the clinic, its people, every course and the
    phase path it walked (oldest first), with the time each phase was entered."""

    clinic: Clinic
    users: dict[str, User]  # by email
    courses: list[tuple[Course, list[tuple[Phase, datetime]]]]
    now: datetime


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role


ACCOUNTS = (
    DemoAccount("admin@demo.psiflow", "Avery Admin", Role.ADMIN),
    DemoAccount("supervisor@demo.psiflow", "Dr Morgan Reyes", Role.SUPERVISOR),
    DemoAccount("clinician@demo.psiflow", "Dr Jamie Okafor", Role.CLINICIAN),
    DemoAccount("clinician2@demo.psiflow", "Dr Riley Chen", Role.CLINICIAN),
    DemoAccount("trainee@demo.psiflow", "Casey Lindqvist", Role.TRAINEE),
)

FIRST_NAMES = (
    "Juniper",
    "Basil",
    "Clover",
    "Marlow",
    "Indigo",
    "Rowan",
    "Saffron",
    "Tobin",
    "Wren",
    "Fennel",
    "Hazel",
    "Orrin",
    "Poppy",
    "Quill",
    "Sorrel",
    "Thistle",
    "Umber",
    "Vesper",
    "Willow",
    "Yarrow",
    "Alder",
    "Bramble",
    "Cedar",
    "Dahlia",
    "Ember",
    "Fable",
)
# Surnames that say plainly these people do not exist.
SURNAMES = (
    "Example",
    "Sample",
    "Placeholder",
    "Fictional",
    "Testwell",
    "Demoson",
    "Madeup",
    "Pretend",
    "Imaginary",
    "Notreal",
    "Mockley",
    "Dummyworth",
)

# Where each clinician's twelve patients stand: the phase path they have walked so far.
_FORWARD = [
    Phase.SCREENING,
    Phase.PREPARATION,
    Phase.DOSING,
    Phase.INTEGRATION,
    Phase.FOLLOW_UP,
    Phase.COMPLETED,
]
CASELOAD_SHAPE = (
    _FORWARD[:1],
    _FORWARD[:1],
    _FORWARD[:2],
    _FORWARD[:2],
    _FORWARD[:3],
    _FORWARD[:3],
    _FORWARD[:4],
    _FORWARD[:4],
    _FORWARD[:5],
    _FORWARD[:6],
    _FORWARD[:2] + [Phase.ON_HOLD],
    _FORWARD[:3] + [Phase.WITHDRAWN],
)
PRACTICE_SHAPE = (_FORWARD[:1], _FORWARD[:2], _FORWARD[:3], _FORWARD[:4])

_REASONS = {
    Phase.ON_HOLD: "Patient asked to pause for a family bereavement; to be reviewed next month.",
    Phase.WITHDRAWN: "Patient chose to withdraw after the first session; referred back to GP.",
}


def demo_clinic() -> Clinic | None:
    return db.session.scalar(sa.select(Clinic).where(Clinic.name == CLINIC_NAME))


def database_is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def seed_demo(now: datetime | None = None) -> Clinic:
    """Create the demo clinic; the caller commits. Refuses to run twice."""
    now = now or utcnow()
    if demo_clinic() is not None:
        raise RuntimeError("The demo clinic already exists.")
    clinic = Clinic(name=CLINIC_NAME, timezone="America/Los_Angeles")
    db.session.add(clinic)
    users = {}
    template = User(email="template@demo.psiflow", name="", role=Role.ADMIN)
    template.set_password(DEMO_PASSWORD)  # one Argon2 hash, shared by the demo accounts
    for account in ACCOUNTS:
        user = User(
            email=account.email,
            name=account.name,
            role=account.role,
            clinic=clinic,
            password_hash=template.password_hash,
            password_changed_at=now,
        )
        db.session.add(user)
        users[account.role, account.email] = user
    supervisor = users[Role.SUPERVISOR, "supervisor@demo.psiflow"]
    for (role, _email), user in users.items():
        if role in (Role.CLINICIAN, Role.TRAINEE):
            user.supervisor = supervisor
    db.session.flush()

    ctx = DemoContext(
        clinic=clinic, users={u.email: u for u in users.values()}, courses=[], now=now
    )
    protocols = catalog.current_protocols()
    clinicians = [
        users[Role.CLINICIAN, "clinician@demo.psiflow"],
        users[Role.CLINICIAN, "clinician2@demo.psiflow"],
    ]
    n = 0
    for clinician in clinicians:
        for path in CASELOAD_SHAPE:
            name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {SURNAMES[n % len(SURNAMES)]}"
            # The second caseload is offset by two protocols, so every protocol has patients
            # who reached follow-up and outcome charts to show.
            protocol = protocols[(n + 2 * (n // len(CASELOAD_SHAPE))) % len(protocols)]
            # Protocols run by a pair (MAPS MDMA) get the supervisor as co-therapist, so each
            # clinician's caseload stays their own.
            co = supervisor if protocol.facilitators_required == 2 else None
            patient = _patient(clinic, name, f"DEMO-{n + 1:04d}", clinician, co, False, n)
            ctx.courses.append(_course(patient, protocol, path, clinician, now, n))
            n += 1
    trainee = users[Role.TRAINEE, "trainee@demo.psiflow"]
    for i, path in enumerate(PRACTICE_SHAPE):
        name = f"Practice {FIRST_NAMES[-(i + 1)]} {SURNAMES[i]}"
        patient = _patient(clinic, name, f"PRAC-{i + 1:04d}", trainee, None, True, n + i)
        ctx.courses.append(_course(patient, protocols[i % len(protocols)], path, trainee, now, i))
    db.session.flush()
    for seed_feature in FEATURE_SEEDERS:
        seed_feature(ctx)
    return clinic


# Fictional safety details for the patient header, cycled through the demo patients: phone
# numbers in 555-0100..0199, which North American numbering keeps for fiction; some medicines
# interact with some protocols, so the header has something to highlight.
_DEMO_SAFETY = (
    ("Penicillin (hives)", ["Levothyroxine 75 mcg daily"], "Sam Example", "partner"),
    (
        "No known allergies",
        ["Sertraline 50 mg daily", "Ibuprofen 200 mg as needed"],
        "Alex Sample",
        "sister",
    ),
    (
        "Latex; sulfa drugs (rash)",
        ["Lorazepam 0.5 mg as needed for panic"],
        "Jo Placeholder",
        "friend",
    ),
    ("", ["Lithium carbonate 400 mg twice daily"], "Robin Fiction", "father"),
    ("Shellfish", [], "Kai Madeup", "spouse"),
    ("No known allergies", ["Methylphenidate 10 mg mornings", "Omeprazole 20 mg daily"], "", ""),
)


def _safety_details(n: int) -> dict:
    allergies, medicines, contact, relationship = _DEMO_SAFETY[n % len(_DEMO_SAFETY)]
    return {
        "allergies": allergies,
        "current_medicines": "\n".join(medicines),
        "phone": f"+1 503 555 01{n % 100:02d}",
        "emergency_contact_name": contact,
        "emergency_contact_relationship": relationship,
        "emergency_contact_phone": f"+1 503 555 01{(n + 50) % 100:02d}" if contact else "",
    }


def _patient(clinic, name, record, lead, co, practice, n) -> Patient:
    patient = Patient(
        **_safety_details(n),
        clinic=clinic,
        display_name=name,
        record_number=record,
        is_practice=practice,
        date_of_birth=date(1960 + (n * 7) % 40, 1 + n % 12, 1 + (n * 3) % 28),
        lead_clinician=lead,
        co_facilitator=co,
        created_by_id=lead.id,
    )
    db.session.add(patient)
    return patient


def _course(patient, protocol, path, by, now, n):
    # Walk the path backwards from today so the latest step is recent and steps are weeks apart;
    # courses that reached follow-up spread over months, so follow-up weeks have come due.
    months = 5 if Phase.FOLLOW_UP in path else 1
    step = timedelta(days=(9 + n % 5) * months, hours=n % 7)
    at = now - step * len(path) - timedelta(days=n % 4)
    course = Course(
        patient=patient,
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        phase=path[-1],
        phase_entered_at=at,
        started_at=at,
        started_by_id=by.id,
    )
    db.session.add(course)
    previous = None
    walked = []
    for phase in path:
        reason = _REASONS.get(phase, "Course started" if previous is None else "")
        db.session.add(
            PhaseTransition(
                course=course,
                from_phase=previous,
                to_phase=phase,
                at=at,
                by_id=by.id,
                reason=reason,
            )
        )
        course.phase_entered_at = at
        walked.append((phase, at))
        previous = phase
        at += step
    return course, walked


# Each feature's records for the demo courses, in clinical order (see DemoContext).
FEATURE_SEEDERS: list = []


def login_lines() -> list[str]:
    width = max(len(a.email) for a in ACCOUNTS)
    return [
        f"  {a.email:<{width}}  {a.role.value:<10}  password: {DEMO_PASSWORD}" for a in ACCOUNTS
    ]


# Feature seeders run in clinical order; they import DemoContext from above.
from psiflow.demo import dosing, integration, preparation, training  # noqa: E402

FEATURE_SEEDERS.extend([preparation.seed, dosing.seed, integration.seed, training.seed])
