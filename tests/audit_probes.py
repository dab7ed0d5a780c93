"""Record types that do not exist yet in the app, standing in for those other features will
add (a voidable clinical note and its signature), to prove the audit trail covers them with no
code of their own. Imported by the tests that use them, before the test database is built."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.extensions import db
from psiflow.models.types import UTCDateTime


class ProbeNote(db.Model):
    __tablename__ = "test_probe_notes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    voided_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    voided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    void_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)


class ProbeSignature(db.Model):
    __tablename__ = "test_probe_signatures"
    __audit_action__ = "sign"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    note_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("test_probe_notes.id"), index=True)
    printed_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    meaning: so.Mapped[str] = so.mapped_column(sa.String(20))
