"""Everything the live page, the printed record and the patient-page panel show about a
session, loaded in a fixed number of queries however many readings or events it holds."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from psiflow.domain import dosing as rules
from psiflow.domain import session_timeline as story
from psiflow.domain import vitals as vital_rules
from psiflow.domain.dosing import DoseKind, EventKind
from psiflow.domain.signing import RecordStatus
from psiflow.extensions import db
from psiflow.models.dosing import (
    CO_FACILITATED,
    AnswerKind,
    DosingSession,
    VitalSign,
    adverse_event_updates,
    current_answers,
    session_people,
)
from psiflow.models.preparation import SetIntake, current_touch_consent
from psiflow.models.records import RecordLine
from psiflow.models.statements import COURSE_IDS, read_columns
from psiflow.models.training import session_now
from psiflow.web.presentation import clinic_zone


@dataclass
class RemsForm:
    """The REMS Patient Monitoring Form (outpatient), filled from the session."""

    answers: dict[str, bool | None]
    dose: float | None
    lot_numbers: str
    total_minutes: int | None  # from the first device to the end of monitoring
    ready_minutes: int | None  # when the patient would have been ready to leave
    bp_before: VitalSign | None
    bp_at_40: VitalSign | None
    bp_before_completion: VitalSign | None
    in_range_before: bool | None
    in_range_at_completion: bool | None


@dataclass
class SessionSheet:
    session: DosingSession
    now: datetime
    checklist: list = field(default_factory=list)  # [(when, [(item, latest answer row)])]
    questions: list = field(default_factory=list)  # [(question, latest answer row)]
    doses: list = field(default_factory=list)
    vitals: list = field(default_factory=list)
    events: list = field(default_factory=list)
    adverse_events: list = field(default_factory=list)
    facilitators: list = field(default_factory=list)
    set_intake: SetIntake | None = None
    touch_consent: object | None = None
    schedule: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    # What the readings say of discharge (safety rule): empty when within the limits.
    vitals_held: list = field(default_factory=list)
    ae_updates: dict = field(default_factory=dict)  # adverse event id -> its follow-ups
    people: dict = field(default_factory=dict)  # user id -> User, see session_people
    # The agreed pickup time against the earliest discharge (None: no pickup time agreed).
    pickup: rules.PickupCheck | None = None
    answers: list = field(default_factory=list)  # every tick and answer, oldest first
    timeline: list = field(default_factory=list)  # story.TimelineEntry, oldest first

    @property
    def protocol(self):
        return self.session.protocol

    @property
    def is_open(self) -> bool:
        return not self.session.is_signed and not self.session.is_voided

    @property
    def given(self):
        return [d.given for d in self.doses]

    @property
    def initial(self):
        return next((d for d in self.doses if d.kind == DoseKind.INITIAL), None)

    @property
    def supplemental(self):
        return next((d for d in self.doses if d.kind == DoseKind.SUPPLEMENTAL), None)

    @property
    def total_dose(self) -> float:
        return rules.total_dose(self.given)

    @property
    def first_dose_at(self) -> datetime | None:
        return rules.first_dose_at(self.given)

    @property
    def minimum_minutes(self) -> int:
        return rules.minimum_minutes(self.protocol, self.given)

    @property
    def earliest_discharge(self) -> datetime | None:
        return rules.earliest_discharge(self.protocol, self.given)

    @property
    def discharge_rule(self) -> rules.DischargeRule:
        return rules.discharge_rule(self.protocol, self.given)

    @property
    def music(self) -> list:
        return [e for e in self.events if e.kind == EventKind.MUSIC_CHANGE]

    @property
    def elapsed_minutes(self) -> int | None:
        start = self.first_dose_at
        end = self.session.discharged_at or self.now
        return None if start is None else int((end - start) / timedelta(minutes=1))

    @property
    def supplemental_window(self) -> tuple[datetime, datetime] | None:
        rule = self.protocol.dose
        if not rule.supplemental_allowed or self.initial is None or self.supplemental:
            return None
        earliest, latest = rule.supplemental_after_minutes
        start = self.initial.given_at
        return start + timedelta(minutes=earliest), start + timedelta(minutes=latest)

    @property
    def stage(self) -> str:
        """Where the session is ("before", "during", "after"): its checklist stage comes first."""
        ended = self.session.discharged_at or self.session.ended_early_at
        return story.current_stage(self.first_dose_at, self.earliest_discharge, ended, self.now)

    @property
    def checklist_by_stage(self) -> list:
        """The checklist's stages, the current one first: [(when, [(item, row)])]."""
        stages = dict(self.checklist)
        return [(when, stages[when]) for when in story.stages_from(self.stage) if stages[when]]

    @property
    def unacknowledged(self) -> list:
        return [v for v in self.vitals if v.needs_acknowledgement]

    @property
    def next_due(self):
        return vital_rules.next_due(self.schedule) if self.session.discharged_at is None else None

    @property
    def needs_both_signatures(self) -> bool:
        return self.session.pair_signing

    def rems(self) -> RemsForm:
        answers = {q.id: (row.value if row else None) for q, row in self.questions}
        start = self.first_dose_at
        end = self.session.discharged_at
        with_bp = [v for v in self.vitals if v.systolic is not None]
        before = [v for v in with_bp if start is None or v.taken_at <= start]
        at_40 = None
        if start is not None:
            after = [v for v in with_bp if v.taken_at > start]
            target = start + timedelta(minutes=40)
            at_40 = min(after, key=lambda v: abs(v.taken_at - target), default=None)
        last = [v for v in with_bp if end is None or v.taken_at <= end]
        ready = self.session.ready_to_leave_at
        return RemsForm(
            answers=answers,
            dose=self.total_dose if self.doses else None,
            lot_numbers=", ".join(d.lot_number for d in self.doses),
            total_minutes=_minutes(start, end),
            ready_minutes=_minutes(start, ready),
            bp_before=before[-1] if before else None,
            bp_at_40=at_40,
            bp_before_completion=last[-1] if last and end else None,
            in_range_before=(not before[-1].flags) if before else None,
            in_range_at_completion=(not last[-1].flags) if last and end else None,
        )


def _minutes(start, end) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start) / timedelta(minutes=1))


def session_sheet(session: DosingSession, now: datetime | None = None) -> SessionSheet:
    # The session's own clock: a practice run's training clock, the wall clock otherwise.
    now = now or session_now(session)
    sheet = SessionSheet(session=session, now=now)
    # The page names who recorded each row from these, by id (`sheet.people[row.recorded_by_id]`):
    # one dict lookup a row rather than a relationship load through the identity map.
    sheet.people = session_people(session)
    protocol = session.protocol
    answers = sheet.answers = session.answer_rows()
    state = current_answers(answers)
    sheet.checklist = [
        (
            when,
            [
                (item, state.get((AnswerKind.CHECKLIST, item.id)))
                for item in protocol.checklist
                if item.when == when
            ],
        )
        for when in ("before", "during", "after")
    ]
    sheet.questions = [
        (q, state.get((AnswerKind.QUESTION, q.id))) for q in protocol.session_questions
    ]
    sheet.doses = session.doses()
    sheet.vitals = session.vitals()
    sheet.events = session.events()
    sheet.adverse_events = session.adverse_events()
    sheet.facilitators = sorted(
        (sheet.people[i] for i in set(session.facilitator_ids or []) if i in sheet.people),
        key=lambda u: u.name,
    )
    sheet.set_intake = agreed_set_intake(session.course_id)
    sheet.touch_consent = current_touch_consent(session.course_id)
    sheet.schedule = vital_rules.schedule(
        protocol.vitals_schedule_minutes,
        sheet.first_dose_at,
        [v.taken_at for v in sheet.vitals],
        now,
    )
    sheet.missing = session.gaps(answers, sheet.doses, sheet.vitals)
    sheet.vitals_held = session.vitals_discharge_errors(sheet.vitals)
    sheet.ae_updates = adverse_event_updates(sheet.adverse_events)
    if sheet.set_intake is not None and sheet.set_intake.pickup_time is not None:
        planned = session.course.planned_dosing_at
        # Before the dose: given now at the soonest, or later as planned.
        expected = max(now, planned) if planned is not None else now
        sheet.pickup = rules.check_pickup(
            protocol,
            sheet.given,
            sheet.set_intake.pickup_time,
            dose_expected_at=expected,
            zone=clinic_zone(),
        )
    # From the rows above: the story costs no statement of its own.
    sheet.timeline = story.session_timeline(
        started_at=session.occurred_at,
        doses=sheet.doses,
        events=sheet.events,
        vitals=sheet.vitals,
        answers=answers,
        adverse_events=sheet.adverse_events,
        adverse_event_updates=sheet.ae_updates,
        item_labels={
            **{(AnswerKind.CHECKLIST.value, i.id): i.label for i in protocol.checklist},
            **{(AnswerKind.QUESTION.value, q.id): q.label for q in protocol.session_questions},
        },
        people=sheet.people,
        discharged_at=session.discharged_at,
        ended_early_at=session.ended_early_at,
    )
    return sheet


def agreed_set_intake(course_id: int) -> SetIntake | None:
    """The signed set intake: the intention and the transport plan agreed in preparation."""
    return db.session.scalar(_agreed_set_intake_query(), {"course_id": course_id})


@functools.cache  # built once: building it and its cache key took 0.12 ms a visit
def _agreed_set_intake_query():
    return (
        sa.select(SetIntake)
        .where(
            SetIntake.course_id == sa.bindparam("course_id"),
            SetIntake.voided_at.is_(None),
            SetIntake.status != RecordStatus.DRAFT,
        )
        .order_by(SetIntake.occurred_at.desc(), SetIntake.id.desc())
        .limit(1)
    )


@dataclass
class CourseSessions:
    sessions: list  # RecordLine, oldest first
    fully_signed: set
    in_progress: RecordLine | None


@functools.cache  # built once: building it and its cache key took 0.12 ms a visit
def _courses_sessions_query():
    return (
        sa.select(
            sa.literal(DosingSession.record_type),
            DosingSession.id,
            DosingSession.course_id,
            DosingSession.occurred_at,
            DosingSession.status,
            DosingSession.needs_cosign,
            DosingSession.voided_at,
            CO_FACILITATED,
            DosingSession.co_facilitator_signs,
        )
        .where(DosingSession.course_id.in_(COURSE_IDS))
        .order_by(DosingSession.occurred_at, DosingSession.id)
    )


def courses_sessions(courses) -> dict[int, CourseSessions]:
    """Each course's dosing sessions as lines, for all of a patient's courses in one query:
    whether the second facilitator signed is read with each line."""
    ids = [c.id for c in courses]
    rows = read_columns(_courses_sessions_query(), {"course_ids": ids})
    required = {c.id: c.protocol.facilitators_required for c in courses}
    grouped: dict[int, list[RecordLine]] = {cid: [] for cid in ids}
    signed: set[int] = set()
    for *columns, cosigned, co_signs in rows:
        line = RecordLine(*columns)
        grouped[line.course_id].append(line)
        # Fully signed: it counts and carries every facilitator signature it needs (as
        # `pair_signing`: decided when its author signed).
        pair = rules.second_signature_due(co_signs, required[line.course_id])
        if line.counts and (not pair or cosigned):
            signed.add(line.id)
    return {
        cid: CourseSessions(
            sessions,
            signed & {s.id for s in sessions},
            next((s for s in sessions if not s.is_signed and not s.is_voided), None),
        )
        for cid, sessions in grouped.items()
    }
