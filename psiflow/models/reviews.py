"""Supervisor reviews of signed notes: the queue, co-signing, returning and re-submitting."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.domain.review import (
    Decision,
    ReviewRefused,
    resubmit_problems,
    review_problems,
)
from psiflow.domain.signing import Meaning, RecordStatus
from psiflow.extensions import db
from psiflow.models.courses import Course
from psiflow.models.patients import (
    Patient,
    caseload_filter,
    caseload_key,
    caseload_params,
    caseload_rule,
)
from psiflow.models.records import (
    RECORD_TYPES,
    Addendum,
    ClinicalRecord,
    Signature,
    sign_record,
)
from psiflow.models.statements import fixed, read_columns
from psiflow.models.types import UTCDateTime, enum_column, utcnow
from psiflow.models.users import User


class Review(db.Model):
    """A supervisor's decision on a signed note; a returned one stays open until re-submitted."""

    __tablename__ = "reviews"
    __table_args__ = (
        sa.Index("ix_reviews_record", "record_type", "record_id"),
        # The board's "notes returned to you": an author's returned notes not yet re-submitted.
        sa.Index("ix_reviews_returned", "author_id", "decision", "resubmitted_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    record_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    record_id: so.Mapped[int]
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    # The note's author, so their dashboard finds returned notes without touching every type.
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    reviewer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    decision: so.Mapped[Decision] = so.mapped_column(enum_column(Decision))
    comments: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # {adherence item id: Fidelity value}; trainee records only.
    fidelity: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    decided_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    resubmitted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)

    course: so.Mapped[Course] = so.relationship()
    reviewer: so.Mapped[User] = so.relationship(foreign_keys=[reviewer_id])
    author: so.Mapped[User] = so.relationship(foreign_keys=[author_id])

    @property
    def is_open_return(self) -> bool:
        return self.decision == Decision.RETURNED and self.resubmitted_at is None

    @property
    def record(self) -> ClinicalRecord | None:
        model = RECORD_TYPES.get(self.record_type)
        return db.session.get(model, self.record_id) if model else None


def reviews_of(record: ClinicalRecord) -> list[Review]:
    return db.session.scalars(
        sa.select(Review)
        .where(Review.record_type == record.record_type, Review.record_id == record.id)
        .options(so.joinedload(Review.reviewer))
        .order_by(Review.decided_at, Review.id)
    ).all()


def open_return(record: ClinicalRecord) -> Review | None:
    return next((r for r in reviews_of(record) if r.is_open_return), None)


def _problems(
    record: ClinicalRecord, reviewer: User, decision: Decision, comments: str, fidelity: dict | None
) -> list[str]:
    return review_problems(
        decision=decision,
        reviewer_id=reviewer.id,
        author_supervisor_id=record.author.supervisor_id,
        reviewer_allowed=record.may_review(reviewer),
        reviewer_refusal=record.reviewer_rule,
        due=record.review_due(),
        waits_for=record.review_waits_for() if record.is_signed else None,
        record_type=record.record_type,
        signed=record.is_signed,
        cosigned=record.status == RecordStatus.COSIGNED,
        voided=record.is_voided,
        needs_cosign=record.needs_cosign,
        returned_open=open_return(record) is not None,
        comments=comments,
        fidelity=fidelity,
        adherence_ids=[a.id for a in record.course.protocol.adherence_items],
    )


def review_record(
    record: ClinicalRecord,
    reviewer: User,
    decision: Decision,
    *,
    comments: str = "",
    fidelity: dict | None = None,
    now: datetime | None = None,
) -> Review:
    """Co-sign (a REVIEWED signature) or return a note; raises ReviewRefused."""
    now = now or utcnow()
    problems = _problems(record, reviewer, decision, comments, fidelity)
    if problems:
        raise ReviewRefused(problems)
    if decision == Decision.COSIGNED:
        sign_record(record, reviewer, Meaning.REVIEWED, now=now)
    review = Review(
        record_type=record.record_type,
        record_id=record.id,
        course_id=record.course_id,
        author_id=record.author_id,
        reviewer_id=reviewer.id,
        decision=decision,
        comments=comments.strip(),
        fidelity=dict(fidelity) if fidelity else None,
        decided_at=now,
    )
    db.session.add(review)
    return review


def resubmit(record: ClinicalRecord, user: User, now: datetime | None = None) -> Review:
    """The author sends a returned note back into the queue after answering it."""
    returned = open_return(record)
    addenda = db.session.execute(
        sa.select(Addendum.author_id, Addendum.created_at).where(
            Addendum.record_type == record.record_type, Addendum.record_id == record.id
        )
    ).all()
    problems = resubmit_problems(
        user_id=user.id,
        author_id=record.author_id,
        returned_open=returned is not None,
        returned_at=returned.decided_at if returned else None,
        addenda=addenda,
    )
    if problems:
        raise ReviewRefused(problems)
    returned.resubmitted_at = now or utcnow()
    return returned


# --- the queue ------------------------------------------------------------------------------


def _signed_awaiting(model, supervisor_id) -> list[sa.Select]:
    """One record type's signed notes by this supervisor's supervisees that still need a
    review, as (record_type, record_id, course_id): a statement per way such a note comes to
    wait (`review_due_sql`; they never overlap). Table columns, not mapped attributes: the
    queue builds these for eight types per request and mapped attributes cost far more."""
    t = model.__table__
    authors = User.__table__
    signed = [
        authors.c.supervisor_id == supervisor_id,
        t.c.status == fixed(t.c.status, RecordStatus.SIGNED),
        t.c.voided_at.is_(None),
    ]
    return [
        sa.select(
            sa.literal(model.record_type, sa.String(40), literal_execute=True).label("record_type"),
            t.c.id.label("record_id"),
            t.c.course_id.label("course_id"),
            t.c.needs_cosign.label("needs_cosign"),
            authors.c.name.label("author_name"),
        )
        .select_from(
            # A join, not `author_id IN (...)`: SQLite then starts from the supervisees and each
            # one's review-state index instead of every signature of the type.
            t.join(authors, authors.c.id == t.c.author_id)
        )
        .where(*signed, waits)
        for waits in model.review_due_sql(t)
    ]


def _awaiting(supervisor: User):
    """Notes awaiting this supervisor's review, as (record_type, record_id, signed_at,
    course_id, ...)."""
    # One parameter shared by the eight tables, rather than eight to build.
    return _awaiting_for(sa.bindparam("supervisor_id", supervisor.id), caseload_filter(supervisor))


# The course and patient a queued note shows: apart from those the caseload is asked of.
_QUEUED_COURSE = so.aliased(Course, name="queued_course")
_QUEUED_PATIENT = so.aliased(Patient, name="queued_patient")


def _awaiting_for(supervisor_id, caseload):
    """The record tables give only their candidate ids, and the signature, the open return
    and the caseload are checked once over their union, not once per table."""
    queued = sa.union_all(
        *[
            awaiting
            for model in RECORD_TYPES.values()
            for awaiting in _signed_awaiting(model, supervisor_id)
        ]
    ).subquery()
    open_return_exists = (
        sa.select(Review.id)
        .where(
            Review.record_type == queued.c.record_type,
            Review.record_id == queued.c.record_id,
            Review.decision == fixed(Review.decision, Decision.RETURNED),
            Review.resubmitted_at.is_(None),
        )
        .exists()
    )
    # The caseload is asked of each note's own course, not of the patients joined for their
    # names: a caseload condition on the joined patients led SQLite to build a Bloom filter
    # over every patient of the clinic on each visit (nine tenths of the statement's work).
    in_caseload = (
        sa.select(Patient.id)
        .join(Course, Course.patient_id == Patient.id)
        .where(Course.id == queued.c.course_id, caseload)
        .exists()
    )
    course, patient = _QUEUED_COURSE, _QUEUED_PATIENT
    return (
        sa.select(
            queued.c.record_type,
            queued.c.record_id,
            Signature.signed_at,
            queued.c.course_id,
            queued.c.needs_cosign,
            queued.c.author_name,
            patient.display_name.label("patient_name"),
            patient.is_practice,
        )
        .join(
            Signature,
            sa.and_(
                Signature.record_type == queued.c.record_type,
                Signature.record_id == queued.c.record_id,
                Signature.meaning == fixed(Signature.meaning, Meaning.AUTHORED),
            ),
        )
        .join(course, course.id == queued.c.course_id)
        .join(patient, patient.id == course.patient_id)
        .where(~open_return_exists, in_caseload)
    )


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A note in the review queue, as its row shows it."""

    record_type: str
    record_id: int
    signed_at: datetime
    patient_name: str
    is_practice: bool
    author_name: str
    needs_cosign: bool

    @property
    def record_label(self) -> str:
        return RECORD_TYPES[self.record_type].record_label


def _queued(role, active: bool):
    return _awaiting_for(
        sa.bindparam("supervisor_id", type_=sa.Integer, required=True),
        caseload_rule(role, active),
    ).subquery()


@functools.cache  # built once: building it and its cache key took 3.3 ms a visit
def _queue_statement(role, active: bool):
    """A page of the queue with the whole queue's length: built once per role, since the
    eight-table union cost more to build than to run (parameters: `_queue_params`)."""
    queued = _queued(role, active)
    return (
        sa.select(
            *(queued.c[f.name] for f in fields(QueueRow)),
            sa.func.count().over().label("total"),
        )
        .order_by(queued.c.signed_at, queued.c.record_type, queued.c.record_id)
        .limit(sa.bindparam("limit", type_=sa.Integer, required=True))
        .offset(sa.bindparam("offset", type_=sa.Integer, required=True))
    )


@functools.cache  # as the queue's: counted on every supervisor's board, built once per role
def _count_statement(role, active: bool):
    return sa.select(sa.func.count()).select_from(_queued(role, active))


def _queue_params(supervisor: User, **more) -> dict:
    return {"supervisor_id": supervisor.id, **caseload_params(supervisor), **more}


def awaiting_review_page(supervisor: User, limit: int, offset: int) -> tuple[list[QueueRow], int]:
    """Rows of the queue, oldest signature first, and how many notes wait in all (one
    statement; a page past the end counts the queue again)."""
    key = caseload_key(supervisor)
    rows = read_columns(
        _queue_statement(*key), _queue_params(supervisor, limit=limit, offset=offset)
    ).all()
    total = rows[0].total if rows else awaiting_review_count(supervisor)
    return [QueueRow(*row[:-1]) for row in rows], total


def awaiting_review_count(supervisor: User) -> int:
    """How many notes wait for the supervisor's review, as the queue counts them (one
    statement)."""
    return read_columns(
        _count_statement(*caseload_key(supervisor)), _queue_params(supervisor)
    ).scalar_one()


def awaiting_review_query(supervisor: User):
    """Every record type's notes awaiting review, oldest signature first (one statement)."""
    queued = _awaiting(supervisor).subquery()
    return sa.select(queued.c.record_type, queued.c.record_id, queued.c.signed_at).order_by(
        queued.c.signed_at, queued.c.record_type, queued.c.record_id
    )


@dataclass(frozen=True, slots=True)
class ReturnedNote:
    """A note returned to its author, as the board lists it."""

    record_type: str
    record_id: int
    patient_name: str
    reviewer_name: str
    decided_at: datetime
    comments: str


# On every caseload board: built once, the author and the limit bound at each execution. The
# row's columns, not reviews with their course, patient and reviewer: setting up the joined
# loads cost more than the statement, and most boards list no returned note.
_Reviewer = so.aliased(User)
_RETURNED_TO = (
    sa.select(
        Review.record_type,
        Review.record_id,
        Patient.display_name,
        _Reviewer.name,
        Review.decided_at,
        Review.comments,
    )
    .join(Course, Course.id == Review.course_id)
    .join(Patient, Patient.id == Course.patient_id)
    .join(_Reviewer, _Reviewer.id == Review.reviewer_id)
    .where(
        Review.author_id == sa.bindparam("author_id", type_=sa.Integer),
        Review.decision == Decision.RETURNED,
        Review.resubmitted_at.is_(None),
    )
    .order_by(Review.decided_at, Review.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


def returned_to(author: User, limit: int) -> list[ReturnedNote]:
    """Notes returned to this author and not yet re-submitted, oldest first."""
    rows = read_columns(_RETURNED_TO, {"author_id": author.id, "limit": limit})
    return [ReturnedNote(*row) for row in rows]


def oldest_waiting_by_course(supervisor: User, course_ids) -> dict[int, datetime]:
    """For the team table: when each course's oldest note awaiting review was signed."""
    if not course_ids:
        return {}
    rows = db.session.execute(
        _waiting_since_statement(*caseload_key(supervisor)),
        {"supervisor_id": supervisor.id, **caseload_params(supervisor)},
    )
    wanted = set(course_ids)
    return {course_id: since for course_id, since in rows if course_id in wanted}


@functools.cache  # built once: building it and its cache key took 5.6 ms a visit
def _waiting_since_statement(role, active: bool):
    """Each course's oldest note awaiting review, for any supervisor of this role: built once,
    as the queue's is. Grouped over the whole queue, which is short, and picked by the caller:
    narrowing each of the eight record tables to a page's courses costs more than it saves."""
    queued = _awaiting_for(
        sa.bindparam("supervisor_id", type_=sa.Integer, required=True),
        caseload_rule(role, active),
    ).subquery()
    return sa.select(queued.c.course_id, sa.func.min(queued.c.signed_at)).group_by(
        queued.c.course_id
    )
