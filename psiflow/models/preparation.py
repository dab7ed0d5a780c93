"""Everything before the first dosing session: screening, consent, set intake, preparation."""

from __future__ import annotations

import enum
import functools
from datetime import date, datetime, time

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.domain.signing import RecordStatus
from psiflow.extensions import db
from psiflow.models.alerts import AlertKind, close_resolved, raise_alert
from psiflow.models.courses import Course, fact_source
from psiflow.models.records import ClinicalRecord, record_counts
from psiflow.models.statements import COURSE_IDS
from psiflow.models.types import UTCDateTime, enum_column, utcnow
from psiflow.models.users import User


class Screening(ClinicalRecord, db.Model):
    """Medical and psychiatric screening against the protocol's contraindication checks."""

    __tablename__ = "screenings"
    record_type = "screening"
    record_label = "Screening"
    edit_endpoint = "preparation.edit_screening"

    medical_history: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    psychiatric_history: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    medications: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    # {check id: {"positive": bool, "detail": str}} for every check the protocol lists
    checks: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)

    def missing_for_signing(self) -> list[str]:
        missing = []
        if not (self.medical_history or "").strip():
            missing.append("Medical history")
        if not (self.psychiatric_history or "").strip():
            missing.append("Psychiatric history")
        unanswered = [
            c.label
            for c in self.course.protocol.contraindications
            if c.id not in (self.checks or {})
        ]
        if unanswered:
            missing.append("every contraindication check (" + ", ".join(unanswered) + ")")
        return missing

    def positive_checks(self) -> list[str]:
        return [cid for cid, answer in (self.checks or {}).items() if answer.get("positive")]

    def on_signed(self, signer) -> None:
        flags = raise_flags(self)
        if flags:
            raise_alert(
                self.course,
                AlertKind.SCREENING_FLAG,
                f"{len(flags)} contraindication flag(s) to review: "
                + ", ".join(f.label for f in flags),
                source=self,
                by=signer,
            )


class ScreeningFlag(db.Model):
    """A positive contraindication check: it blocks the course until a supervisor clears it."""

    __tablename__ = "screening_flags"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    screening_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("screenings.id"), index=True)
    check_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    label: so.Mapped[str] = so.mapped_column(sa.String(200))
    detail: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    raised_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    cleared_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    cleared_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    rationale: so.Mapped[str | None] = so.mapped_column(sa.Text)

    screening: so.Mapped[Screening] = so.relationship()
    cleared_by: so.Mapped[User | None] = so.relationship()


def raise_flags(screening: Screening) -> list[ScreeningFlag]:
    """One flag per positive check, raised when the screening is signed."""
    labels = {c.id: c.label for c in screening.course.protocol.contraindications}
    flags = [
        ScreeningFlag(
            course_id=screening.course_id,
            screening_id=screening.id,
            check_id=cid,
            label=labels.get(cid, cid),
            detail=(screening.checks[cid].get("detail") or "").strip(),
        )
        for cid in screening.positive_checks()
    ]
    db.session.add_all(flags)
    return flags


def clear_flag(flag: ScreeningFlag, by: User, rationale: str, now: datetime | None = None) -> None:
    rationale = rationale.strip()
    if flag.cleared_at is not None:
        raise ValueError("This flag is already cleared.")
    if not rationale:
        raise ValueError("Clearing a flag needs a written rationale.")
    flag.cleared_at = now or utcnow()
    flag.cleared_by_id = by.id
    flag.rationale = rationale
    still_open = db.session.scalar(
        sa.select(sa.func.count(ScreeningFlag.id)).where(
            ScreeningFlag.screening_id == flag.screening_id,
            ScreeningFlag.cleared_at.is_(None),
            ScreeningFlag.id != flag.id,
        )
    )
    if not still_open:
        close_resolved(
            flag.course_id,
            AlertKind.SCREENING_FLAG,
            flag.screening,
            by,
            f"Every contraindication flag of this screening is cleared (last by {by.name}).",
            now=flag.cleared_at,
        )


class Consent(ClinicalRecord, db.Model):
    __tablename__ = "consents"
    record_type = "consent"
    record_label = "Informed consent"
    edit_endpoint = "preparation.edit_consent"

    form_version: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    consented_on: so.Mapped[date | None]
    witness_name: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    capacity_confirmed: so.Mapped[bool] = so.mapped_column(default=False)
    risks_discussed: so.Mapped[bool] = so.mapped_column(default=False)
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    def missing_for_signing(self) -> list[str]:
        missing = []
        if not self.form_version.strip():
            missing.append("Consent form version")
        if self.consented_on is None:
            missing.append("Date of consent")
        if not self.witness_name.strip():
            missing.append("Witness")
        if not self.capacity_confirmed:
            missing.append("Capacity to consent confirmed")
        if not self.risks_discussed:
            missing.append("Risks discussed")
        return missing


class TouchChange(enum.StrEnum):
    AGREED = "agreed"
    CHANGED = "changed"
    WITHDRAWN = "withdrawn"


TOUCH_KINDS = (
    ("hand_holding", "Holding hands"),
    ("hand_on_shoulder", "Hand on shoulder or arm"),
    ("supportive_hug", "A supportive hug at the patient's request"),
    ("bodywork", "Focused bodywork (pressure on an area the patient names)"),
)


class TouchConsentEntry(db.Model):
    """Touch consent is a log, not a checkbox: it can change or be withdrawn at any time
    (Colorado Natural Medicine rules), and the live session shows the latest entry."""

    __tablename__ = "touch_consent_entries"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    recorded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    change: so.Mapped[TouchChange] = so.mapped_column(enum_column(TouchChange))
    agreed_touch: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    recorded_by: so.Mapped[User] = so.relationship()

    @property
    def agreed_labels(self) -> list[str]:
        labels = dict(TOUCH_KINDS)
        return [labels.get(k, k) for k in self.agreed_touch]


def current_touch_consent(course_id: int) -> TouchConsentEntry | None:
    return db.session.scalar(_current_touch_consent_query(), {"course_id": course_id})


@functools.cache  # built once: building it and its cache key took 0.074 ms a visit
def _current_touch_consent_query():
    return (
        sa.select(TouchConsentEntry)
        .where(TouchConsentEntry.course_id == sa.bindparam("course_id"))
        .order_by(TouchConsentEntry.recorded_at.desc(), TouchConsentEntry.id.desc())
        .limit(1)
    )


class SetIntake(ClinicalRecord, db.Model):
    """The patient's set: intention, expectations and what will help on the day."""

    __tablename__ = "set_intakes"
    record_type = "set_intake"
    record_label = "Set intake"
    edit_endpoint = "preparation.edit_set_intake"

    intention: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    expectations: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    hopes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    fears: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    emotional_readiness: so.Mapped[int | None]
    support_people: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    prior_experience: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    helps_when_distressed: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    touch_preferences: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    music_preferences: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    transport_plan: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # When the patient is picked up on the dosing day (clinic time): checked against the
    # earliest discharge, so nobody waits without a ride or leaves before the minimum.
    pickup_time: so.Mapped[time | None] = so.mapped_column(sa.Time)

    def content(self) -> dict:
        content = super().content()
        if content.get("pickup_time") is None:
            # Intakes signed before the pickup time was asked hash as they were signed.
            content.pop("pickup_time", None)
        return content

    def missing_for_signing(self) -> list[str]:
        missing = []
        if not self.intention.strip():
            missing.append("Intention in the patient's words")
        if self.emotional_readiness is None:
            missing.append("Emotional readiness (0-10)")
        if not self.transport_plan.strip():
            missing.append("Transport home plan")
        return missing


class PreparationSession(ClinicalRecord, db.Model):
    __tablename__ = "preparation_sessions"
    record_type = "preparation_session"
    record_label = "Preparation session"
    edit_endpoint = "preparation.edit_preparation_session"

    duration_minutes: so.Mapped[int | None]
    co_facilitator_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    topics: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    co_facilitator: so.Mapped[User | None] = so.relationship(foreign_keys=[co_facilitator_id])

    def missing_for_signing(self) -> list[str]:
        missing = []
        if not self.duration_minutes:
            missing.append("Duration")
        if not self.topics:
            missing.append("At least one preparation topic covered")
        if not self.notes.strip():
            missing.append("Session notes")
        return missing

    @property
    def topic_labels(self) -> list[str]:
        labels = {t.id: t.label for t in self.course.protocol.preparation_topics}
        return [labels.get(t, t) for t in self.topics]


# The forms the gate to dosing requires, in the order their drafts are listed.
_REQUIRED_FORMS = (Screening, Consent, SetIntake)


def _required_forms_statement():
    """The forms of these courses that were not voided, signed or not: one query for the three
    tables, since a board asks this of a hundred courses at once."""
    parts = [
        sa.select(
            model.course_id,
            sa.literal_column(str(index), sa.Integer).label("form"),
            model.id,
            model.status,
            model.needs_cosign,
            model.created_at,
            (model.intention if model is SetIntake else sa.null()).label("intention"),
            (model.transport_plan if model is SetIntake else sa.null()).label("transport_plan"),
        ).where(model.course_id.in_(COURSE_IDS), model.voided_at.is_(None))
        for index, model in enumerate(_REQUIRED_FORMS)
    ]
    union = sa.union_all(*parts).subquery()
    return sa.select(union).order_by(union.c.form, union.c.id)


_REQUIRED_FORMS_SQL = _required_forms_statement()
_OPEN_FLAGS_SQL = (
    sa.select(ScreeningFlag.course_id, sa.func.count())
    .join(Screening, Screening.id == ScreeningFlag.screening_id)
    .where(
        ScreeningFlag.course_id.in_(COURSE_IDS),
        ScreeningFlag.cleared_at.is_(None),
        Screening.voided_at.is_(None),
    )
    .group_by(ScreeningFlag.course_id)
)
_PREPARATION_SESSIONS_SQL = (
    sa.select(
        PreparationSession.course_id,
        sa.func.count(),
        sa.func.max(PreparationSession.occurred_at),
    )
    .where(PreparationSession.course_id.in_(COURSE_IDS), PreparationSession.counting())
    .group_by(PreparationSession.course_id)
)


@fact_source(
    "screening_signed",
    "consent_recorded",
    "uncleared_flags",
    "unsigned_required_forms",
    "set_intake_complete",
    "intention_written",
    "transport_arranged",
    "signed_preparation_sessions",
    "last_preparation_at",
    "planned_dosing_at",
)
def preparation_facts(courses: list[Course], connection=None) -> dict[int, dict]:
    connection = connection or db.session
    ids = {"course_ids": [c.id for c in courses]}
    facts: dict[int, dict] = {c.id: {} for c in courses}
    for (
        course_id,
        form,
        _id,
        status,
        needs_cosign,
        created_at,
        intention,
        transport,
    ) in connection.execute(_REQUIRED_FORMS_SQL, ids):
        f = facts[course_id]
        model = _REQUIRED_FORMS[form]
        if status == RecordStatus.DRAFT:
            f["unsigned_required_forms"] = (
                *f.get("unsigned_required_forms", ()),
                f"{model.record_label} (draft since {created_at:%Y-%m-%d})",
            )
        elif not record_counts(status, needs_cosign, voided=False):
            continue
        elif model is Screening:
            f["screening_signed"] = True
        elif model is Consent:
            f["consent_recorded"] = True
        else:
            f.update(
                set_intake_complete=True,
                intention_written=bool(intention.strip()),
                transport_arranged=bool(transport.strip()),
            )
    for course_id, n in connection.execute(_OPEN_FLAGS_SQL, ids):
        facts[course_id]["uncleared_flags"] = n
    for course_id, n, last in connection.execute(_PREPARATION_SESSIONS_SQL, ids):
        facts[course_id].update(signed_preparation_sessions=n, last_preparation_at=last)
    for course in courses:
        if course.planned_dosing_at is not None:
            facts[course.id]["planned_dosing_at"] = course.planned_dosing_at
    return facts
