"""What every clinical record shares: authorship, status, signatures, addenda, voiding.

A record type is a model that mixes in `ClinicalRecord`. Once signed, its content is locked
in code as well as in the UI (a flush that changes it raises `RecordLocked`); a change after
signing is an `Addendum`. Nothing is ever deleted: a record entered in error is voided with a
reason and stays visible as voided, and it stops counting for gates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow import access
from psiflow.domain.review import needs_review
from psiflow.domain.signing import (
    Meaning,
    RecordStatus,
    SigningRefused,
    addendum_hash,
    content_hash,
    signing_problems,
)
from psiflow.extensions import db
from psiflow.models.statements import COURSE_IDS, read_columns
from psiflow.models.types import UTCDateTime, enum_column, utcnow
from psiflow.models.users import User

RECORD_TYPES: dict[str, type[ClinicalRecord]] = {}

# Columns that may change after signing: the workflow around the content, never the content.
_MUTABLE_AFTER_SIGNING = frozenset(
    {"status", "version", "updated_at", "voided_at", "voided_by_id", "void_reason"}
)


def record_counts(status, needs_cosign: bool, voided: bool) -> bool:
    """A record counts toward gates and outcomes once signed, not voided, and co-signed where
    it needs to be (a trainee's). Kept apart so column-only queries apply the same rule."""
    if voided or status in (None, RecordStatus.DRAFT):
        return False
    return not needs_cosign or status == RecordStatus.COSIGNED


class RecordLocked(RuntimeError):
    """Someone tried to change a signed record's content."""


class RecordState:
    """A record's signing state, read from its `status`, `needs_cosign` and `voided_at`: for
    whole records and for the column-only lines that lists read."""

    __slots__ = ()

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None

    @property
    def is_signed(self) -> bool:
        return self.status not in (None, RecordStatus.DRAFT)

    @property
    def counts(self) -> bool:
        """Whether this record counts toward gates and outcomes."""
        return record_counts(self.status, self.needs_cosign, self.is_voided)


class ClinicalRecord(RecordState):
    """Mixin for every clinical record that belongs to a course."""

    record_type: ClassVar[str]  # URL and audit name, e.g. "screening"
    record_label: ClassVar[str]  # what clinicians call it, e.g. "Screening"
    pair_signing: ClassVar[bool] = False  # a second facilitator co-signs (dosing sessions)
    edit_endpoint: ClassVar[str | None] = (
        None  # where a draft is edited (view args: record_type, record_id)
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    occurred_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # active_history: the lock needs the stored status even when the attribute was expired.
    status: so.Mapped[RecordStatus] = so.mapped_column(
        enum_column(RecordStatus), default=RecordStatus.DRAFT, active_history=True
    )
    # A trainee's record counts for nothing until a supervisor co-signs it.
    needs_cosign: so.Mapped[bool] = so.mapped_column(default=False)
    voided_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    void_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    version: so.Mapped[int] = so.mapped_column(default=1)

    @so.declared_attr
    def course_id(cls) -> so.Mapped[int]:
        return so.mapped_column(sa.ForeignKey("courses.id"), index=True)

    @so.declared_attr
    def author_id(cls) -> so.Mapped[int]:
        return so.mapped_column(sa.ForeignKey("users.id"), index=True)

    @so.declared_attr
    def voided_by_id(cls) -> so.Mapped[int | None]:
        return so.mapped_column(sa.ForeignKey("users.id"))

    @so.declared_attr
    def course(cls):
        return so.relationship("Course")

    @so.declared_attr
    def author(cls):
        return so.relationship("User", foreign_keys=[cls.author_id])

    @so.declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)  # maps the class: its table exists from here on
        if "record_type" in cls.__dict__:
            RECORD_TYPES[cls.record_type] = cls
            # The review queue asks each record table for an author's signed records that
            # await review: with this index it reads those few, not every record the team
            # ever wrote (a 10,000-patient network: the queue went from ~45 ms of SQL to ~1).
            table = cls.__table__
            sa.Index(
                f"ix_{table.name}_review_state",
                table.c.author_id,
                table.c.status,
                table.c.needs_cosign,
            )

    # --- what a record type provides -----------------------------------------------------

    def content(self) -> dict:
        """The fields a signature binds: every column but the workflow ones."""
        mapper = sa.inspect(type(self))
        return {
            c.key: getattr(self, c.key)
            for c in mapper.column_attrs
            if c.key not in _MUTABLE_AFTER_SIGNING and c.key not in {"needs_cosign"}
        }

    def missing_for_signing(self) -> list[str]:
        """What must be completed before the author may sign (none by default)."""
        return []

    def may_co_facilitate(self, user) -> bool:
        """Whether `user` was there to co-sign as the second facilitator (see pair_signing)."""
        return True

    def on_signed(self, signer) -> None:
        """What signing sets in motion for this record type (e.g. raising screening flags)."""

    # --- supervisor review ---------------------------------------------------------------

    @classmethod
    def review_due_sql(cls, table) -> list[sa.ColumnElement[bool]]:
        """The SQL twin of `review_due`, over this type's table (the review queue): each way a
        signed record comes to await review, as its own condition. The queue asks them apart
        and adds up what they find: an index searches each one, where their OR made the
        database read every record the author ever signed."""
        if needs_review(cls.record_type, False):
            return [sa.true()]
        return [table.c.needs_cosign.is_(True)]

    def review_due(self) -> bool:
        """Whether this signed record goes to the supervisor's review queue."""
        return needs_review(self.record_type, self.needs_cosign)

    def review_waits_for(self) -> str | None:
        """What must happen before a supervisor reviews it (None: nothing)."""
        return None

    reviewer_rule: ClassVar[str] = "Only the author's own supervisor reviews this note."

    def may_review(self, reviewer) -> bool:
        """Whether `reviewer` is the supervisor who reviews this record: the author's own."""
        return self.author.supervisor_id == reviewer.id

    # --- state ---------------------------------------------------------------------------

    @classmethod
    def counting(cls) -> sa.ColumnElement[bool]:
        """The SQL twin of `counts`, for queries over many records."""
        return sa.and_(
            cls.voided_at.is_(None),
            cls.status != RecordStatus.DRAFT,
            sa.or_(cls.needs_cosign.is_(False), cls.status == RecordStatus.COSIGNED),
        )

    def current_hash(self) -> str:
        return content_hash(self.record_type, self.id, self.content())


class Signature(db.Model):
    __tablename__ = "signatures"
    __table_args__ = (sa.Index("ix_signatures_record", "record_type", "record_id"),)
    __audit_action__ = "sign"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    record_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    record_id: so.Mapped[int]
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    signer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    printed_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    meaning: so.Mapped[Meaning] = so.mapped_column(enum_column(Meaning))
    signed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    content_hash: so.Mapped[str] = so.mapped_column(sa.String(64))

    signer: so.Mapped[User] = so.relationship()


class Addendum(db.Model):
    __tablename__ = "addenda"
    __table_args__ = (sa.Index("ix_addenda_record", "record_type", "record_id"),)
    __audit_action__ = "addendum"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    record_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    record_id: so.Mapped[int]
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    printed_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # Binds the addendum's text to the signed record it amends.
    content_hash: so.Mapped[str] = so.mapped_column(sa.String(64))

    author: so.Mapped[User] = so.relationship()


# --- operations (the caller has checked access and commits) --------------------------------


def sign_record(
    record: ClinicalRecord,
    signer: User,
    meaning: Meaning,
    *,
    signer_is_care_team: bool = True,
    now: datetime | None = None,
) -> Signature:
    now = now or utcnow()
    db.session.flush()  # column defaults (status draft) and the id the hash needs
    existing = signatures_for([record]).get((record.record_type, record.id), [])
    problems = signing_problems(
        status=record.status,
        voided=record.is_voided,
        meaning=meaning,
        signer_id=signer.id,
        author_id=record.author_id,
        signer_is_care_team=signer_is_care_team
        and (meaning != Meaning.CO_FACILITATED or record.may_co_facilitate(signer)),
        already_signed_by={s.signer_id for s in existing},
        pair_signing=record.pair_signing,
    )
    if not problems and meaning == Meaning.AUTHORED:
        problems = record.missing_for_signing()
    if problems:
        raise SigningRefused(problems)
    signature = Signature(
        record_type=record.record_type,
        record_id=record.id,
        course_id=record.course_id,
        signer_id=signer.id,
        printed_name=signer.name,
        meaning=meaning,
        signed_at=now,
        content_hash=record.current_hash(),
    )
    db.session.add(signature)
    if meaning == Meaning.AUTHORED:
        record.status = RecordStatus.SIGNED
        record.needs_cosign = access.needs_cosignature(signer.role)
        record.on_signed(signer)
    elif meaning == Meaning.REVIEWED:
        record.status = RecordStatus.COSIGNED
    return signature


def add_addendum(
    record: ClinicalRecord, author: User, text: str, now: datetime | None = None
) -> Addendum:
    now = now or utcnow()
    text = text.strip()
    if not text:
        raise SigningRefused(["An addendum needs text."])
    if not record.is_signed:
        raise SigningRefused(["A draft is edited, not amended: addenda follow signing."])
    addendum = Addendum(
        record_type=record.record_type,
        record_id=record.id,
        course_id=record.course_id,
        author_id=author.id,
        printed_name=author.name,
        text=text,
        created_at=now,
        content_hash=addendum_hash(record.current_hash(), text, author.id, now),
    )
    db.session.add(addendum)
    return addendum


def void_record(record: ClinicalRecord, by: User, reason: str, now: datetime | None = None) -> None:
    reason = reason.strip()
    if record.is_voided:
        raise SigningRefused(["The record is already voided."])
    if not reason:
        raise SigningRefused(["Voiding a record needs a reason."])
    # Read everything first: loading `by` mid-assignment would autoflush a half-made void
    # and the audit trail would show it as two changes.
    by_id, when = by.id, now or utcnow()
    record.voided_at, record.voided_by_id, record.void_reason = when, by_id, reason


def _by_record(model, records, *options) -> dict[tuple[str, int], list]:
    """Rows of `model` (Signature or Addendum) for many records, one query per record type."""
    found: dict[tuple[str, int], list] = {}
    by_type: dict[str, list[int]] = {}
    for r in records:
        if r.id is not None:
            by_type.setdefault(r.record_type, []).append(r.id)
    for record_type, ids in by_type.items():
        rows = db.session.scalars(
            sa.select(model)
            .where(model.record_type == record_type, model.record_id.in_(ids))
            .options(*options)
            .order_by(model.id)
        )
        for row in rows:
            found.setdefault((row.record_type, row.record_id), []).append(row)
    return found


def signatures_for(records) -> dict[tuple[str, int], list[Signature]]:
    return _by_record(Signature, records, so.joinedload(Signature.signer))


def addenda_for(records) -> dict[tuple[str, int], list[Addendum]]:
    return _by_record(Addendum, records)


def signature_intact(signature: Signature, record: ClinicalRecord) -> bool:
    """False when the record's content no longer matches what was signed."""
    return signature.content_hash == record.current_hash()


# --- lines: what lists read of records ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordLine(RecordState):
    """One line of a panel's record list: the few columns it shows, not the whole record
    (a long history lists hundreds of records whose text the page never shows)."""

    record_type: str
    id: int
    course_id: int
    occurred_at: datetime
    status: RecordStatus
    needs_cosign: bool
    voided_at: datetime | None
    author_name: str | None = None


def record_lines(models, course_ids, *, newest_first=False, author=False) -> list[RecordLine]:
    """The record lines of several record types for these courses in one query, ordered by
    when they occurred (ties by id), oldest first unless `newest_first`."""
    query = _record_lines_query(tuple(models), newest_first, author)
    return [RecordLine(*row) for row in read_columns(query, {"course_ids": list(course_ids)})]


@functools.cache  # built once: building it and its cache key took 0.32 ms a visit
def _record_lines_query(models: tuple, newest_first: bool, author: bool):
    # Of tables, not of mapped classes: the session runs a plain SQL statement without the
    # ORM's preparation of one, which took as long as SQLite answering it.
    users = User.__table__
    selects = []
    for model in models:
        table = model.__table__
        columns = [
            sa.literal(model.record_type).label("record_type"),
            table.c.id,
            table.c.course_id,
            table.c.occurred_at,
            table.c.status,
            table.c.needs_cosign,
            table.c.voided_at,
        ]
        query = sa.select(*columns, *([users.c.name] if author else []))
        if author:
            query = query.join(users, users.c.id == table.c.author_id)
        selects.append(query.where(table.c.course_id.in_(COURSE_IDS)))
    # Ordered by the columns' names, not through a subquery: building a subquery's columns
    # took a third of the time a long history spent on its preparation list.
    query = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    order = [query.selected_columns.occurred_at, query.selected_columns.id]
    if newest_first:
        order = [o.desc() for o in order]
    return query.order_by(*order)


@sa.event.listens_for(so.Session, "before_flush")
def _refuse_changes_to_signed_content(session, _context, _instances):
    for obj in session.dirty:
        if not isinstance(obj, ClinicalRecord):
            continue
        state = sa.inspect(obj)
        status_history = state.attrs.status.history
        was = status_history.deleted[0] if status_history.deleted else obj.status
        if was == RecordStatus.DRAFT:
            continue
        if obj.status == RecordStatus.DRAFT:
            raise RecordLocked(f"A signed {obj.record_label} cannot return to draft.")
        for attr in state.mapper.column_attrs:
            if attr.key in _MUTABLE_AFTER_SIGNING:
                continue
            if state.attrs[attr.key].history.has_changes():
                raise RecordLocked(
                    f"The {obj.record_label} is signed: change it with an addendum, not an edit."
                )
    for obj in session.deleted:
        if isinstance(obj, ClinicalRecord | Signature | Addendum):
            raise RecordLocked("Clinical records are never deleted; void them with a reason.")
