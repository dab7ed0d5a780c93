"""The audit trail: one append-only, hash-chained row per thing that happened to the record.

HIPAA 45 CFR 164.312(b) and 21 CFR 11.10(e) ask for a secure, computer-generated, time-stamped
trail that records who did what and does not obscure earlier entries. Rows are written only by
`psiflow.audit`; the ORM refuses to change or delete them, and each row's hash covers the
previous row's hash, so an edit or a gap made behind the application's back shows up in
`flask --app psiflow audit-verify`.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.extensions import db
from psiflow.models.types import UTCDateTime, utcnow

GENESIS_HASH = "0" * 64  # what the first row's `prev_hash` holds


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    # The position in the chain, assigned by the appender under the chain-head lock (never by a
    # database sequence), so positions have no gaps and a missing row is visible as one.
    seq: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    # No foreign key: the trail must stay writable and readable whatever happens to other tables.
    actor_id: so.Mapped[int | None] = so.mapped_column(index=True)
    context: so.Mapped[str] = so.mapped_column(sa.String(16))  # "web" or "cli"
    action: so.Mapped[str] = so.mapped_column(sa.String(32), index=True)
    object_type: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    object_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # The patient whose record this event touches; indexed with seq below, so a patient's
    # history is one index range scan in chain order.
    patient_id: so.Mapped[int | None]
    # {field: [old, new]} for data changes; old is null on create.
    changes: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    # Short, fixed context chosen by the code (the page viewed, why a log-in failed): never
    # free text a user typed.
    detail: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    request_id: so.Mapped[str | None] = so.mapped_column(sa.String(32), index=True)
    remote_addr: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    prev_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)

    __table_args__ = (sa.Index("ix_audit_events_patient_id_seq", "patient_id", "seq"),)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action} {self.object_type}:{self.object_id}>"


class AuditChainHead(db.Model):
    """One row: the newest position and hash of the chain.

    Appenders lock this row for the rest of their transaction, so two requests can never both
    append after the same row; it also lets verification notice rows cut off the end.
    """

    __tablename__ = "audit_chain_head"

    id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    last_seq: so.Mapped[int]
    last_hash: so.Mapped[str] = so.mapped_column(sa.String(64))


class AuditTrailIsAppendOnly(RuntimeError):
    pass


@sa.event.listens_for(AuditEvent, "before_update")
@sa.event.listens_for(AuditEvent, "before_delete")
def _refuse_change(_mapper, _connection, target):
    raise AuditTrailIsAppendOnly(f"audit event {target.seq} may not be changed or deleted")
