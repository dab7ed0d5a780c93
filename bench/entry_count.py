"""After the write scenario: every entry a tablet was told was saved is in the database exactly
once, nothing else is, and each has its one creation event in the audit trail.

The rows are found by what a tablet knows of its entry, not by the receipts the app keeps
(those are what is under test): the session and the time the entry was made, which the app
stores as the reading's or the event's time when the facilitator leaves the time empty, and
which no two entries of one tablet share (bench/tablet.py). Only rows added after the
scenario began (ids past the marks taken before it) are counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from bench.tablet import RECORDED, Sent
from psiflow.models import AuditEvent, EntryReceipt, SessionEvent, VitalSign

# Each table an entry may land in, with the column that holds the time it was made and the
# name its creation event carries in the audit trail.
_TABLES = {
    "vital_signs": (VitalSign, VitalSign.taken_at),
    "session_events": (SessionEvent, SessionEvent.at),
}


@dataclass(frozen=True)
class Marks:
    """Where the tables ended before the scenario."""

    last_ids: dict[str, int]
    last_receipt_id: int
    last_audit_seq: int


def take_marks(engine: sa.Engine) -> Marks:
    with engine.connect() as conn:

        def last(column) -> int:
            return conn.scalar(sa.select(sa.func.coalesce(sa.func.max(column), 0)))

        return Marks(
            {table: last(model.id) for table, (model, _) in _TABLES.items()},
            last(EntryReceipt.id),
            last(AuditEvent.seq),
        )


@dataclass(frozen=True)
class EntryCount:
    entries: int  # distinct entries the tablets sent (one key each)
    sends: int  # every send, the same entry sent again included
    sent_again: int  # sends of an entry already sent (a lost answer, a retry in flight)
    acknowledged: int  # entries at least one of whose sends was answered "saved"
    failed_sends: int  # sends answered otherwise (an error, a refusal) or not at all
    stored: int  # rows the scenario added to its sessions
    lost: int  # acknowledged entries with no row
    duplicated: int  # rows beyond the first for one entry
    stored_unacknowledged: int  # rows of entries no send of which was answered "saved"
    unknown: int  # rows no tablet sent
    recorded_twice: int  # entries the server answered "recorded" (not "repeated") more than once
    receipts: int  # receipts the scenario added (one per stored entry)
    audited_once: int  # stored rows with exactly one creation event in the audit trail
    audit_events_missing: int
    audit_events_extra: int

    @property
    def clean(self) -> bool:
        return (
            self.lost == self.duplicated == self.unknown == self.recorded_twice == 0
            and self.audit_events_missing == self.audit_events_extra == 0
            and self.receipts == self.stored
        )

    def as_json(self) -> dict:
        return {**asdict(self), "clean": self.clean}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def count_entries(engine: sa.Engine, marks: Marks, ledger: list[Sent]) -> EntryCount:
    by_key: dict[str, list[Sent]] = {}
    for sent in ledger:
        by_key.setdefault(sent.key, []).append(sent)
    entry_of = {(s.table, s.session_id, _utc(s.made_at)): key for key, (s, *_) in by_key.items()}
    acknowledged = {key for key, sends in by_key.items() if any(s.succeeded for s in sends)}
    session_ids = sorted({s.session_id for s in ledger})

    rows_of: Counter = Counter()  # entry key -> rows found
    unknown = 0
    stored_ids: dict[str, set[int]] = {}
    with engine.connect() as conn:
        for table, (model, made_at) in _TABLES.items():
            found = conn.execute(
                sa.select(model.id, model.session_id, made_at).where(
                    model.id > marks.last_ids[table], model.session_id.in_(session_ids)
                )
            ).all()
            stored_ids[model.__name__] = {row.id for row in found}
            for row in found:
                key = entry_of.get((table, row.session_id, _utc(row[2])))
                if key is None:
                    unknown += 1
                else:
                    rows_of[key] += 1
        receipts = conn.scalar(
            sa.select(sa.func.count())
            .select_from(EntryReceipt)
            .where(EntryReceipt.id > marks.last_receipt_id)
        )
        created = Counter(
            (object_type, int(object_id))
            for object_type, object_id in conn.execute(
                sa.select(AuditEvent.object_type, AuditEvent.object_id).where(
                    AuditEvent.seq > marks.last_audit_seq,
                    AuditEvent.action == "create",
                    AuditEvent.object_type.in_(list(stored_ids)),
                )
            )
        )
    stored = [(name, row_id) for name, ids in stored_ids.items() for row_id in ids]
    return EntryCount(
        entries=len(by_key),
        sends=len(ledger),
        sent_again=len(ledger) - len(by_key),
        acknowledged=len(acknowledged),
        failed_sends=sum(1 for s in ledger if not s.succeeded),
        stored=len(stored),
        lost=sum(1 for key in acknowledged if rows_of[key] == 0),
        duplicated=sum(n - 1 for n in rows_of.values() if n > 1),
        stored_unacknowledged=sum(n for key, n in rows_of.items() if key not in acknowledged),
        unknown=unknown,
        recorded_twice=sum(
            1 for sends in by_key.values() if sum(s.receipt == RECORDED for s in sends) > 1
        ),
        receipts=receipts,
        audited_once=sum(1 for row in stored if created[row] == 1),
        audit_events_missing=sum(1 for row in stored if created[row] == 0),
        audit_events_extra=sum(n - 1 for n in created.values() if n > 1)
        + sum(n for row, n in created.items() if row not in set(stored)),
    )
