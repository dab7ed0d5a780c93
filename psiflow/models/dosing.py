"""The dosing session: the live record kept in the session room, and what belongs to it.

Everything entered during a session that two facilitators might enter at the same moment
(checklist ticks, doses, timeline events, vital signs, adverse events) is its own row, only
ever appended, so two tablets never overwrite each other. The few fields on the session row
itself (facilitators present, notes, discharge) are guarded by its `version` column.
"""

from __future__ import annotations

import enum
import functools
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow import access
from psiflow.domain import dosing as rules
from psiflow.domain import regulated, safety
from psiflow.domain import vitals as vital_rules
from psiflow.domain.dosing import DoseGiven, DoseKind, EventKind, Outcome, Relatedness
from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning, RecordStatus
from psiflow.extensions import db
from psiflow.models import deviations, rems
from psiflow.models.alerts import AlertKind, raise_alert
from psiflow.models.courses import Course, PhaseTransition, change_phase, fact_source
from psiflow.models.preparation import PreparationSession
from psiflow.models.records import ClinicalRecord, RecordLocked, Signature, record_counts
from psiflow.models.statements import COURSE_IDS, fixed
from psiflow.models.types import UTCDateTime, enum_column, utcnow
from psiflow.models.users import User


class SessionRefused(ValueError):
    """An entry the session cannot take; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str] | str):
        self.errors = errors if isinstance(errors, dict) else {"": errors}
        super().__init__("; ".join(self.errors.values()))


class AnswerKind(enum.StrEnum):
    CHECKLIST = "checklist"  # a setting-checklist item: done or not
    QUESTION = "question"  # a protocol session question: yes or no


class DosingSession(ClinicalRecord, db.Model):
    __tablename__ = "dosing_sessions"
    record_type = "dosing_session"
    record_label = "Dosing session"
    edit_endpoint = "sessions.live"
    # The review queue's second way in (`review_due_sql`): records awaiting attestation.
    __table_args__ = (
        sa.Index("ix_dosing_sessions_attestation_state", "author_id", "status", "attestation_due"),
    )

    # `occurred_at` is when the session was started: nothing in it can be earlier.
    facilitator_ids: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    discharged_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    ready_to_leave_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    discharge_criteria_met: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    accompanied_by: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    # The plan agreed in preparation, copied at discharge so the record shows what was agreed.
    transport_plan: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    left_as_planned: so.Mapped[bool | None]
    transport_deviation: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # An emergency end (e.g. a transfer to an emergency department): the session stops here,
    # whatever the minimum duration, and its record can be signed with the transfer in it.
    ended_early_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    emergency_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    transferred_to: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default="")
    transferred_by: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default="")
    notified: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    # Decided when the author signs (the facilitators present are locked from then on): whether
    # a second facilitator signs too. None: signed before that rule, when only protocols run
    # by a pair asked for it (`rules.second_signature_due` reads both).
    co_facilitator_signs: so.Mapped[bool | None]
    # Set when the author signs a real patient's record: it waits for the supervisor's
    # attestation (a REVIEWED signature). Records signed before this rule never waited.
    attestation_due: so.Mapped[bool] = so.mapped_column(default=False, server_default="0")

    @property
    def ended_early(self) -> bool:
        return self.ended_early_at is not None

    @property
    def pair_signing(self) -> bool:  # type: ignore[override]
        """Whether a second facilitator signs: whenever two were present (or the protocol runs
        a pair, MAPS: a therapist pair); the record is fully signed once both have."""
        if self.co_facilitator_signs is None and not self.is_signed:
            return rules.needs_second_signature(
                self.protocol.facilitators_required, len(self.facilitator_ids or [])
            )
        return rules.second_signature_due(
            self.co_facilitator_signs, self.protocol.facilitators_required
        )

    def on_signed(self, signer) -> None:
        # Read before writing: loading the patient must not flush the new status first (the
        # lock would then take these two workflow columns for edits of a signed record).
        with db.session.no_autoflush:
            pair = rules.needs_second_signature(
                self.protocol.facilitators_required, len(self.facilitator_ids or [])
            )
            # Practice patients' records reach the supervisor as trainee work (needs_cosign).
            real = not self.course.patient.is_practice
        self.co_facilitator_signs = pair
        self.attestation_due = real

    @classmethod
    def review_due_sql(cls, table) -> list[sa.ColumnElement[bool]]:
        """A dosing record waits for review when a trainee's (co-signature) or due for the
        supervisor's attestation, and only once every facilitator who signs has signed. The
        two ways apart, each searched by its index: records signed before attestations began
        stay signed and never wait, and a clinic keeps years of them."""
        co_signed = (
            sa.select(Signature.id)
            .where(
                Signature.record_type == fixed(Signature.record_type, cls.record_type),
                Signature.record_id == table.c.id,
                Signature.meaning == fixed(Signature.meaning, Meaning.CO_FACILITATED),
            )
            .exists()
        )
        pair_done = sa.or_(table.c.co_facilitator_signs.is_not(True), co_signed)
        return [
            sa.and_(table.c.needs_cosign.is_(True), pair_done),
            sa.and_(table.c.attestation_due.is_(True), table.c.needs_cosign.is_(False), pair_done),
        ]

    def review_due(self) -> bool:
        return self.needs_cosign or self.attestation_due

    reviewer_rule = (
        "Only a supervisor of the patient's care team who was not in the room attests this record."
    )

    def may_review(self, reviewer) -> bool:
        # The attestation is the care team's supervisor's (access.may_attest), and an
        # independent look: a supervisor who facilitated signed as a facilitator already.
        if reviewer.id in (self.facilitator_ids or []):
            return False
        return access.may_attest(reviewer, self.course.patient)

    def review_waits_for(self) -> str | None:
        """What must happen before the supervisor reviews this record (None: nothing)."""
        if not self.pair_signing:
            return None
        signed = db.session.scalar(
            sa.select(Signature.id).where(
                Signature.record_type == self.record_type,
                Signature.record_id == self.id,
                Signature.meaning == Meaning.CO_FACILITATED,
            )
        )
        return None if signed else "The second facilitator signs before the supervisor attests."

    @property
    def protocol(self):
        return self.course.protocol

    # --- what the session holds (one query each, whatever the number of rows) --------------

    def answer_rows(self) -> list[SessionAnswer]:
        return _rows(SessionAnswer, self.id, SessionAnswer.recorded_at, SessionAnswer.id)

    def doses(self) -> list[DoseAdministration]:
        return _rows(DoseAdministration, self.id, DoseAdministration.given_at)

    def events(self) -> list[SessionEvent]:
        return _rows(SessionEvent, self.id, SessionEvent.at, SessionEvent.id)

    def vitals(self) -> list[VitalSign]:
        return _rows(VitalSign, self.id, VitalSign.taken_at, VitalSign.id)

    def adverse_events(self) -> list[AdverseEvent]:
        return _rows(AdverseEvent, self.id, AdverseEvent.onset_at, AdverseEvent.id)

    def may_co_facilitate(self, user) -> bool:
        # Only someone recorded as present in the room confirms what happened in it.
        return user.id in (self.facilitator_ids or [])

    def facilitators(self) -> list[User]:
        if not self.facilitator_ids:
            return []
        users = db.session.scalars(sa.select(User).where(User.id.in_(self.facilitator_ids)))
        return sorted(users, key=lambda u: u.name)

    # --- the signing rule ----------------------------------------------------------------

    def missing_for_signing(self) -> list[str]:
        return self.gaps(self.answer_rows(), self.doses(), self.vitals())

    def gaps(self, answers, doses, vitals) -> list[str]:
        """What signing still needs, from rows the caller has already loaded."""
        state = current_answers(answers)
        gaps = rules.signing_gaps(
            self.protocol,
            done_items=_yes(state, AnswerKind.CHECKLIST),
            answered_questions={i for (k, i) in state if k == AnswerKind.QUESTION},
            doses=[d.given for d in doses],
            discharged_at=self.discharged_at,
            facilitators_present=len(self.facilitator_ids or []),
            unacknowledged_flags=sum(1 for v in vitals if v.needs_acknowledgement),
            ended_early=self.ended_early,
        )
        return gaps + blood_pressure_gaps(self, doses, vitals)

    def vitals_discharge_errors(self, vitals) -> list[str]:
        """Why the readings hold discharge, from rows the caller has already loaded."""
        return safety.vitals_discharge_errors(taken_readings(self.protocol, vitals))

    def content(self) -> dict:
        """The session row and every row entered in it: a signature binds them all."""
        content = super().content()
        # Workflow set at signing, not what the facilitators recorded.
        content.pop("co_facilitator_signs", None)
        content.pop("attestation_due", None)
        content["answers"] = [_columns(a) for a in self.answer_rows()]
        content["doses"] = [_columns(d) for d in self.doses()]
        content["events"] = [_columns(e, skip_empty=_MUSIC) for e in self.events()]
        content["vitals"] = [_columns(v, skip={"version"}) for v in self.vitals()]
        content["adverse_events"] = [_columns(a) for a in self.adverse_events()]
        # Only when there are some: the content of sessions signed without any stays the same.
        if found := deviations.deviations_of(self.id):
            content["dose_deviations"] = [_columns(d) for d in found]
        return content


def _rows(model, session_id: int, *order) -> list:
    # Who recorded each row is not joined in: signing and the gaps never read it, and the
    # session sheet loads the session's people once (`session_people`) instead of a user
    # per row.
    return list(db.session.scalars(_rows_query(model, order), {"session_id": session_id}))


@functools.cache  # built once per record type: building it and its key took 0.048 ms, 5 a page
def _rows_query(model, order: tuple):
    return sa.select(model).where(model.session_id == sa.bindparam("session_id")).order_by(*order)


def session_people(session: DosingSession) -> dict[int, User]:
    """Everyone a session's page names (its author, the facilitators present, whoever entered
    or acknowledged a row), in one query: rows then find who recorded them without a query."""
    named = [session.author_id, *(session.facilitator_ids or [])]
    users = db.session.scalars(_people_query(), {"session_id": session.id, "named": named})
    return {u.id: u for u in users}


@functools.cache  # built once: building it and its cache key took 0.32 ms a visit
def _people_query():
    session_id = sa.bindparam("session_id")
    entered = [
        sa.select(m.recorded_by_id).where(m.session_id == session_id)
        for m in (SessionAnswer, DoseAdministration, SessionEvent, VitalSign, AdverseEvent)
    ]
    entered.append(
        sa.select(VitalSign.acknowledged_by_id).where(
            VitalSign.session_id == session_id, VitalSign.acknowledged_by_id.is_not(None)
        )
    )
    # One list of ids, the named ones among them: with an OR of two lists the database read
    # every user of the network to test each against both.
    entered.append(sa.select(User.id).where(User.id.in_(sa.bindparam("named", expanding=True))))
    return sa.select(User).where(User.id.in_(sa.union(*entered)))


def _columns(obj, skip=frozenset(), skip_empty=frozenset()) -> dict:
    # `skip_empty`: columns added after records were signed; left out while empty, so what
    # those signatures bound hashes the same.
    return {
        c.key: value
        for c in sa.inspect(type(obj)).column_attrs
        if c.key not in skip
        and not ((value := getattr(obj, c.key)) in ("", None) and c.key in skip_empty)
    }


# What a music change carries besides its note (added after sessions were signed).
_MUSIC = frozenset({"playlist", "track"})


class _Entry:
    """Columns every row entered in a session shares: which session, who entered it and when."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    recorded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    @so.declared_attr
    def session_id(cls) -> so.Mapped[int]:
        return so.mapped_column(sa.ForeignKey("dosing_sessions.id"), index=True)

    @so.declared_attr
    def recorded_by_id(cls) -> so.Mapped[int]:
        return so.mapped_column(sa.ForeignKey("users.id"), index=True)

    @so.declared_attr
    def recorded_by(cls) -> so.Mapped[User]:
        return so.relationship(foreign_keys=[cls.recorded_by_id])

    @so.declared_attr
    def session(cls) -> so.Mapped[DosingSession]:
        return so.relationship(DosingSession)


class SessionAnswer(_Entry, db.Model):
    """One tick (or untick) of a checklist item, or one answer to a session question.

    The latest row per item is the current state; the earlier ones are its history.
    """

    __tablename__ = "session_answers"

    kind: so.Mapped[AnswerKind] = so.mapped_column(enum_column(AnswerKind, 16))
    item_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    value: so.Mapped[bool]


class DoseAdministration(_Entry, db.Model):
    __tablename__ = "dose_administrations"
    # One initial and at most one supplemental dose: two tablets cannot both record "the" dose.
    __table_args__ = (sa.UniqueConstraint("session_id", "kind"),)

    kind: so.Mapped[DoseKind] = so.mapped_column(enum_column(DoseKind, 16))
    substance: so.Mapped[str] = so.mapped_column(sa.String(60))
    amount: so.Mapped[float]
    unit: so.Mapped[str] = so.mapped_column(sa.String(16))
    route: so.Mapped[str] = so.mapped_column(sa.String(32))
    lot_number: so.Mapped[str] = so.mapped_column(sa.String(60))
    given_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    @property
    def given(self) -> DoseGiven:
        return DoseGiven(self.kind, self.amount, self.given_at)


class SessionEvent(_Entry, db.Model):
    __tablename__ = "session_events"

    kind: so.Mapped[EventKind] = so.mapped_column(enum_column(EventKind, 16))
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # A music change: what was put on. Changes recorded before these existed keep their note.
    playlist: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default="")
    track: so.Mapped[str] = so.mapped_column(sa.String(300), default="", server_default="")

    @property
    def detail(self) -> str:
        """What the timeline shows of the event: what was played, then the note."""
        return rules.event_detail(self.playlist, self.track, self.note)


class VitalSign(_Entry, db.Model):
    __tablename__ = "vital_signs"

    taken_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    systolic: so.Mapped[int | None]
    diastolic: so.Mapped[int | None]
    heart_rate: so.Mapped[int | None]
    temperature_c: so.Mapped[float | None]
    spo2: so.Mapped[int | None]
    # The flags raised when the reading was entered, by the protocol limits then in force.
    flags: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    # The values beyond the protocol's critical limits: each raised a critical alert.
    critical_flags: so.Mapped[list] = so.mapped_column(sa.JSON, default=list, server_default="[]")
    acknowledged_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    acknowledged_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    acknowledgement: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # Where the reading came from when not typed in by hand ("monitor (scenario)": a training
    # scenario's scripted monitor reading).
    source: so.Mapped[str] = so.mapped_column(sa.String(40), default="", server_default="")
    # Two facilitators acknowledging the same flag at once: the second is told, not recorded.
    version: so.Mapped[int] = so.mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    acknowledged_by: so.Mapped[User | None] = so.relationship(foreign_keys=[acknowledged_by_id])

    @property
    def reading(self) -> vital_rules.Reading:
        return vital_rules.Reading(
            systolic=self.systolic,
            diastolic=self.diastolic,
            heart_rate=self.heart_rate,
            temperature_c=self.temperature_c,
            spo2=self.spo2,
        )

    @property
    def needs_acknowledgement(self) -> bool:
        return bool(self.flags) and self.acknowledged_at is None

    @property
    def blood_pressure(self) -> str:
        if self.systolic is None:
            return ""
        return f"{self.systolic}/{self.diastolic}"


class AdverseEvent(_Entry, db.Model):
    __tablename__ = "adverse_events"

    # Kept on the course as well, so safety reports read adverse events without the sessions.
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    onset_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    description: so.Mapped[str] = so.mapped_column(sa.Text)
    severity: so.Mapped[int]  # CTCAE grade 1-5
    serious: so.Mapped[bool]
    # The 21 CFR 312.32(a) criteria the event meets (`safety.Seriousness` values); serious
    # exactly when there is one. Events recorded before the criteria were asked have none.
    seriousness_criteria: so.Mapped[list] = so.mapped_column(
        sa.JSON, default=list, server_default="[]"
    )
    relatedness: so.Mapped[Relatedness] = so.mapped_column(enum_column(Relatedness, 16))
    action_taken: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    outcome: so.Mapped[Outcome] = so.mapped_column(enum_column(Outcome, 32))

    @property
    def severity_label(self) -> str:
        return rules.SEVERITY_GRADES[self.severity]

    @property
    def seriousness_labels(self) -> list[str]:
        return [safety.Seriousness(c).label for c in self.seriousness_criteria or []]


class AdverseEventUpdate(db.Model):
    """A later word on an adverse event's outcome: appended, never an edit of the event.

    Outcomes are known days after a session (a transfer, a follow-up call), so updates are
    accepted after the session record is signed: they change nothing it signed.
    """

    __tablename__ = "adverse_event_updates"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    adverse_event_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("adverse_events.id"), index=True
    )
    outcome: so.Mapped[Outcome] = so.mapped_column(enum_column(Outcome, 32))
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    as_of: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    recorded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)

    adverse_event: so.Mapped[AdverseEvent] = so.relationship()
    recorded_by: so.Mapped[User] = so.relationship()


def adverse_event_updates(events) -> dict[int, list[AdverseEventUpdate]]:
    """Each event's updates, oldest first, in one query."""
    ids = [e.id for e in events]
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(AdverseEventUpdate)
        .where(AdverseEventUpdate.adverse_event_id.in_(ids))
        .order_by(AdverseEventUpdate.as_of, AdverseEventUpdate.id)
    )
    updates: dict[int, list[AdverseEventUpdate]] = {}
    for row in rows:
        updates.setdefault(row.adverse_event_id, []).append(row)
    return updates


def taken_readings(protocol, vitals) -> list[safety.TakenReading]:
    """What the discharge rule reads of stored readings. Which values were out of range is
    worked out again from the course's pinned protocol: the limits the flags were raised by."""
    limits = protocol.vital_limits
    return [
        safety.TakenReading(
            taken_at=v.taken_at,
            values=v.reading.values(),
            out_of_range=frozenset(f.field for f in vital_rules.out_of_range(v.reading, limits)),
            acknowledged=v.acknowledged_at is not None,
        )
        for v in vitals
    ]


def current_answers(rows) -> dict[tuple[AnswerKind, str], SessionAnswer]:
    """The latest answer per (kind, item): rows come oldest first."""
    state = {}
    for row in rows:
        state[row.kind, row.item_id] = row
    return state


def _yes(state, kind: AnswerKind) -> set[str]:
    return {item for (k, item), row in state.items() if k == kind and row.value}


# --- regulated values (domain.regulated): the rows those rules read -------------------------


def is_first_session(course_id: int, session: DosingSession | None = None) -> bool:
    """Whether `session` (None: one starting now) is the course's first dosing session that
    is not voided: Oregon's "first administration session", Spravato's first induction day."""
    earlier = sa.select(DosingSession.id).where(
        DosingSession.course_id == course_id, DosingSession.voided_at.is_(None)
    )
    if session is not None:
        earlier = earlier.where(
            sa.or_(
                DosingSession.occurred_at < session.occurred_at,
                sa.and_(
                    DosingSession.occurred_at == session.occurred_at,
                    DosingSession.id < session.id,
                ),
            )
        )
    return db.session.scalar(earlier.limit(1)) is None


def _preparation_window_refusal(course: Course, now: datetime) -> str | None:
    protocol = course.protocol
    low = protocol.preparation_min_hours_before_dosing
    high = protocol.preparation_max_days_before_dosing
    if (low is None and high is None) or not is_first_session(course.id):
        return None
    last = db.session.scalar(
        sa.select(sa.func.max(PreparationSession.occurred_at)).where(
            PreparationSession.course_id == course.id, PreparationSession.counting()
        )
    )
    problem = regulated.preparation_window_error(low, high, last_preparation_at=last, starts_at=now)
    if problem is None:
        return None
    entered = db.session.scalar(
        sa.select(PhaseTransition)
        .where(PhaseTransition.course_id == course.id, PhaseTransition.to_phase == Phase.DOSING)
        .order_by(PhaseTransition.id.desc())
        .limit(1)
    )
    # A supervisor who overrode the gate's timing requirement recorded the deviation already.
    if (
        entered is not None
        and entered.override
        and regulated.timing_overridden(entered.unmet_at_override)
    ):
        return None
    return problem


def _dose_value_errors(session: DosingSession, kind: DoseKind, amount: float, doses) -> dict:
    initial = next((d.amount for d in doses if d.kind == DoseKind.INITIAL), None)
    rule = session.protocol.dose
    # A protocol that fixes no dose values (psilocybin, ketamine) reads no rows for them.
    if kind == DoseKind.INITIAL and rule.first_session is None and not rule.allowed:
        return {}
    if kind == DoseKind.SUPPLEMENTAL and rule.supplemental_fraction is None:
        return {}
    return regulated.dose_value_errors(
        rule,
        kind,
        amount,
        initial=initial,
        first_session=kind == DoseKind.INITIAL and is_first_session(session.course_id, session),
        approved=deviations.approved_amounts(session.id, kind),
    )


def _blood_pressure_times(vitals) -> list[datetime]:
    return [v.taken_at for v in vitals if v.systolic is not None]


def blood_pressure_status(session: DosingSession, doses, vitals):
    """The protocol's blood-pressure checks and the reading that meets each (Spravato REMS)."""
    return regulated.blood_pressure_status(
        session.protocol.blood_pressure_checks,
        first_dose_at=rules.first_dose_at(doses),
        discharged_at=session.discharged_at,
        readings=_blood_pressure_times(vitals),
    )


def blood_pressure_gaps(session: DosingSession, doses, vitals) -> list[str]:
    return regulated.blood_pressure_gaps(
        session.protocol.blood_pressure_checks,
        first_dose_at=rules.first_dose_at(doses),
        discharged_at=session.discharged_at,
        readings=_blood_pressure_times(vitals),
    )


# --- operations (the caller has checked access and commits once) ---------------------------


def start_session(course: Course, by: User, now: datetime | None = None) -> DosingSession:
    if course.phase != Phase.DOSING:
        raise SessionRefused("A dosing session starts only while the course is in dosing.")
    open_draft = db.session.scalar(
        sa.select(DosingSession.id).where(
            DosingSession.course_id == course.id,
            DosingSession.status == RecordStatus.DRAFT,
            DosingSession.voided_at.is_(None),
        )
    )
    if open_draft is not None:
        raise SessionRefused("This course already has a dosing session in progress.")
    now = now or utcnow()
    if refusal := _preparation_window_refusal(course, now):
        raise SessionRefused(refusal)
    session = DosingSession(
        course=course, author=by, occurred_at=now, created_at=now, facilitator_ids=[by.id]
    )
    db.session.add(session)
    rems.open_monitoring_form(session, now)
    return session


def _open(session: DosingSession) -> None:
    if session.is_voided:
        raise SessionRefused("This session was voided; nothing more is recorded in it.")
    if session.is_signed:
        raise SessionRefused("This session is signed: add an addendum instead.")


def _when(session: DosingSession, at: datetime | None, field: str, now: datetime) -> datetime:
    at = at or now
    problem = rules.time_error(at, session.occurred_at, now)
    if problem:
        raise SessionRefused({field: problem})
    return at


def record_answer(
    session: DosingSession,
    kind: AnswerKind,
    item_id: str,
    value: bool,
    by: User,
    now: datetime | None = None,
) -> SessionAnswer:
    _open(session)
    protocol = session.protocol
    known = (
        protocol.checklist_item(item_id)
        if kind == AnswerKind.CHECKLIST
        else protocol.session_question(item_id)
    )
    if known is None:
        raise SessionRefused({"item_id": "This protocol has no such item."})
    answer = SessionAnswer(
        session=session,
        kind=kind,
        item_id=item_id,
        value=value,
        recorded_at=now or utcnow(),
        recorded_by_id=by.id,
    )
    db.session.add(answer)
    return answer


def record_dose(
    session: DosingSession,
    kind: DoseKind,
    amount: float,
    lot_number: str,
    given_at: datetime | None,
    by: User,
    now: datetime | None = None,
) -> DoseAdministration:
    _open(session)
    now = now or utcnow()
    given_at = _when(session, given_at, "given_at", now)
    rule = session.protocol.dose
    doses = [d.given for d in session.doses()]
    errors = rules.dose_errors(rule, kind, amount, given_at, doses)
    if not errors.keys() & {"kind", "amount"}:
        errors.update(_dose_value_errors(session, kind, amount, doses))
    if not lot_number.strip():
        errors.setdefault("lot_number", "Record the lot number of the medicine given.")
    if errors:
        raise SessionRefused(errors)
    dose = DoseAdministration(
        session=session,
        kind=kind,
        substance=rule.substance,
        amount=amount,
        unit=rule.unit,
        route=rule.route,
        lot_number=lot_number.strip(),
        given_at=given_at,
        recorded_at=now,
        recorded_by_id=by.id,
    )
    db.session.add(dose)
    return dose


def record_event(
    session: DosingSession,
    kind: EventKind,
    at: datetime | None,
    note: str,
    by: User,
    now: datetime | None = None,
    *,
    playlist: str = "",
    track: str = "",
) -> SessionEvent:
    _open(session)
    now = now or utcnow()
    errors = rules.event_errors(kind, note, playlist, track)
    if errors:
        raise SessionRefused(errors)
    event = SessionEvent(
        session=session,
        kind=kind,
        at=_when(session, at, "at", now),
        note=note.strip(),
        playlist=playlist.strip() if kind == EventKind.MUSIC_CHANGE else "",
        track=track.strip() if kind == EventKind.MUSIC_CHANGE else "",
        recorded_at=now,
        recorded_by_id=by.id,
    )
    db.session.add(event)
    return event


def record_vitals(
    session: DosingSession,
    reading: vital_rules.Reading,
    taken_at: datetime | None,
    by: User,
    now: datetime | None = None,
    source: str = "",
) -> VitalSign:
    _open(session)
    now = now or utcnow()
    errors = vital_rules.plausibility_errors(reading)
    if errors:
        raise SessionRefused(errors)
    taken_at = _when(session, taken_at, "taken_at", now)
    flags = vital_rules.out_of_range(reading, session.protocol.vital_limits)
    critical = safety.critical_flags(reading, session.protocol.critical_vital_limits)
    vital = VitalSign(
        session=session,
        taken_at=taken_at,
        systolic=reading.systolic,
        diastolic=reading.diastolic,
        heart_rate=reading.heart_rate,
        temperature_c=reading.temperature_c,
        spo2=reading.spo2,
        flags=[f.message for f in flags],
        critical_flags=[f.message for f in critical],
        source=source,
        recorded_at=now,
        recorded_by_id=by.id,
    )
    db.session.add(vital)
    if critical:
        raise_alert(
            session.course,
            AlertKind.VITALS,
            "Critical vital signs in a dosing session: " + "; ".join(f.message for f in critical),
            source=session,
            by=by,
            now=now,
        )
    return vital


def acknowledge_vital(vital: VitalSign, by: User, note: str, now: datetime | None = None) -> None:
    _open(vital.session)
    if not vital.flags:
        raise SessionRefused("This reading raised no flag.")
    if vital.acknowledged_at is not None:
        raise SessionRefused(f"Already acknowledged by {vital.acknowledged_by.name}.")
    vital.acknowledged_at = now or utcnow()
    vital.acknowledged_by_id = by.id
    vital.acknowledgement = note.strip()


def record_adverse_event(
    session: DosingSession,
    *,
    onset_at: datetime | None,
    description: str,
    severity: int,
    seriousness_criteria: list[str],
    relatedness: Relatedness,
    action_taken: str,
    outcome: Outcome,
    by: User,
    now: datetime | None = None,
) -> AdverseEvent:
    _open(session)
    now = now or utcnow()
    if not description.strip():
        raise SessionRefused({"description": "Describe the adverse event."})
    if severity not in rules.SEVERITY_GRADES:
        raise SessionRefused({"severity": "Choose a severity grade from 1 to 5."})
    criteria = sorted(set(seriousness_criteria))
    errors = safety.seriousness_errors(severity, criteria, fatal=outcome == Outcome.FATAL)
    if errors:
        raise SessionRefused(errors)
    serious = safety.is_serious(criteria)
    event = AdverseEvent(
        session=session,
        course_id=session.course_id,
        onset_at=_when(session, onset_at, "onset_at", now),
        description=description.strip(),
        severity=severity,
        serious=serious,
        seriousness_criteria=criteria,
        relatedness=relatedness,
        action_taken=action_taken.strip(),
        outcome=outcome,
        recorded_at=now,
        recorded_by_id=by.id,
    )
    db.session.add(event)
    if serious:
        raise_alert(
            session.course,
            AlertKind.SERIOUS_ADVERSE_EVENT,
            f"Serious adverse event in a dosing session ({event.severity_label}; "
            f"{', '.join(event.seriousness_labels)}): {event.description}",
            source=session,
            by=by,
            now=now,
        )
    return event


def follow_up_adverse_event(
    event: AdverseEvent,
    outcome: Outcome,
    note: str,
    as_of: datetime | None,
    by: User,
    now: datetime | None = None,
) -> AdverseEventUpdate:
    """Append what is now known of the event's outcome; the event itself stays as entered."""
    if event.session.is_voided:
        raise SessionRefused("This session was voided; nothing more is recorded in it.")
    now = now or utcnow()
    as_of = _when(event.session, as_of, "as_of", now)
    if as_of < event.onset_at:
        raise SessionRefused({"as_of": "This is before the event began; check the time."})
    if outcome == Outcome.FATAL and safety.Seriousness.DEATH not in event.seriousness_criteria:
        raise SessionRefused(
            {"outcome": "A death is a serious event: record it as a new adverse event (grade 5)."}
        )
    if not note.strip():
        raise SessionRefused({"note": "Say what is known now (and from whom)."})
    update = AdverseEventUpdate(
        adverse_event=event,
        outcome=outcome,
        note=note.strip(),
        as_of=as_of,
        recorded_at=now,
        recorded_by_id=by.id,
    )
    db.session.add(update)
    return update


def end_in_emergency(
    session: DosingSession, end: safety.EmergencyEnd, by: User, now: datetime | None = None
) -> None:
    """End the session early (e.g. a transfer to an emergency department): no minimum
    duration applies, the course goes on hold with the reason, and the supervisor is alerted."""
    _open(session)
    now = now or utcnow()
    if session.ended_early:
        raise SessionRefused("This session has already been ended as an emergency.")
    if session.discharged_at is not None:
        raise SessionRefused("The patient was already discharged from this session.")
    errors = safety.emergency_end_errors(end, session.occurred_at, now)
    if errors:
        raise SessionRefused(errors)
    session.ended_early_at = end.ended_at
    session.emergency_reason = end.reason.strip()
    session.transferred_to = end.transferred_to.strip()
    session.transferred_by = end.transferred_by.strip()
    session.notified = end.notified.strip()
    course = session.course
    if course.phase == Phase.DOSING:
        change_phase(
            course,
            Phase.ON_HOLD,
            by,
            reason=f"Session ended as an emergency: {end.reason}",
            now=now,
        )
    raise_alert(
        course,
        AlertKind.EMERGENCY_END,
        f"Dosing session ended as an emergency: {session.emergency_reason}. "
        f"Transferred to {session.transferred_to} by {session.transferred_by}; "
        f"notified: {session.notified}.",
        source=session,
        by=by,
        now=now,
    )


def update_details(session: DosingSession, facilitator_ids: list[int], notes: str) -> None:
    _open(session)
    session.facilitator_ids = sorted(set(facilitator_ids))
    session.notes = notes.strip()


def discharge(
    session: DosingSession,
    *,
    discharged_at: datetime | None,
    ready_to_leave_at: datetime | None,
    criteria_met: list[str],
    accompanied_by: str,
    as_planned: bool,
    deviation: str,
    transport_plan: str,
    now: datetime | None = None,
) -> None:
    _open(session)
    now = now or utcnow()
    if session.discharged_at is not None:
        raise SessionRefused("The patient is already discharged from this session.")
    if session.ended_early:
        raise SessionRefused("This session was ended as an emergency: there is no discharge.")
    discharged_at = _when(session, discharged_at, "discharged_at", now)
    if ready_to_leave_at is not None:
        _when(session, ready_to_leave_at, "ready_to_leave_at", now)
        if ready_to_leave_at > discharged_at:
            raise SessionRefused({"ready_to_leave_at": "Ready to leave is after discharge."})
    errors = rules.discharge_errors(
        session.protocol,
        [d.given for d in session.doses()],
        discharged_at=discharged_at,
        criteria_met=criteria_met,
        accompanied_by=accompanied_by,
        as_planned=as_planned,
        deviation=deviation,
    )
    vitals = session.vitals()
    vitals_held = session.vitals_discharge_errors(vitals)
    if vitals_held:
        errors["vitals"] = " ".join(vitals_held)
    for field, problem in regulated.discharge_blood_pressure_errors(
        session.protocol.blood_pressure_checks,
        discharged_at=discharged_at,
        readings=_blood_pressure_times(vitals),
    ).items():
        errors.setdefault(field, problem)
    if errors:
        raise SessionRefused(errors)
    session.discharged_at = discharged_at
    session.ready_to_leave_at = ready_to_leave_at
    session.discharge_criteria_met = list(criteria_met)
    session.accompanied_by = accompanied_by.strip()
    session.left_as_planned = as_planned
    session.transport_deviation = "" if as_planned else deviation.strip()
    session.transport_plan = transport_plan


# Whether a dosing session carries its second facilitator's signature (correlated EXISTS).
CO_FACILITATED = (
    sa.select(Signature.id)
    .where(
        Signature.record_type == DosingSession.record_type,
        Signature.record_id == DosingSession.id,
        Signature.meaning == Meaning.CO_FACILITATED,
    )
    .exists()
)
_DOSING_FACTS_SQL = (
    sa.select(
        DosingSession.course_id,
        DosingSession.status,
        DosingSession.needs_cosign,
        CO_FACILITATED.label("co_facilitated"),
        DosingSession.co_facilitator_signs,
    )
    .where(DosingSession.course_id.in_(COURSE_IDS), DosingSession.voided_at.is_(None))
    .order_by(DosingSession.occurred_at, DosingSession.id)
)


@fact_source("dosing_session_signed", "dosing_sessions_done")
def dosing_facts(courses: list[Course], connection=None) -> dict[int, dict]:
    """`dosing_session_signed` (the latest session, fully signed) and `dosing_sessions_done`.

    Reads four columns, not whole sessions, in one query: boards ask this for every card.
    """
    by_id = {c.id: c for c in courses}
    rows = (connection or db.session).execute(_DOSING_FACTS_SQL, {"course_ids": list(by_id)})
    facts: dict[int, dict] = {}
    for course_id, status, needs_cosign, co_facilitated, co_signs in rows:
        # Oldest first: the last one seen per course is its latest.
        pair = rules.second_signature_due(co_signs, by_id[course_id].protocol.facilitators_required)
        signed = record_counts(status, needs_cosign, voided=False) and (not pair or co_facilitated)
        f = facts.setdefault(course_id, {"dosing_sessions_done": 0})
        f["dosing_session_signed"] = signed
        f["dosing_sessions_done"] += signed
    return facts


# A signed session's rows are as locked as the session: change them with an addendum.
_ENTRY_TYPES = (SessionAnswer, DoseAdministration, SessionEvent, VitalSign, AdverseEvent)
# (Adverse-event updates are not among them: an outcome is followed up after signing.)


@sa.event.listens_for(so.Session, "before_flush")
def _refuse_entries_in_signed_sessions(session, _context, _instances):
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, _ENTRY_TYPES):
            continue
        if obj in session.deleted:
            raise RecordLocked("Entries in a dosing session are never deleted.")
        parent = obj.session
        if parent is not None and parent.is_signed and _changes_content(obj):
            raise RecordLocked("The dosing session is signed: change it with an addendum.")


def _changes_content(obj) -> bool:
    state = sa.inspect(obj)
    if state.pending:
        return True
    return any(state.attrs[a.key].history.has_changes() for a in state.mapper.column_attrs)
