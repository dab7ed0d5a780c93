"""A trainee's practicum log: entries of hours, signed like every record in PsiFlow.

An entry is the trainee's own record, not a patient's: it belongs to the trainee, not to a
course, so its signatures and addenda are kept beside it (`practicum_signatures`,
`practicum_addenda`) with the same shape and the same rules as a clinical record's
(`domain.signing`: meaning, printed name, time, content hash; `signing_problems` decides who
may sign when). The trainee signs an entry as its author ("these hours are true"), which locks
it; their supervisor then signs it off (Meaning.REVIEWED), and only then do its hours count. A
signed entry changes only by addendum; an entry in error is voided with a reason and stays
visible; nothing is deleted.

What an entry may point at: the trainee's own practice dosing sessions (fictional patients),
never a real patient's record (see `domain.practicum.entry_errors`).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.domain.practicum import LoggedEntry, PracticumKind
from psiflow.domain.signing import (
    Meaning,
    RecordStatus,
    SigningRefused,
    addendum_hash,
    content_hash,
    signing_problems,
)
from psiflow.extensions import db
from psiflow.models.courses import Course
from psiflow.models.dosing import DosingSession
from psiflow.models.patients import Patient
from psiflow.models.records import RecordLocked
from psiflow.models.types import UTCDateTime, enum_column, utcnow
from psiflow.models.users import User

RECORD_TYPE = "practicum_entry"  # what the content hash names the entry as
_MUTABLE_AFTER_SIGNING = frozenset(
    {"status", "version", "updated_at", "voided_at", "voided_by_id", "void_reason"}
)

practicum_entry_sessions = sa.Table(
    "practicum_entry_sessions",
    db.metadata,
    sa.Column("entry_id", sa.ForeignKey("practicum_entries.id"), primary_key=True),
    sa.Column("dosing_session_id", sa.ForeignKey("dosing_sessions.id"), primary_key=True),
    sa.Index("ix_practicum_entry_sessions_dosing_session_id", "dosing_session_id"),
)


class PracticumEntry(db.Model):
    __tablename__ = "practicum_entries"
    __table_args__ = (sa.Index("ix_practicum_entries_trainee_day", "trainee_id", "occurred_on"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    trainee_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: so.Mapped[PracticumKind] = so.mapped_column(enum_column(PracticumKind))
    occurred_on: so.Mapped[date]
    duration_minutes: so.Mapped[int]
    # The protocol practised or observed (a catalogue id, never a patient's course).
    protocol_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    status: so.Mapped[RecordStatus] = so.mapped_column(
        enum_column(RecordStatus), default=RecordStatus.DRAFT, active_history=True
    )
    voided_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    voided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    void_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    version: so.Mapped[int] = so.mapped_column(default=1)

    trainee: so.Mapped[User] = so.relationship(foreign_keys=[trainee_id])
    sessions: so.Mapped[list[DosingSession]] = so.relationship(
        secondary=practicum_entry_sessions, order_by=DosingSession.occurred_at
    )

    __mapper_args__ = {"version_id_col": version}

    record_type = RECORD_TYPE
    record_label = "Practicum entry"

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None

    @property
    def is_signed(self) -> bool:
        return self.status != RecordStatus.DRAFT

    @property
    def is_signed_off(self) -> bool:
        return self.status == RecordStatus.COSIGNED

    @property
    def counts(self) -> bool:
        return self.is_signed_off and not self.is_voided

    def content(self, session_ids: list[int]) -> dict:
        """What a signature binds: the entry as typed and the sessions it names."""
        return {
            "trainee_id": self.trainee_id,
            "kind": self.kind,
            "occurred_on": self.occurred_on,
            "duration_minutes": self.duration_minutes,
            "protocol_id": self.protocol_id,
            "description": self.description,
            "session_ids": sorted(session_ids),
        }

    def current_hash(self, session_ids: list[int]) -> str:
        return content_hash(RECORD_TYPE, self.id, self.content(session_ids))


class PracticumSignature(db.Model):
    """A signature on a practicum entry: the same fields as a clinical record's `Signature`."""

    __tablename__ = "practicum_signatures"
    __audit_action__ = "sign"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    entry_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("practicum_entries.id"), index=True)
    signer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    printed_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    meaning: so.Mapped[Meaning] = so.mapped_column(enum_column(Meaning))
    signed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    content_hash: so.Mapped[str] = so.mapped_column(sa.String(64))


class PracticumAddendum(db.Model):
    __tablename__ = "practicum_addenda"
    __audit_action__ = "addendum"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    entry_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("practicum_entries.id"), index=True)
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    printed_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    content_hash: so.Mapped[str] = so.mapped_column(sa.String(64))


# --- reading (one query each, whatever the length of the log) --------------------------------


def practice_sessions_of(trainee: User) -> list[sa.Row]:
    """The trainee's own practice dosing sessions an entry may name: (id, occurred_at,
    protocol_id, patient name), newest first. Practice patients only, so nothing real is
    ever offered, whatever the trainee's other relationships."""
    return db.session.execute(
        sa.select(
            DosingSession.id,
            DosingSession.occurred_at,
            Course.protocol_id,
            Patient.display_name,
        )
        .join(Course, Course.id == DosingSession.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .where(
            Patient.is_practice.is_(True),
            sa.or_(
                Patient.lead_clinician_id == trainee.id,
                Patient.co_facilitator_id == trainee.id,
            ),
            DosingSession.voided_at.is_(None),
        )
        .order_by(DosingSession.occurred_at.desc(), DosingSession.id.desc())
    ).all()


def entries_query(trainee_id: int) -> sa.Select:
    """The log, newest first (for a page of it: `db.paginate`)."""
    return (
        sa.select(PracticumEntry)
        .where(PracticumEntry.trainee_id == trainee_id)
        .order_by(PracticumEntry.occurred_on.desc(), PracticumEntry.id.desc())
    )


def entries_of(trainee_id: int) -> list[PracticumEntry]:
    """The whole log, newest first."""
    return list(db.session.scalars(entries_query(trainee_id)))


def logged_entries(trainee_ids: list[int]) -> dict[int, list[LoggedEntry]]:
    """What the totals read, for several trainees in one query: kind, minutes, signed off;
    voided entries left out."""
    found: dict[int, list[LoggedEntry]] = {t: [] for t in trainee_ids}
    if not trainee_ids:
        return found
    rows = db.session.execute(
        sa.select(
            PracticumEntry.trainee_id,
            PracticumEntry.kind,
            PracticumEntry.duration_minutes,
            PracticumEntry.status,
        ).where(PracticumEntry.trainee_id.in_(trainee_ids), PracticumEntry.voided_at.is_(None))
    )
    for trainee_id, kind, minutes, status in rows:
        found[trainee_id].append(LoggedEntry(kind, minutes, status == RecordStatus.COSIGNED))
    return found


def awaiting_sign_off(trainee_ids: list[int]) -> dict[int, int]:
    """How many entries each trainee has signed that wait for their supervisor."""
    if not trainee_ids:
        return {}
    rows = db.session.execute(
        sa.select(PracticumEntry.trainee_id, sa.func.count())
        .where(
            PracticumEntry.trainee_id.in_(trainee_ids),
            PracticumEntry.status == RecordStatus.SIGNED,
            PracticumEntry.voided_at.is_(None),
        )
        .group_by(PracticumEntry.trainee_id)
    )
    return dict(rows.all())


def linked_sessions(entries) -> dict[int, list[sa.Row]]:
    """Each entry's named sessions (id, occurred_at, protocol_id), for many entries at once."""
    ids = [e.id for e in entries]
    found: dict[int, list] = {i: [] for i in ids}
    if not ids:
        return found
    link = practicum_entry_sessions.c
    rows = db.session.execute(
        sa.select(link.entry_id, DosingSession.id, DosingSession.occurred_at, Course.protocol_id)
        .join(DosingSession, DosingSession.id == link.dosing_session_id)
        .join(Course, Course.id == DosingSession.course_id)
        .where(link.entry_id.in_(ids))
        .order_by(DosingSession.occurred_at)
    )
    for entry_id, *session in rows:
        found[entry_id].append(session)
    return found


def session_ids_of(entry: PracticumEntry) -> list[int]:
    link = practicum_entry_sessions.c
    return list(
        db.session.scalars(sa.select(link.dosing_session_id).where(link.entry_id == entry.id))
    )


def signatures_of(entries) -> dict[int, list[PracticumSignature]]:
    return _by_entry(PracticumSignature, entries)


def addenda_of(entries) -> dict[int, list[PracticumAddendum]]:
    return _by_entry(PracticumAddendum, entries)


def _by_entry(model, entries) -> dict[int, list]:
    ids = [e.id for e in entries]
    found: dict[int, list] = {i: [] for i in ids}
    if ids:
        for row in db.session.scalars(
            sa.select(model).where(model.entry_id.in_(ids)).order_by(model.id)
        ):
            found[row.entry_id].append(row)
    return found


# --- operations (the caller has checked access, validated the entry, and commits) ----------


def log_entry(trainee: User, **fields) -> PracticumEntry:
    session_ids = fields.pop("session_ids", [])
    entry = PracticumEntry(trainee_id=trainee.id, **fields)
    db.session.add(entry)
    db.session.flush()
    _set_sessions(entry, session_ids)
    return entry


def update_entry(entry: PracticumEntry, **fields) -> None:
    if entry.is_signed or entry.is_voided:
        raise RecordLocked("A signed or voided practicum entry is not edited.")
    session_ids = fields.pop("session_ids", [])
    for name, value in fields.items():
        setattr(entry, name, value)
    _set_sessions(entry, session_ids)


def _set_sessions(entry: PracticumEntry, session_ids) -> None:
    wanted = sorted(set(session_ids))
    entry.sessions = list(
        db.session.scalars(sa.select(DosingSession).where(DosingSession.id.in_(wanted)))
        if wanted
        else []
    )


def sign_entry(
    entry: PracticumEntry, signer: User, meaning: Meaning, now: datetime | None = None
) -> PracticumSignature:
    """The trainee signs as author (Meaning.AUTHORED) or the supervisor signs off
    (Meaning.REVIEWED); `domain.signing.signing_problems` decides, as for every record."""
    now = now or utcnow()
    db.session.flush()
    existing = signatures_of([entry])[entry.id]
    problems = signing_problems(
        status=entry.status,
        voided=entry.is_voided,
        meaning=meaning,
        signer_id=signer.id,
        author_id=entry.trainee_id,
        signer_is_care_team=False,
        already_signed_by={s.signer_id for s in existing},
        pair_signing=False,
    )
    if meaning not in (Meaning.AUTHORED, Meaning.REVIEWED):
        problems = ["A practicum entry is signed by its trainee, then signed off."]
    if problems:
        raise SigningRefused(problems)
    signature = PracticumSignature(
        entry_id=entry.id,
        signer_id=signer.id,
        printed_name=signer.name,
        meaning=meaning,
        signed_at=now,
        content_hash=entry.current_hash(session_ids_of(entry)),
    )
    db.session.add(signature)
    entry.status = RecordStatus.SIGNED if meaning == Meaning.AUTHORED else RecordStatus.COSIGNED
    return signature


def add_entry_addendum(
    entry: PracticumEntry, author: User, text: str, now: datetime | None = None
) -> PracticumAddendum:
    now = now or utcnow()
    text = (text or "").strip()
    if not text:
        raise SigningRefused(["An addendum needs text."])
    if not entry.is_signed:
        raise SigningRefused(["A draft is edited, not amended: addenda follow signing."])
    addendum = PracticumAddendum(
        entry_id=entry.id,
        author_id=author.id,
        printed_name=author.name,
        text=text,
        created_at=now,
        content_hash=addendum_hash(entry.current_hash(session_ids_of(entry)), text, author.id, now),
    )
    db.session.add(addendum)
    return addendum


def void_entry(entry: PracticumEntry, by: User, reason: str, now: datetime | None = None) -> None:
    reason = (reason or "").strip()
    if entry.is_voided:
        raise SigningRefused(["The entry is already voided."])
    if not reason:
        raise SigningRefused(["Voiding an entry needs a reason."])
    by_id, when = by.id, now or utcnow()
    entry.voided_at, entry.voided_by_id, entry.void_reason = when, by_id, reason


def signature_intact(signature: PracticumSignature, entry: PracticumEntry, session_ids) -> bool:
    return signature.content_hash == entry.current_hash(list(session_ids))


@sa.event.listens_for(so.Session, "before_flush")
def _refuse_changes_to_signed_entries(session, _context, _instances):
    for obj in session.dirty:
        if not isinstance(obj, PracticumEntry):
            continue
        state = sa.inspect(obj)
        history = state.attrs.status.history
        was = history.deleted[0] if history.deleted else obj.status
        if was == RecordStatus.DRAFT:
            continue
        if obj.status == RecordStatus.DRAFT:
            raise RecordLocked("A signed practicum entry cannot return to draft.")
        changed = [
            a.key
            for a in state.mapper.column_attrs
            if a.key not in _MUTABLE_AFTER_SIGNING and state.attrs[a.key].history.has_changes()
        ]
        if changed or state.attrs.sessions.history.has_changes():
            raise RecordLocked(
                "The practicum entry is signed: change it with an addendum, not an edit."
            )
    for obj in session.deleted:
        if isinstance(obj, PracticumEntry | PracticumSignature | PracticumAddendum):
            raise RecordLocked("Practicum entries are never deleted; void them with a reason.")
