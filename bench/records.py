"""The clinical records of the seeded network, each consistent with its course's phase path.

A course's records follow the times of its phase history (`CoursePlan.steps`): screening and
consent when it opened, set intake, preparation sessions and baseline measures while it was in
preparation, one dosing session per dosing step (signed by both facilitators where the protocol
runs a pair), integration notes with their check-ins and risk screens after each, follow-up
measures at the protocol's weeks. A course that has left a phase has every record that phase's
gate asks for; the phase a course is in now holds drafts and work in progress (a dosing session
under way, an integration note being written, notes waiting for the supervisor's review).

Each seeder runs once per block of patients (`Network.begin_block`) over the block's courses.
Every seeder also notes the audit events the app would have written (`Network.audit`); the
block's are set aside in time order, and chained with the whole network's last
(bench/audit_trail.py).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, partial

import sqlalchemy as sa
from flask import Flask

from bench.audit_trail import hashable
from bench.loading import (
    ConnectionSink,
    Sink,
    build_after_the_load,
    insert_rows,
    insert_tuples,
    reads_rows,
)
from bench.network import CoursePlan, Network, driver_time
from psiflow.domain.dosing import DoseKind, EventKind, Outcome, Relatedness
from psiflow.domain.instruments import default_instrument_dir, load_instruments
from psiflow.domain.phases import Phase
from psiflow.domain.review import Decision
from psiflow.domain.signing import Meaning, RecordStatus, content_hash
from psiflow.models import (
    ActionItem,
    AdverseEvent,
    Alert,
    Consent,
    DoseAdministration,
    DosingSession,
    IntegrationSession,
    MeasureResponse,
    PreparationSession,
    Review,
    SafetyCheckIn,
    Screening,
    ScreeningFlag,
    SessionAnswer,
    SessionEvent,
    SetIntake,
    Signature,
    TouchConsentEntry,
    VitalSign,
)
from psiflow.models.alerts import AlertKind, Resolution
from psiflow.models.dosing import AnswerKind
from psiflow.models.integration import RISK_SCREEN, ActionStatus, CheckInContext, Sleep
from psiflow.models.measures import BASELINE
from psiflow.models.preparation import TouchChange
from psiflow.models.stored import attention, gates, outcomes

# Between the protocol's full readings the facilitators note heart rate and SpO2 from the
# room's pulse oximeter every few minutes: at this interval the network holds about a million
# readings at 10,000 patients, the volume issue 7 asks the live page and the vitals post to bear.
MONITOR_EVERY_MINUTES = 6
# Notes signed longer ago than this have had their supervisor's review; newer ones wait.
REVIEWED_AFTER_DAYS = 10
# Of the integration notes a course in integration is writing now, this share is a draft.
DRAFT_NOTE_SHARE = 0.4
MIN_DRAFTS = 4
# Of the courses in the dosing phase, this share has its session under way right now.
SESSION_IN_PROGRESS_SHARE = 0.5
FLAGGED_SCREENING_SHARE = 0.15
ADVERSE_EVENT_SHARE = 0.08
SERIOUS_SHARE = 0.1  # of adverse events
CHECK_IN_CONCERN_SHARE = 0.05
RETURNED_SHARE = 0.05  # of reviewed notes

_MUTABLE = frozenset(
    {"status", "version", "updated_at", "voided_at", "voided_by_id", "void_reason", "needs_cosign"}
)


@dataclass
class Timeline:
    """When a course's records happened, from its phase path (computed once per course)."""

    screening_at: datetime
    left_screening: datetime | None
    preparation: tuple[datetime, datetime | None] | None  # entered, left (None: still in it)
    dosing: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    integration: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    follow_up: tuple[datetime, datetime | None] | None = None
    end: datetime | None = None  # completed or withdrawn at


def timeline(course: CoursePlan) -> Timeline:
    steps = course.steps
    intervals: dict[Phase, list[tuple[datetime, datetime | None]]] = {}
    for i, (phase, at) in enumerate(steps):
        left = steps[i + 1][1] if i + 1 < len(steps) else None
        intervals.setdefault(phase, []).append((at, left))
    closed = course.phase in (Phase.COMPLETED, Phase.WITHDRAWN)
    screening = intervals[Phase.SCREENING][0]
    return Timeline(
        screening_at=screening[0],
        left_screening=screening[1],
        preparation=(intervals.get(Phase.PREPARATION) or [None])[0],
        dosing=intervals.get(Phase.DOSING, []),
        integration=intervals.get(Phase.INTEGRATION, []),
        follow_up=(intervals.get(Phase.FOLLOW_UP) or [None])[0],
        end=steps[-1][1] if closed else None,
    )


@dataclass
class CourseContext:
    """Who works on a course, and the random stream its records draw from."""

    plan: CoursePlan
    times: Timeline
    patient_id: int
    lead_id: int
    co_id: int | None
    is_practice: bool
    supervisor_id: int
    rng: random.Random

    @property
    def protocol(self):
        return self.plan.protocol


def contexts(net: Network) -> Iterator[CourseContext]:
    """Every course with its people; each course has its own random stream (by course id),
    so a seeder's records do not change when another seeder draws more or fewer numbers."""
    patients = {p["id"]: p for p in net.patients}
    supervisor_of = {s.id: s.supervisor_id for s in net.staff}
    for plan in net.courses:
        patient = patients[plan.patient_id]
        lead = patient["lead_clinician_id"]
        yield CourseContext(
            plan=plan,
            times=net.timelines[plan.id],
            patient_id=plan.patient_id,
            lead_id=lead,
            co_id=patient["co_facilitator_id"],
            is_practice=patient["is_practice"],
            supervisor_id=supervisor_of[lead],
            rng=random.Random(net.shape.seed * 1_000_003 + plan.id),
        )


def _between(rng: random.Random, start: datetime, end: datetime | None, now: datetime) -> datetime:
    end = min(end or now, now)
    if end <= start:
        return start
    return start + (end - start) * rng.uniform(0.05, 0.95)


_PLAIN_TYPES = frozenset({str, int, float, bool})


def _plain(value):
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value._value_  # `.value` goes through a descriptor, several times slower
    return value


def note_audit(
    net: Network,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int,
    patient_id: int | None,
    row: dict | None = None,
) -> None:
    """An audit event as the app writes it for this change: an insert lists every value set."""
    changes = None
    if row is not None:
        plain = _PLAIN_TYPES  # most values: no call for them (a tenth of the seed's time)
        changes = {
            k: [None, v if type(v) in plain else _plain(v)] for k, v in row.items() if v is not None
        }
    net.audit.append(
        hashable(at, actor_id, action, object_type, str(object_id), patient_id, changes)
    )


def record_row(
    net: Network,
    model,
    ctx: CourseContext,
    at: datetime,
    author_id: int,
    status: RecordStatus,
    **content,
) -> dict:
    """A clinical record's row with what every record shares; signed ones get their signature."""
    row = {
        "id": net.next_id(model.__tablename__),
        "course_id": ctx.plan.id,
        "author_id": author_id,
        "occurred_at": at,
        "created_at": at,
        "updated_at": at,
        "status": status,
        "needs_cosign": False,
        "voided_at": None,
        "voided_by_id": None,
        "void_reason": None,
        "version": 1 if status == RecordStatus.DRAFT else 2,
        **content,
    }
    note_audit(net, at, author_id, "create", model.__name__, row["id"], ctx.patient_id, row)
    if status != RecordStatus.DRAFT:
        sign(net, model, row, ctx, author_id, Meaning.AUTHORED, at + timedelta(minutes=20))
    return row


def sign(net, model, row, ctx, signer_id, meaning, at, extra_content=None) -> None:
    content = {k: v for k, v in row.items() if k not in _MUTABLE}
    if extra_content:
        content.update(extra_content)
    signature = {
        "id": net.next_id("signatures"),
        "record_type": model.record_type,
        "record_id": row["id"],
        "course_id": ctx.plan.id,
        "signer_id": signer_id,
        "printed_name": net.names[signer_id],
        "meaning": meaning,
        "signed_at": at,
        "content_hash": content_hash(model.record_type, row["id"], content),
    }
    net.signatures.append(signature)
    note_audit(net, at, signer_id, "sign", "Signature", signature["id"], ctx.patient_id, None)


# --- screening, consent, touch consent ------------------------------------------------------


def seed_timelines(net: Network, sink: Sink) -> int:
    net.timelines = {c.id: timeline(c) for c in net.courses}
    return len(net.timelines)


def seed_screenings(net: Network, sink: Sink) -> int:
    screenings, flags = [], []
    for ctx in contexts(net):
        t, rng = ctx.times, ctx.rng
        passed = t.left_screening is not None and _left_forward(ctx.plan, Phase.SCREENING)
        signed = passed or rng.random() < 0.6
        at = _between(rng, t.screening_at, t.left_screening, net.now)
        positive = rng.random() < FLAGGED_SCREENING_SHARE
        checks = {c.id: {"positive": False, "detail": ""} for c in ctx.protocol.contraindications}
        flagged = ctx.protocol.contraindications[rng.randrange(3)] if positive else None
        if flagged is not None:
            checks[flagged.id] = {"positive": True, "detail": "History reported at intake."}
        row = record_row(
            net,
            Screening,
            ctx,
            at,
            ctx.lead_id,
            RecordStatus.SIGNED if signed else RecordStatus.DRAFT,
            medical_history="No significant medical history; annual check-up last spring.",
            psychiatric_history="Recurrent depressive episodes since early adulthood.",
            medications=["sertraline 50 mg"] if rng.random() < 0.3 else [],
            checks=checks,
        )
        screenings.append(row)
        if signed and flagged is not None:
            cleared = passed or rng.random() < 0.5
            flag = {
                "id": net.next_id("screening_flags"),
                "course_id": ctx.plan.id,
                "screening_id": row["id"],
                "check_id": flagged.id,
                "label": flagged.label,
                "detail": "History reported at intake.",
                "raised_at": at + timedelta(minutes=20),
                "cleared_at": at + timedelta(days=1) if cleared else None,
                "cleared_by_id": ctx.supervisor_id if cleared else None,
                "rationale": "Reviewed with the patient's GP; not active." if cleared else None,
            }
            flags.append(flag)
            note_audit(
                net,
                flag["raised_at"],
                ctx.lead_id,
                "create",
                "ScreeningFlag",
                flag["id"],
                ctx.patient_id,
                flag,
            )
            alert(
                net,
                ctx,
                AlertKind.SCREENING_FLAG,
                f"1 contraindication flag(s) to review: {flagged.label}",
                "screening",
                row["id"],
                flag["raised_at"],
                acknowledged=cleared,
            )
    count = insert_rows(sink, Screening.__table__, screenings)
    return count + insert_rows(sink, ScreeningFlag.__table__, flags)


def _left_forward(plan: CoursePlan, phase: Phase) -> bool:
    """Whether the course went on from `phase` to the next phase of treatment."""
    phases = [p for p, _ in plan.steps]
    i = phases.index(phase)
    return i + 1 < len(phases) and phases[i + 1] not in (Phase.ON_HOLD, Phase.WITHDRAWN)


def alert(net, ctx, kind, message, source_type, source_id, at, acknowledged) -> None:
    row = {
        "id": net.next_id("alerts"),
        "course_id": ctx.plan.id,
        "kind": kind,
        "severity": kind.severity,
        "message": message,
        "source_type": source_type,
        "source_id": source_id,
        "raised_at": at,
        "raised_by_id": ctx.lead_id,
        "acknowledged_at": at + timedelta(hours=3) if acknowledged else None,
        "acknowledged_by_id": ctx.supervisor_id if acknowledged else None,
        "acknowledgement": "Discussed with the clinician; plan agreed." if acknowledged else None,
        "resolution": Resolution.ACKNOWLEDGED if acknowledged else None,
        # The patient's care team, as `psiflow.models.stored.care_team` copies it.
        "lead_clinician_id": ctx.lead_id,
        "co_facilitator_id": ctx.co_id,
        "is_practice": ctx.is_practice,
    }
    net.alerts.append(row)
    note_audit(net, at, ctx.lead_id, "create", "Alert", row["id"], ctx.patient_id, row)


def seed_consents(net: Network, sink: Sink) -> int:
    consents, touch = [], []
    for ctx in contexts(net):
        t, rng = ctx.times, ctx.rng
        passed = t.left_screening is not None and _left_forward(ctx.plan, Phase.SCREENING)
        signed = passed or rng.random() < 0.6
        at = _between(rng, t.screening_at, t.left_screening, net.now)
        consents.append(
            record_row(
                net,
                Consent,
                ctx,
                at,
                ctx.lead_id,
                RecordStatus.SIGNED if signed else RecordStatus.DRAFT,
                form_version=f"{ctx.protocol.id} consent v3",
                consented_on=at.date(),
                witness_name="R. Okafor",
                capacity_confirmed=True,
                risks_discussed=True,
                notes="",
            )
        )
        if t.preparation is None:
            continue
        kinds = ["hand_holding", "hand_on_shoulder"]
        changes = [(TouchChange.AGREED, kinds, t.preparation[0] + timedelta(days=2))]
        if rng.random() < 0.2:
            changes.append((TouchChange.CHANGED, kinds[:1], _between(rng, *t.preparation, net.now)))
        for change, agreed, when in changes:
            row = {
                "id": net.next_id("touch_consent_entries"),
                "course_id": ctx.plan.id,
                "recorded_at": when,
                "recorded_by_id": ctx.lead_id,
                "change": change,
                "agreed_touch": agreed,
                "note": "",
            }
            touch.append(row)
            note_audit(
                net,
                when,
                ctx.lead_id,
                "create",
                "TouchConsentEntry",
                row["id"],
                ctx.patient_id,
                row,
            )
    count = insert_rows(sink, Consent.__table__, consents)
    return count + insert_rows(sink, TouchConsentEntry.__table__, touch)


# --- preparation ---------------------------------------------------------------------------


def seed_set_intakes(net: Network, sink: Sink) -> int:
    rows = []
    for ctx in contexts(net):
        if ctx.times.preparation is None:
            continue
        start, left = ctx.times.preparation
        signed = left is not None or ctx.rng.random() < 0.7
        rows.append(
            record_row(
                net,
                SetIntake,
                ctx,
                min(start + timedelta(days=1), left or net.now),
                ctx.lead_id,
                RecordStatus.SIGNED if signed else RecordStatus.DRAFT,
                intention="To stop carrying the accident with me every day.",
                expectations="Some fear at the start, then letting it happen.",
                hopes="Sleep through the night again.",
                fears="Losing control in front of strangers.",
                emotional_readiness=ctx.rng.randint(5, 9),
                support_people="Partner; a close friend from work.",
                prior_experience="None.",
                helps_when_distressed="Slow breathing; a hand on the shoulder.",
                touch_preferences="Hand holding is fine; ask before anything else.",
                music_preferences="Instrumental; no vocals in English.",
                transport_plan="Partner drives home and stays the evening.",
            )
        )
    return insert_rows(sink, SetIntake.__table__, rows)


def seed_preparation_sessions(net: Network, sink: Sink) -> int:
    rows = []
    for ctx in contexts(net):
        if ctx.times.preparation is None:
            continue
        start, left = ctx.times.preparation
        wanted = ctx.protocol.min_preparation_sessions
        done = wanted if left is not None else ctx.rng.randint(0, wanted)
        topics = [t.id for t in ctx.protocol.preparation_topics[:3]]
        for n in range(done):
            end = left or net.now
            at = start + (end - start) * (n + 1) / (done + 1)
            draft = left is None and n == done - 1 and ctx.rng.random() < 0.3
            rows.append(
                record_row(
                    net,
                    PreparationSession,
                    ctx,
                    at,
                    ctx.lead_id,
                    RecordStatus.DRAFT if draft else RecordStatus.SIGNED,
                    duration_minutes=60,
                    co_facilitator_id=ctx.co_id,
                    topics=topics,
                    notes="Went through what the day will look like; practised breathing.",
                )
            )
    return insert_rows(sink, PreparationSession.__table__, rows)


# --- measures --------------------------------------------------------------------------------


@cache
def instruments() -> dict:
    return load_instruments(default_instrument_dir())


@cache
def _scores(instrument_id: str) -> tuple[tuple[float, str | None, int | None], ...]:
    """Totals across the instrument's range, each with its severity band."""
    instrument = instruments()[instrument_id]
    low, high = instrument.total_min, instrument.total_max
    out = []
    for step in range(11):
        total = round(low + (high - low) * step / 10)
        band = next((b for b in instrument.bands if b.min <= total <= b.max), None)
        out.append((float(total), band.label if band else None, band.level if band else None))
    return tuple(out)


def measure(net, ctx, instrument_id, timepoint, at, improvement: float) -> dict:
    """A signed measure; `improvement` (0 at baseline, up to 1) moves it toward the good end."""
    instrument = instruments()[instrument_id]
    severity = max(0.0, min(1.0, ctx.rng.uniform(0.5, 0.8) * (1 - improvement)))
    scale = _scores(instrument_id)
    step = round((1 - severity if instrument.higher_is_better else severity) * 10)
    total, band, level = scale[step]
    risk = ("none" if ctx.rng.random() < 0.9 else "low") if instrument_id == RISK_SCREEN else None
    return record_row(
        net,
        MeasureResponse,
        ctx,
        at,
        ctx.lead_id,
        RecordStatus.SIGNED,
        instrument_id=instrument_id,
        timepoint=timepoint,
        answers={},
        total=total,
        band=band,
        band_level=level,
        subscales={},
        risk=risk,
    )


def seed_measures(net: Network, sink: Sink) -> int:
    """Baseline in preparation, the experience scales the day after each dosing session,
    follow-up at the protocol's weeks (risk screens at integration come with the notes)."""
    rows = []
    for ctx in contexts(net):
        t, p = ctx.times, ctx.protocol
        if t.preparation is not None:
            start, left = t.preparation
            if left is not None or ctx.rng.random() < 0.5:
                at = min(start + timedelta(days=3), left or net.now)
                rows += [measure(net, ctx, i, BASELINE, at, 0.0) for i in p.baseline_measures]
        for n, when in enumerate(net.session_times.get(ctx.plan.id, []), start=1):
            at = when + timedelta(days=1)
            if at < net.now:
                rows += [
                    measure(net, ctx, i, f"after_dosing_{n}", at, 0.3)
                    for i in p.after_dosing_measures
                ]
        if t.follow_up is not None:
            last_dose = net.session_times[ctx.plan.id][-1]
            for week in p.follow_up_weeks:
                at = last_dose + timedelta(weeks=week)
                if t.end is not None and week == p.follow_up_weeks[-1]:
                    at = min(at, t.end - timedelta(days=1))  # completing needed the final one
                if at < (t.end or net.now):
                    rows += [
                        measure(net, ctx, i, f"follow_up_week_{week}", at, 0.5)
                        for i in p.follow_up_measures
                    ]
    return insert_rows(sink, MeasureResponse.__table__, rows)


# --- dosing sessions -------------------------------------------------------------------------


def seed_dosing_sessions(net: Network, sink: Sink) -> int:
    """One session per dosing step: signed (checklist done, doses, vitals, discharge) for each
    step the course has left; under way now for some of the courses in dosing."""
    sessions, entries, live = [], _Entries(), net.leads_with_live_session
    for ctx in contexts(net):
        times = []
        for start, left in ctx.times.dosing:
            if left is not None:
                at = max(start, left - timedelta(hours=20))
                sessions.append(_session(net, ctx, at, entries, signed=True))
                times.append(at)
            elif ctx.plan.phase == Phase.DOSING and (
                ctx.lead_id not in live or ctx.rng.random() < SESSION_IN_PROGRESS_SHARE
            ):
                live.add(ctx.lead_id)  # every clinician with a course in dosing has one
                at = net.now - timedelta(minutes=ctx.rng.uniform(30, 150))
                sessions.append(_session(net, ctx, at, entries, signed=False))
        net.session_times[ctx.plan.id] = times
    count = insert_rows(sink, DosingSession.__table__, sessions)
    count += sink.write_with(write_answers, entries.answers)
    for model, rows in (
        (DoseAdministration, entries.doses),
        (SessionEvent, entries.events),
        (AdverseEvent, entries.adverse),
    ):
        count += insert_rows(sink, model.__table__, rows)
    return count


ANSWER_COLUMNS = ("id", "session_id", "recorded_at", "recorded_by_id", "kind", "item_id", "value")


_ANSWERS: dict[tuple[str, bool], tuple[tuple[str, str, bool], ...]] = {}


def _answers(protocol, signed: bool) -> tuple[tuple[str, str, bool], ...]:
    """The answers of a session of `protocol` (kind, item, value), the same for every one."""
    found = _ANSWERS.get((protocol.key, signed))
    if found is None:
        answers = [(AnswerKind.CHECKLIST, i.id, True) for i in protocol.checklist]
        answers += [(AnswerKind.QUESTION, q.id, False) for q in protocol.session_questions]
        whens = {i.id: i.when for i in (*protocol.checklist, *protocol.session_questions)}
        found = _ANSWERS[protocol.key, signed] = tuple(
            (kind.value, item_id, value)
            for kind, item_id, value in answers
            if signed or whens[item_id] == "before"
        )
    return found


def write_answers(sink: ConnectionSink, plan: Iterator[tuple]) -> int:
    """Each session's checklist and questions, made by the writing process from (session,
    ticked at, by, answers): nearly a million rows at 10,000 patients (see `seed_vitals`)."""

    def rows() -> Iterator[tuple]:
        # No other seeder makes answers: the ids go on from the blocks before.
        answer_id = sink.rows_written.get(SessionAnswer.__tablename__, 0)
        for sid, ticked, by, answers in plan:
            for kind, item_id, value in answers:
                answer_id += 1
                yield (answer_id, sid, ticked, by, kind, item_id, value)

    return insert_tuples(sink, SessionAnswer.__table__, ANSWER_COLUMNS, rows())


@dataclass
class _Entries:
    answers: list = field(default_factory=list)
    doses: list = field(default_factory=list)
    events: list = field(default_factory=list)
    adverse: list = field(default_factory=list)


def _entry(net, table, ctx, session_id, when, by, **values) -> dict:
    row = {
        "id": net.next_id(table),
        "session_id": session_id,
        "recorded_at": when,
        "recorded_by_id": by,
        **values,
    }
    return row


def _session(net, ctx, at: datetime, entries: _Entries, signed: bool) -> dict:
    p, rng = ctx.protocol, ctx.rng
    pair = p.facilitators_required == 2 and ctx.co_id is not None
    facilitators = [ctx.lead_id, ctx.co_id] if pair else [ctx.lead_id]
    dose_at = at + timedelta(minutes=15)
    end = at + timedelta(minutes=p.min_monitoring_minutes + 30)
    sid = net.next_id("dosing_sessions")
    # The checklist: every item once signed; only the "before" items while under way.
    ticked = net.db_time(at + timedelta(minutes=5))
    entries.answers.append((sid, ticked, ctx.lead_id, _answers(p, signed)))
    dose = p.dose
    entries.doses.append(
        _entry(
            net,
            "dose_administrations",
            ctx,
            sid,
            dose_at,
            ctx.lead_id,
            kind=DoseKind.INITIAL,
            substance=dose.substance,
            amount=dose.min,
            unit=dose.unit,
            route=dose.route,
            lot_number=f"LOT-{ctx.plan.id % 9000 + 1000}",
            given_at=dose_at,
        )
    )
    if signed and dose.supplemental_allowed and rng.random() < 0.7:
        extra_at = dose_at + timedelta(minutes=dose.supplemental_after_minutes[0])
        entries.doses.append(
            _entry(
                net,
                "dose_administrations",
                ctx,
                sid,
                extra_at,
                ctx.lead_id,
                kind=DoseKind.SUPPLEMENTAL,
                substance=dose.substance,
                amount=dose.supplemental_min,
                unit=dose.unit,
                route=dose.route,
                lot_number=f"LOT-{ctx.plan.id % 9000 + 1000}",
                given_at=extra_at,
            )
        )
    for kind, minutes, note in (
        (EventKind.ONSET, 35, ""),
        (EventKind.MUSIC_CHANGE, 60, "Second playlist."),
        (EventKind.PEAK, 90, ""),
        (EventKind.NOTE, 150, "Tearful, then settled; asked for a blanket."),
    ):
        when = dose_at + timedelta(minutes=minutes)
        if when < (end if signed else net.now):
            entries.events.append(
                _entry(
                    net,
                    "session_events",
                    ctx,
                    sid,
                    when,
                    ctx.lead_id,
                    kind=kind,
                    at=when,
                    note=note,
                )
            )
    vitals_until = end if signed else net.now
    net.vitals_plan.append((sid, ctx.lead_id, dose_at, vitals_until, p))
    if signed and rng.random() < ADVERSE_EVENT_SHARE:
        serious = rng.random() < SERIOUS_SHARE
        onset = dose_at + timedelta(minutes=70)
        row = _entry(
            net,
            "adverse_events",
            ctx,
            sid,
            onset,
            ctx.lead_id,
            course_id=ctx.plan.id,
            onset_at=onset,
            description="Nausea with one episode of vomiting.",
            severity=3 if serious else 1,
            serious=serious,
            seriousness_criteria=["hospitalisation"] if serious else [],
            relatedness=Relatedness.PROBABLE,
            action_taken="Antiemetic given; rested.",
            outcome=Outcome.RECOVERED,
        )
        entries.adverse.append(row)
        if serious:
            alert(
                net,
                ctx,
                AlertKind.SERIOUS_ADVERSE_EVENT,
                "Serious adverse event (grade 3).",
                "dosing_session",
                sid,
                onset,
                acknowledged=True,
            )
    row = {
        "id": sid,
        "course_id": ctx.plan.id,
        "author_id": ctx.lead_id,
        "occurred_at": at,
        "created_at": at,
        "updated_at": end if signed else at,
        "status": RecordStatus.SIGNED if signed else RecordStatus.DRAFT,
        "needs_cosign": False,
        "voided_at": None,
        "voided_by_id": None,
        "void_reason": None,
        "version": 3 if signed else 1,
        "facilitator_ids": facilitators,
        "notes": "Settled session; music helped through the peak." if signed else "",
        "discharged_at": end if signed else None,
        "ready_to_leave_at": end - timedelta(minutes=10) if signed else None,
        "discharge_criteria_met": [c.id for c in p.discharge_criteria] if signed else [],
        "accompanied_by": "Partner" if signed else "",
        "transport_plan": "Partner drives home and stays the evening." if signed else "",
        "left_as_planned": True if signed else None,
        "transport_deviation": "",
    }
    note_audit(net, at, ctx.lead_id, "create", "DosingSession", sid, ctx.patient_id, row)
    if signed:
        # The signature binds the session row; its entries are bound through the session id.
        sign(net, DosingSession, row, ctx, ctx.lead_id, Meaning.AUTHORED, end)
        if pair:
            sign(net, DosingSession, row, ctx, ctx.co_id, Meaning.CO_FACILITATED, end)
    return row


VITALS_COLUMNS = (
    "id",
    "session_id",
    "recorded_at",
    "recorded_by_id",
    "taken_at",
    "systolic",
    "diastolic",
    "heart_rate",
    "temperature_c",
    "spo2",
    "flags",
    "acknowledged_at",
    "acknowledged_by_id",
    "acknowledgement",
    "version",
)


def seed_vitals(net: Network, sink: Sink) -> int:
    """The protocol's full readings at its schedule, and pulse-oximeter readings between.

    The readings (a million at 10,000 patients) are made from each session's plan by the
    process that writes them (`write_with`), which has time to spare while this one signs
    records, and is spared unpickling them."""
    plan = (
        (
            sid,
            by,
            dose_at,
            int((until - dose_at).total_seconds() // 60),
            protocol.vitals_schedule_minutes,
        )
        for sid, by, dose_at, until, protocol in net.vitals_plan
    )
    return sink.write_with(partial(write_vitals, seed=net.shape.seed), plan)


def write_vitals(sink: ConnectionSink, plan: Iterator[tuple], seed: int) -> int:
    # No other seeder makes readings: the ids go on from the blocks before, and each block
    # draws its own stream.
    first_id = sink.rows_written.get(VitalSign.__tablename__, 0)
    rng = random.Random(seed + first_id)
    sqlite = sink.dialect.name == "sqlite"

    def rows() -> Iterator[tuple]:
        randrange = rng.randrange
        reading_id = first_id
        for sid, by, dose_at, last, schedule in plan:
            full = set(schedule)
            minutes = sorted(full | set(range(0, last + 1, MONITOR_EVERY_MINUTES)))
            for minute in minutes:
                if minute > last:
                    break
                at = driver_time(dose_at + timedelta(minutes=minute), sqlite)
                if minute in full:
                    bp = (118 + randrange(25), 72 + randrange(15))
                    temperature = 36.6
                else:
                    bp, temperature = (None, None), None
                reading_id += 1
                yield (
                    reading_id,
                    sid,
                    at,
                    by,
                    at,
                    *bp,
                    68 + randrange(25),
                    temperature,
                    96 + randrange(4),
                    "[]",
                    None,
                    None,
                    "",
                    1,
                )

    return insert_tuples(sink, VitalSign.__table__, VITALS_COLUMNS, rows())


# --- integration -----------------------------------------------------------------------------


def seed_integration(net: Network, sink: Sink) -> int:
    """Notes after each dosing session, each opened by a signed check-in and (where the
    protocol asks) a C-SSRS; their action plans; the scheduled calls; the supervisor's reviews."""
    notes, check_ins, screens, items, reviews = [], [], [], [], []
    writing = net.drafts_by_lead
    for ctx in contexts(net):
        p, rng = ctx.protocol, ctx.rng
        open_items: list[dict] = []
        for (start, left), dosed in zip(
            ctx.times.integration, net.session_times.get(ctx.plan.id, []), strict=False
        ):
            for day in p.safety_checkin_days:
                at = dosed + timedelta(days=day)
                if at < (left or net.now) and at < net.now:
                    check_ins.append(
                        _check_in(net, ctx, at, CheckInContext.CALL, len(check_ins), day)
                    )
            wanted = p.integration_sessions_per_dosing
            end = left or net.now
            for n in range(wanted):
                at = start + (end - start) * (n + 1) / (wanted + 1)
                if left is None and n > 0 and rng.random() < 0.3:
                    break  # the course is partway through this round of notes
                # Every clinician with courses in integration is writing a few notes now (the
                # benchmark's concurrent users each save a different one).
                draft = left is None and (
                    writing.get(ctx.lead_id, 0) < MIN_DRAFTS or rng.random() < DRAFT_NOTE_SHARE
                )
                if draft:
                    writing[ctx.lead_id] = writing.get(ctx.lead_id, 0) + 1
                check_in = _check_in(net, ctx, at, CheckInContext.INTEGRATION_SESSION, 0, None)
                check_ins.append(check_in)
                screen = None
                if p.risk_screen_at_integration:
                    screen = measure(net, ctx, RISK_SCREEN, "integration", at, 0.4)
                    screens.append(screen)
                note = _note(net, ctx, at, check_in, screen, draft, open_items, items)
                notes.append(note)
                if not draft:
                    reviews += _review(net, ctx, note)
                if draft:
                    break
    count = insert_rows(sink, SafetyCheckIn.__table__, check_ins)
    count += insert_rows(sink, MeasureResponse.__table__, screens)
    count += insert_rows(sink, IntegrationSession.__table__, notes)
    count += insert_rows(sink, ActionItem.__table__, items)
    return count + insert_rows(sink, Review.__table__, reviews)


def _check_in(net, ctx, at, context, n, day) -> dict:
    concern = ctx.rng.random() < CHECK_IN_CONCERN_SHARE
    row = record_row(
        net,
        SafetyCheckIn,
        ctx,
        at,
        ctx.lead_id,
        RecordStatus.SIGNED,
        context=context,
        dosing_number=len(net.session_times.get(ctx.plan.id, [])) if day else None,
        scheduled_day=day,
        serious_events=False,
        serious_events_detail="",
        sleep=Sleep.BADLY_DISTURBED if concern else Sleep.AS_USUAL,
        substance_use=False,
        substance_use_detail="",
        back_to_normal=True,
        suicidal_thoughts=False,
        notes="",
    )
    if concern:
        alert(
            net,
            ctx,
            AlertKind.SAFETY_CHECK_IN,
            "Safety check-in: badly disturbed sleep.",
            "safety_check_in",
            row["id"],
            at,
            acknowledged=at < net.now - timedelta(days=2),
        )
    return row


def _note(net, ctx, at, check_in, screen, draft, open_items, items) -> dict:
    nid = net.next_id("integration_sessions")
    closed = []
    for item in open_items:  # the plan carried forward: each item done or dropped here
        status = ActionStatus.DONE if ctx.rng.random() < 0.7 else ActionStatus.DROPPED
        if not draft:
            item.update(status=status, closed_in_id=nid, closed_at=at)
            closed.append([item["id"], item["text"], status.value])
    open_items[:] = [i for i in open_items if i["status"] == ActionStatus.OPEN]
    created = []
    for text in ("Walk every morning before work.", "Call my sister on Sundays."):
        item = {
            "id": net.next_id("action_items"),
            "course_id": ctx.plan.id,
            "text": text,
            "created_in_id": nid,
            "created_at": at,
            "status": ActionStatus.OPEN,
            "closed_in_id": None,
            "closed_at": None,
        }
        items.append(item)
        open_items.append(item)
        created.append([item["id"], text, "open"])
    content = {
        "duration_minutes": 60,
        "themes": "Grief for the years lost; first anger at the father.",
        "emotions": ["grief", "anger", "relief"],
        "emotions_notes": "",
        "meaning_made": "I was not to blame for what happened at home.",
        "risk_notes": "C-SSRS screener negative; safety plan reviewed." if screen else "",
        "plan_next_session": "Return to the letter to the father.",
        "notes": "",
        "check_in_id": check_in["id"],
        "risk_screen_id": screen["id"] if screen else None,
    }
    row = {
        "id": nid,
        "course_id": ctx.plan.id,
        "author_id": ctx.lead_id,
        "occurred_at": at,
        "created_at": at,
        "updated_at": at,
        "status": RecordStatus.DRAFT if draft else RecordStatus.SIGNED,
        "needs_cosign": False,
        "voided_at": None,
        "voided_by_id": None,
        "void_reason": None,
        "version": 1 if draft else 2,
        **content,
    }
    note_audit(net, at, ctx.lead_id, "create", "IntegrationSession", nid, ctx.patient_id, row)
    if not draft:
        items_bound = sorted(closed + created)
        sign(
            net,
            IntegrationSession,
            row,
            ctx,
            ctx.lead_id,
            Meaning.AUTHORED,
            at + timedelta(hours=2),
            {"measures_given": [], "action_items": items_bound},
        )
    return row


def _review(net, ctx, note) -> list[dict]:
    """Notes signed more than REVIEWED_AFTER_DAYS ago were co-signed (a few returned first);
    newer ones wait in the supervisor's queue."""
    signed_at = note["occurred_at"] + timedelta(hours=2)
    if net.now - signed_at < timedelta(days=REVIEWED_AFTER_DAYS):
        return []
    out = []
    decided = signed_at + timedelta(days=ctx.rng.uniform(1, 6))
    if ctx.rng.random() < RETURNED_SHARE:
        out.append(
            _review_row(
                net,
                ctx,
                note,
                Decision.RETURNED,
                decided,
                "Say what the risk plan is if sleep gets worse.",
                resubmitted=decided + timedelta(days=1),
            )
        )
        decided += timedelta(days=2)
    note["status"] = RecordStatus.COSIGNED
    note["version"] = 3
    sign(net, IntegrationSession, note, ctx, ctx.supervisor_id, Meaning.REVIEWED, decided)
    out.append(_review_row(net, ctx, note, Decision.COSIGNED, decided, ""))
    return out


def _review_row(net, ctx, note, decision, at, comments, resubmitted=None) -> dict:
    row = {
        "id": net.next_id("reviews"),
        "record_type": IntegrationSession.record_type,
        "record_id": note["id"],
        "course_id": ctx.plan.id,
        "author_id": note["author_id"],
        "reviewer_id": ctx.supervisor_id,
        "decision": decision,
        "comments": comments,
        "fidelity": None,
        "decided_at": at,
        "resubmitted_at": resubmitted,
    }
    note_audit(net, at, ctx.supervisor_id, "create", "Review", row["id"], ctx.patient_id, row)
    return row


# --- what the seeders above collected -------------------------------------------------------


def seed_signatures(net: Network, sink: Sink) -> int:
    return insert_rows(sink, Signature.__table__, net.signatures)


def seed_alerts(net: Network, sink: Sink) -> int:
    return insert_rows(sink, Alert.__table__, net.alerts)


@reads_rows
def build_record_indexes(net: Network, conn: sa.Connection) -> int:
    """Every table's indexes but the audit trail's, which is written last
    (`bench.loading.drop_for_the_load`): the stored values below read through them.

    On PostgreSQL the tables are then analysed (the transaction's own rows count): without
    statistics the planner took every batch of the stored values for a few rows and chose
    nested loops over thousands (the schedule's, gate facts' and scores' steps took 342 s at
    100,000 patients)."""
    built = build_after_the_load(
        net, conn, [t for t in list(net.dropped_for_load) if t != "audit_events"]
    )
    if conn.dialect.name == "postgresql":
        for table in sorted(VitalSign.metadata.tables):
            if table != "audit_events":
                conn.exec_driver_sql(f"ANALYZE {table}")
    return built


@reads_rows
def seed_schedule_attention(net: Network, conn: sa.Connection) -> int:
    """Each course's `attention_from` by the app's own rule over the rows just seeded: the
    seed writes around the ORM, so the listener that keeps it in the app never saw them."""
    return attention.refresh_all(conn, {p.key: p for p in net.protocols})


@reads_rows
def seed_stored_gate_facts(net: Network, conn: sa.Connection) -> int:
    """Each course's stored gate facts by the app's own fact sources over the rows just
    seeded (the seed writes around the ORM). The sources read the catalog of a running app:
    a bare one holds the network's protocols and the shipped instruments."""
    app = Flask("psiflow-bench-seed")
    app.extensions["psiflow"] = {
        "protocols": {p.key: p for p in net.protocols},
        "instruments": load_instruments(default_instrument_dir()),
    }
    with app.app_context():
        return gates.refresh_all(conn)


@reads_rows
def seed_outcome_scores(net: Network, conn: sa.Connection) -> int:
    """Each course's stored outcome scores by the app's own rule over the measures just
    seeded (the seed writes around the ORM)."""
    return outcomes.refresh_all(conn)
