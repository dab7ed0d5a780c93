"""The seeded network's audit trail: what the app would have written, hash-chained.

Every seeder notes its changes in `Network.audit` (as `hashable` makes them); once a block of
patients is seeded, this adds its phase transitions, record views and registrations and sets
the block's events aside in time order (`Network.audit_runs`, on disk). Last, with the
staff's log-ins, it merges every block's events into one time order and chains them, each row
hashed as the app's own `psiflow.audit.row_hash` hashes it, so `flask --app psiflow
audit-verify` passes on the seeded database.

The chain is the seed's one serial step: each row's hash covers the one before. So what does
not depend on its place in the chain (the canonical JSON `row_hash` hashes, up to the previous
row's hash) is made with the block, while the other process is still writing, and chaining is
one SHA-256 per row (tests/bench/test_audit_trail.py holds it to `row_hash`).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Iterator
from datetime import UTC, timedelta
from operator import itemgetter

import sqlalchemy as sa

from bench.loading import Sink, build_after_the_load, insert_tuples, reads_rows
from bench.network import Network
from bench.sorted_runs import SortedRuns
from psiflow.access import Role
from psiflow.audit import HASHED_FIELDS
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
                hashable(
                    at, lead, "phase_transition", "PhaseTransition", "", course.patient_id, changes
                )
            )
            for n in range(VIEWS_PER_TRANSITION):
                when = at - timedelta(hours=n + 1)
                events.append(
                    hashable(
                        when,
                        lead,
                        "view",
                        "Patient",
                        str(course.patient_id),
                        course.patient_id,
                        None,
                    )
                )
            previous = phase
    for patient in net.patients:
        events.append(
            hashable(
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


@reads_rows
def build_audit_indexes(net: Network, conn: sa.Connection) -> int:
    """The audit trail's indexes, once its events are in (`drop_for_the_load`)."""
    return build_after_the_load(net, conn, [AuditEvent.__tablename__])


def seed_audit_trail(net: Network, sink: Sink) -> int:
    """Every block's events and the staff's log-ins, in one time order, hash-chained."""
    rng = random.Random(net.shape.seed)
    logins = []
    for member in net.staff:
        if member.role == Role.ADMIN:
            continue
        for day in range(LOGIN_DAYS):
            at = net.now - timedelta(days=day * 365 / LOGIN_DAYS, hours=rng.uniform(0, 3))
            logins.append(
                hashable(at, member.id, "login_success", "User", str(member.id), None, None)
            )
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


# row_hash's canonical JSON: keys sorted, no spaces, text as it is.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
# What that encoder writes for a text (with ensure_ascii off), called directly.
_ENCODE_TEXT = json.encoder.encode_basestring


def _scalar(value) -> str:
    """`_ENCODE` of a text, a whole number or None without the encoder's Python-level call:
    five per event, they were a tenth of the building process's time."""
    if value is None:
        return "null"
    if type(value) is str:
        return _ENCODE_TEXT(value)
    if type(value) is int:
        return int.__repr__(value)
    return _ENCODE(value)


CONTEXT = "web"
REMOTE_ADDR = "10.0.0.10"


def hashable(at, actor_id, action, object_type, object_id, patient_id, changes) -> tuple:
    """An event as the chain needs it: its time as `row_hash` writes it (which also sorts as
    the times do); the canonical JSON `row_hash` hashes, before its changes and after them up
    to the previous row's hash; then the row's values, its changes as JSON. With the keys
    sorted, what follows the previous row's hash is the remote address, the request id and
    seq (`_chained`)."""
    at_text = at.astimezone(UTC).isoformat(timespec="microseconds")
    before = f'{{"action":{_scalar(action)},"actor_id":{_scalar(actor_id)},"at":"{at_text}",'
    after = (
        f'"context":"{CONTEXT}","detail":null,"object_id":{_scalar(object_id)},'
        f'"object_type":{_scalar(object_type)},"patient_id":{_scalar(patient_id)},"prev_hash":"'
    )
    changes_json = None if changes is None else _ENCODE(changes)
    return (
        at_text,
        before,
        after,
        actor_id,
        action,
        object_type,
        object_id,
        patient_id,
        changes_json,
    )


def _chained(net: Network, events: Iterable[tuple], head: dict) -> Iterator[tuple]:
    """Rows in chain order, each hashed over the previous one as `row_hash` hashes it; `head`
    gets the chain head's values once the last row is made."""
    prev, seq = GENESIS_HASH, 0
    sha256 = hashlib.sha256
    for (
        at_text,
        before,
        after,
        actor_id,
        action,
        object_type,
        object_id,
        patient_id,
        changes,
    ) in events:
        seq += 1
        request_id = f"{seq:032x}"
        hashed = (
            f'{before}"changes":{changes or "null"},{after}{prev}","remote_addr":"{REMOTE_ADDR}",'
            f'"request_id":"{request_id}","seq":{seq}}}'
        )
        row_hash = sha256(hashed.encode()).hexdigest()
        # SQLite's text for a UTC time; PostgreSQL reads the ISO text with its offset.
        at = f"{at_text[:10]} {at_text[11:26]}" if net.sqlite else at_text
        yield (
            seq,
            at,
            actor_id,
            CONTEXT,
            action,
            object_type,
            object_id,
            patient_id,
            changes,
            None,
            request_id,
            REMOTE_ADDR,
            prev,
            row_hash,
        )
        prev = row_hash
    head.update(last_seq=seq, last_hash=prev)
