"""The seeded network's audit trail: what the app would have written, hash-chained.

Every seeder notes its changes in `Network.audit`; once a block of patients is seeded, this
adds its phase transitions, record views and registrations and sets the block's events aside
in time order (`Network.audit_runs`, on disk). Last, with the staff's log-ins, it merges every
block's events into one time order and chains them with the app's own `psiflow.audit.row_hash`,
so `flask --app psiflow audit-verify` passes on the seeded database.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from datetime import timedelta
from operator import itemgetter

from bench.loading import Sink, insert_tuples
from bench.network import Network
from bench.sorted_runs import SortedRuns
from psiflow.access import Role
from psiflow.audit import HASHED_FIELDS, row_hash
from psiflow.models.audit import GENESIS_HASH, AuditChainHead, AuditEvent

# Each clinician and supervisor logs in on most working days of the past year.
LOGIN_DAYS = 250
# The care team opens a patient's record a few times for every step of the course.
VIEWS_PER_TRANSITION = 2


def set_aside_block_events(net: Network, sink: Sink) -> int:
    """The block's audit events, with its courses' phase transitions and record views and its
    patients' registration, sorted by time and set aside until every block's are made."""
    events, net.audit = net.audit, []
    for course in net.courses:
        lead = course.started_by_id
        previous = None
        for phase, at in course.steps:
            changes = {
                "course_id": [None, course.id],
                "from_phase": [None, previous.value if previous else None],
                "to_phase": [None, phase.value],
                "by_id": [None, lead],
            }
            events.append(
                (at, lead, "phase_transition", "PhaseTransition", "", course.patient_id, changes)
            )
            for n in range(VIEWS_PER_TRANSITION):
                when = at - timedelta(hours=n + 1)
                events.append(
                    (when, lead, "view", "Patient", str(course.patient_id), course.patient_id, None)
                )
            previous = phase
    for patient in net.patients:
        events.append(
            (
                patient["created_at"],
                patient["created_by_id"],
                "create",
                "Patient",
                str(patient["id"]),
                patient["id"],
                {"record_number": [None, patient["record_number"]]},
            )
        )
    if net.audit_runs is None:
        net.audit_runs = SortedRuns(key=itemgetter(0))
    net.audit_runs.add_run(events)
    return len(events)


def seed_audit_trail(net: Network, sink: Sink) -> int:
    """Every block's events and the staff's log-ins, in one time order, hash-chained."""
    rng = random.Random(net.shape.seed)
    logins = []
    for member in net.staff:
        if member.role == Role.ADMIN:
            continue
        for day in range(LOGIN_DAYS):
            at = net.now - timedelta(days=day * 365 / LOGIN_DAYS, hours=rng.uniform(0, 3))
            logins.append((at, member.id, "login_success", "User", str(member.id), None, None))
    with net.audit_runs or SortedRuns(key=itemgetter(0)) as runs:
        runs.add_run(logins)
        head: dict = {}
        count = insert_tuples(
            sink, AuditEvent.__table__, COLUMNS, _chained(net, runs.merged(), head)
        )
    net.audit_runs = None
    insert_tuples(
        sink, AuditChainHead.__table__, HEAD_COLUMNS, [(1, head["last_seq"], head["last_hash"])]
    )
    return count


COLUMNS = (*HASHED_FIELDS, "hash")
HEAD_COLUMNS = ("id", "last_seq", "last_hash")


def _chained(net: Network, events: Iterable[tuple], head: dict):
    """Rows in chain order, each hashed over the previous one by the app's own `row_hash`;
    `head` gets the chain head's values once the last row is made."""
    prev, seq = GENESIS_HASH, 0
    for at, actor_id, action, object_type, object_id, patient_id, changes in events:
        seq += 1
        row = {
            "seq": seq,
            "at": at,
            "actor_id": actor_id,
            "context": "web",
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "patient_id": patient_id,
            "changes": changes,
            "detail": None,
            "request_id": f"{seq:032x}",
            "remote_addr": "10.0.0.10",
            "prev_hash": prev,
        }
        prev = row_hash(row)
        yield (
            seq,
            net.db_time(at),
            actor_id,
            "web",
            action,
            object_type,
            object_id,
            patient_id,
            None if changes is None else json.dumps(changes),
            None,
            row["request_id"],
            "10.0.0.10",
            row["prev_hash"],
            prev,
        )
    head.update(last_seq=seq, last_hash=prev)
