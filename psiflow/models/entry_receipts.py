"""Receipts of entries sent from the session room, so a retry never records twice.

A tablet gives every entry a random key when it is made; it may send the entry more than once
(the connection dropped before the answer arrived, the page was locked, the queue retried).
The first send records the entry and this receipt in one transaction; a later send with the
same key records nothing and is answered as the first was.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.extensions import db
from psiflow.models.types import UTCDateTime, utcnow


class EntryReceipt(db.Model):
    __tablename__ = "entry_receipts"
    # A key is unique per user: two users' tablets cannot collide, nor read each other's answer.
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    key: so.Mapped[str] = so.mapped_column(sa.String(36))
    # Where the entry was sent: a key sent again to another address is refused, not replayed.
    endpoint: so.Mapped[str] = so.mapped_column(sa.String(80))
    path: so.Mapped[str] = so.mapped_column(sa.String(200))
    # What the first send answered: where it went back to and what it said there.
    location: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    message: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    category: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    # The row the entry created (its table and id), when it created one.
    entry_type: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    entry_id: so.Mapped[int | None] = so.mapped_column()
    made_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


_RECEIPT = sa.select(EntryReceipt).where(
    EntryReceipt.user_id == sa.bindparam("user_id"), EntryReceipt.key == sa.bindparam("key")
)


def receipt_for(user_id: int, key: str) -> EntryReceipt | None:
    return db.session.scalar(_RECEIPT, {"user_id": user_id, "key": key})
