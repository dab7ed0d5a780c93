"""The synthetic clinic network: staff, patients and their courses, seeded in bulk.

Each record type has one seeder in `SEEDERS`, run in order; a record type joins the table when
its model lands. Seeders build plain dicts and hand them to `insert_rows` (bench/loading.py),
which writes them in batches (executemany), never ORM object by object. The staff are seeded
once; the patients a block at a time (`Network.begin_block`), each block with every record of
its courses, so that what the seed holds does not grow with the network.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bench.loading import Sink, insert_rows
from bench.sorted_runs import SortedRuns
from psiflow.access import Role
from psiflow.demo import FIRST_NAMES, SURNAMES
from psiflow.domain.phases import ACTIVE_PHASES, Phase
from psiflow.domain.protocols import Protocol
from psiflow.models import Clinic, Course, Patient, PhaseTransition, User
from psiflow.models.stored.care_team import CARE_TEAM

BENCH_PASSWORD = "psiflow-bench-passphrase"

# The network grows by whole teams: a clinician leads about 200 patients, five clinicians work
# under one supervisor, one team per clinic. 10,000 patients: 50 clinicians, 10 supervisors.
PATIENTS_PER_CLINICIAN = 200
TEAM_SIZE = 5

# Patients seeded at a time, with every record of their courses: what the seed holds grows
# with the block, not with the network (about 100 MB of rows and audit events for 1,000).
PATIENTS_PER_BLOCK = 1000

# Where the current course of a patient stands: a clinic a few years old has most courses in
# integration, follow-up or completed, a few on hold and some withdrawn.
PHASE_MIX = {
    Phase.SCREENING: 10,
    Phase.PREPARATION: 14,
    Phase.DOSING: 4,
    Phase.INTEGRATION: 20,
    Phase.FOLLOW_UP: 14,
    Phase.COMPLETED: 26,
    Phase.ON_HOLD: 4,
    Phase.WITHDRAWN: 8,
}
PATIENTS_WITHOUT_COURSE = 0.02  # referred, not yet started
PATIENTS_WITH_EARLIER_COURSE = 0.10  # a closed course before the current one

# Days spent in a phase before the next step (low, high): screening to first dose takes weeks,
# a dosing day leads to integration the next day, follow-up runs for months.
DWELL_DAYS = {
    Phase.SCREENING: (5, 30),
    Phase.PREPARATION: (14, 60),
    Phase.DOSING: (1, 2),
    Phase.INTEGRATION: (10, 35),
    Phase.FOLLOW_UP: (60, 180),
    Phase.ON_HOLD: (14, 90),
}


@dataclass(frozen=True)
class Shape:
    """How big a network to seed."""

    patients: int
    seed: int = 7
    patients_per_block: int = PATIENTS_PER_BLOCK

    @property
    def clinicians(self) -> int:
        return max(1, math.ceil(self.patients / PATIENTS_PER_CLINICIAN))

    @property
    def supervisors(self) -> int:
        return math.ceil(self.clinicians / TEAM_SIZE)

    @property
    def blocks(self) -> int:
        return math.ceil(self.patients / self.patients_per_block)


@dataclass
class StaffMember:
    id: int
    role: Role
    clinic_id: int
    supervisor_id: int | None = None


@dataclass
class CoursePlan:
    """A course as seeded: its phase path with the time each phase was entered."""

    id: int
    patient_id: int
    protocol: Protocol
    started_by_id: int
    steps: list[tuple[Phase, datetime]]

    @property
    def phase(self) -> Phase:
        return self.steps[-1][0]


@dataclass
class Network:
    """What the seeders have built so far, for the seeders after them."""

    shape: Shape
    now: datetime
    rng: random.Random
    protocols: list[Protocol]
    password_hash: str
    # The whole network's: its staff, and per clinician what is spread over its caseload.
    clinic_ids: list[int] = field(default_factory=list)
    staff: list[StaffMember] = field(default_factory=list)
    staff_rows: list[dict] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    drafts_by_lead: dict[int, int] = field(default_factory=dict)  # notes being written
    leads_with_live_session: set[int] = field(default_factory=set)
    blocks_begun: int = 0
    # The block of patients being seeded (`begin_block`): its patients and courses, and what
    # the record seeders (bench/records.py) leave for the ones after them.
    patients: list[dict] = field(default_factory=list)
    courses: list[CoursePlan] = field(default_factory=list)
    timelines: dict = field(default_factory=dict)
    session_times: dict[int, list[datetime]] = field(default_factory=dict)
    vitals_plan: list[tuple] = field(default_factory=list)
    signatures: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    # What the app would have written to the audit trail for each seeded change, as the chain
    # needs it (`bench.audit_trail.hashable`: text, not the changes' dicts); each block's are
    # sorted and set aside in `audit_runs` (bench/sorted_runs.py), and chained last.
    audit: list[tuple] = field(default_factory=list)
    audit_runs: SortedRuns | None = None
    # Per table, the indexes (and PostgreSQL's foreign keys) dropped while the rows go in, as
    # statements that build them again (bench.loading.drop_for_the_load).
    dropped_for_load: dict[str, list[str]] = field(default_factory=dict)
    _ids: dict[str, int] = field(default_factory=dict)
    sqlite: bool = True

    def db_time(self, at: datetime):
        return driver_time(at, self.sqlite)

    def next_id(self, table: str) -> int:
        """The next explicit id of `table` (rows go in with their ids, so children can refer
        to their parents without reading them back)."""
        self._ids[table] = n = self._ids.get(table, 0) + 1
        return n

    def members(self, role: Role) -> list[StaffMember]:
        return [s for s in self.staff if s.role == role]

    def begin_block(self) -> range:
        """The ids of the next block of patients. What the seeders kept of the block before is
        dropped: its rows are written and its audit events set aside."""
        if self.audit:
            raise RuntimeError("the block before left audit events that were not set aside")
        size = self.shape.patients_per_block
        first = self.blocks_begun * size + 1
        self.blocks_begun += 1
        self.patients, self.courses, self.timelines, self.session_times = [], [], {}, {}
        self.vitals_plan, self.signatures, self.alerts = [], [], []
        return range(first, min(first + size, self.shape.patients + 1))


Seeder = Callable[[Network, Sink], int]


def driver_time(at: datetime, sqlite: bool):
    """A UTC time as the driver stores it for UTCDateTime (SQLite: naive ISO text)."""
    if not sqlite:
        return at
    if at.tzinfo is UTC:  # every time the seed makes: its text without the "+00:00"
        return at.isoformat(" ", "microseconds")[:26]
    return at.replace(tzinfo=None).isoformat(" ", "microseconds")


def seed_clinics(net: Network, sink: Sink) -> int:
    net.clinic_ids = list(range(1, net.shape.supervisors + 1))
    return insert_rows(
        sink,
        Clinic.__table__,
        (
            {
                "id": i,
                "name": f"Bench Clinic {i}",
                "timezone": "America/Los_Angeles",
                "created_at": net.now - timedelta(days=1500),
            }
            for i in net.clinic_ids
        ),
    )


def seed_users(net: Network, sink: Sink) -> int:
    """One supervisor and one administrator per clinic; clinicians in teams under a supervisor."""
    rows = []
    next_id = iter(range(1, 10**9))

    def add(role: Role, n: int, clinic_id: int, supervisor_id: int | None = None) -> int:
        uid = next(next_id)
        net.staff.append(StaffMember(uid, role, clinic_id, supervisor_id))
        rows.append(
            {
                "id": uid,
                "email": bench_email(role, n),
                "role": role,
                "clinic_id": clinic_id,
                "name": f"{FIRST_NAMES[uid % len(FIRST_NAMES)]} {SURNAMES[uid % len(SURNAMES)]}",
                "supervisor_id": supervisor_id,
                "password_hash": net.password_hash,
                "session_token": f"{net.rng.getrandbits(128):032x}",
                "active": True,
                "failed_logins": 0,
                "password_changed_at": net.now,
                "created_at": net.now - timedelta(days=1400),
            }
        )
        return uid

    supervisors = [add(Role.SUPERVISOR, i + 1, clinic) for i, clinic in enumerate(net.clinic_ids)]
    for i, clinic in enumerate(net.clinic_ids):
        add(Role.ADMIN, i + 1, clinic)
    for n in range(net.shape.clinicians):
        team = n // TEAM_SIZE
        add(Role.CLINICIAN, n + 1, net.clinic_ids[team], supervisors[team])
    net.staff_rows = rows
    net.names = {row["id"]: row["name"] for row in rows}
    return insert_rows(sink, User.__table__, rows)


def bench_email(role: Role, n: int) -> str:
    return f"{role.value}{n}@bench.psiflow"


def seed_patients(net: Network, sink: Sink) -> int:
    """The next block of patients (`Network.begin_block`), each led by a clinician in turn."""
    ids = net.begin_block()
    clinicians = net.members(Role.CLINICIAN)
    supervisor_of = {s.clinic_id: s.id for s in net.members(Role.SUPERVISOR)}
    team_of: dict[int, list[StaffMember]] = {}
    for c in clinicians:
        team_of.setdefault(c.clinic_id, []).append(c)
    rng = net.rng
    for pid in ids:
        lead = clinicians[(pid - 1) % len(clinicians)]
        mates = [c for c in team_of[lead.clinic_id] if c.id != lead.id]
        # Who co-facilitates is settled when the protocol is chosen (a pair for MDMA).
        protocol = rng.choice(net.protocols)
        co = None
        if protocol.facilitators_required == 2 or rng.random() < 0.15:
            co = (
                rng.choice(mates).id
                if mates and rng.random() < 0.8
                else supervisor_of[lead.clinic_id]
            )
        net.patients.append(
            {
                "id": pid,
                "clinic_id": lead.clinic_id,
                "is_practice": False,
                "display_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
                "record_number": f"BN-{pid:06d}",
                "date_of_birth": date(
                    1950 + rng.randrange(55), 1 + rng.randrange(12), 1 + rng.randrange(28)
                ),
                "lead_clinician_id": lead.id,
                "co_facilitator_id": co,
                "created_by_id": lead.id,
                "created_at": net.now - timedelta(days=rng.randrange(30, 1100)),
                "_protocol": protocol,
            }
        )
    return insert_rows(
        sink, Patient.__table__, ({k: v for k, v in p.items() if k[0] != "_"} for p in net.patients)
    )


def course_path(rng: random.Random, final: Phase, dosing_sessions: int) -> list[Phase]:
    """The phases a course has walked to reach `final`, with the dosing/integration loop."""
    if final in (Phase.ON_HOLD, Phase.WITHDRAWN):
        return course_path(rng, rng.choice(ACTIVE_PHASES), dosing_sessions) + [final]
    path = [Phase.SCREENING]
    if final == Phase.SCREENING:
        return path
    path.append(Phase.PREPARATION)
    if final == Phase.PREPARATION:
        return path
    if final in (Phase.DOSING, Phase.INTEGRATION):
        done = rng.randint(1, dosing_sessions)
    else:
        done = dosing_sessions
    for _ in range(done):
        path += [Phase.DOSING, Phase.INTEGRATION]
    if final == Phase.DOSING:
        return path[:-1]
    if final == Phase.INTEGRATION:
        return path
    path.append(Phase.FOLLOW_UP)
    if final == Phase.COMPLETED:
        path.append(Phase.COMPLETED)
    return path


def _timed(rng: random.Random, path: list[Phase], end: datetime) -> list[tuple[Phase, datetime]]:
    """Entry times for `path`, walking back from `end` (when its last phase was entered)."""
    times = [end]
    for phase in reversed(path[:-1]):
        low, high = DWELL_DAYS[phase]
        times.append(times[-1] - timedelta(days=rng.uniform(low, high)))
    return list(zip(path, reversed(times), strict=True))


def seed_courses(net: Network, sink: Sink) -> int:
    rng = net.rng
    phases, weights = list(PHASE_MIX), list(PHASE_MIX.values())
    for patient in net.patients:
        if rng.random() < PATIENTS_WITHOUT_COURSE:
            continue
        protocol = patient["_protocol"]
        final = rng.choices(phases, weights)[0]
        path = course_path(rng, final, protocol.dosing_sessions)
        closed = final in (Phase.COMPLETED, Phase.WITHDRAWN)
        end = net.now - timedelta(days=rng.uniform(30, 400) if closed else rng.uniform(0, 45))
        steps = _timed(rng, path, end)
        if rng.random() < PATIENTS_WITH_EARLIER_COURSE:
            earlier = rng.choice((Phase.COMPLETED, Phase.WITHDRAWN))
            before = steps[0][1] - timedelta(days=rng.uniform(60, 300))
            old_path = course_path(rng, earlier, protocol.dosing_sessions)
            net.courses.append(
                CoursePlan(
                    net.next_id("courses"),
                    patient["id"],
                    protocol,
                    patient["lead_clinician_id"],
                    _timed(rng, old_path, before),
                )
            )
        net.courses.append(
            CoursePlan(
                net.next_id("courses"),
                patient["id"],
                protocol,
                patient["lead_clinician_id"],
                steps,
            )
        )
    patients = {patient["id"]: patient for patient in net.patients}
    return insert_rows(
        sink,
        Course.__table__,
        (
            {
                "id": c.id,
                "patient_id": c.patient_id,
                # The patient's care team, as `psiflow.models.stored.care_team` copies it.
                **{key: patients[c.patient_id][key] for key in CARE_TEAM},
                "protocol_id": c.protocol.id,
                "protocol_version": c.protocol.version,
                "phase": c.phase,
                "phase_entered_at": c.steps[-1][1],
                "started_at": c.steps[0][1],
                "started_by_id": c.started_by_id,
                "version": len(c.steps),
            }
            for c in net.courses
        ),
    )


_REASONS = {
    Phase.ON_HOLD: "Patient asked to pause; to be reviewed next month.",
    Phase.WITHDRAWN: "Patient chose to withdraw; referred back to their GP.",
}


def seed_phase_transitions(net: Network, sink: Sink) -> int:
    def rows() -> Iterator[dict]:
        for course in net.courses:
            previous = None
            for phase, at in course.steps:
                yield {
                    "course_id": course.id,
                    "from_phase": previous,
                    "to_phase": phase,
                    "at": at,
                    "by_id": course.started_by_id,
                    "override": False,
                    "unmet_at_override": None,
                    "reason": _REASONS.get(phase, "Course started" if previous is None else ""),
                }
                previous = phase

    return insert_rows(sink, PhaseTransition.__table__, rows())
