"""Demo integration history: measures over months, integration notes with action plans,
safety calls, supervisor reviews (one note returned), and a safety alert.

Deterministic (no randomness), so every demo tells the same story: most patients improve,
some respond, a few remit, one does not.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from psiflow import catalog
from psiflow.access import Role
from psiflow.domain.instruments import record_totals, score_instrument
from psiflow.domain.phases import Phase
from psiflow.domain.review import Decision, Fidelity
from psiflow.domain.schedule import after_dosing_timepoint, follow_up_timepoint
from psiflow.domain.signing import Meaning, RecordStatus
from psiflow.extensions import db
from psiflow.models import ActionItem, IntegrationSession, MeasureResponse, SafetyCheckIn
from psiflow.models.alerts import AlertKind, raise_alert
from psiflow.models.integration import ActionStatus, CheckInContext, Sleep
from psiflow.models.measures import record_measure
from psiflow.models.records import sign_record
from psiflow.models.reviews import Review

if TYPE_CHECKING:
    from psiflow.demo import DemoContext

# Each outcome instrument's baseline range and the share of it left at the end of a course,
# by patient (cycled): most improve, some respond, a few remit, one barely changes.
_BASELINE = {
    "phq9": (14, 22),
    "gad7": (11, 17),
    "pcl5": (42, 60),
    "madrs": (26, 38),
    "who5": (16, 36),
}
_KEEPS = (0.35, 0.55, 0.2, 0.9, 0.45, 0.6)
_THEMES = (
    (
        "Grief for her mother came up as warmth rather than only loss.",
        "Love and grief are the same attachment.",
        ["grief", "love"],
    ),
    (
        "Saw the pattern of over-working as a way to avoid feeling unsafe.",
        "Rest is not failure.",
        ["fear", "relief"],
    ),
    (
        "Re-experienced the accident from a distance, without panic.",
        "The danger is over; the body can learn that.",
        ["fear", "awe"],
    ),
    (
        "Felt connected to his younger self; cried for the first time in years.",
        "He deserves the care he gives others.",
        ["sadness", "love"],
    ),
)
_COMMITMENTS = (
    "Walk outside for 20 minutes each morning",
    "Call my sister on Sundays",
    "Write down one dream or image a day",
    "Say no to one extra shift this week",
    "Ten minutes of the breathing practice before bed",
)


def seed(ctx: DemoContext) -> None:
    supervisor = next(u for u in ctx.users.values() if u.role == Role.SUPERVISOR)
    instruments = catalog.instruments()
    have_baseline = {
        (course_id, instrument_id)
        for course_id, instrument_id in db.session.execute(
            sa.select(MeasureResponse.course_id, MeasureResponse.instrument_id).where(
                MeasureResponse.timepoint == "baseline"
            )
        )
    }
    returned = alerted = False
    for n, (course, walked) in enumerate(ctx.courses):
        entered = dict(walked)
        author = course.patient.lead_clinician
        protocol = course.protocol
        if Phase.PREPARATION not in entered or Phase.WITHDRAWN in entered:
            continue
        keep = _KEEPS[n % len(_KEEPS)]
        baseline_at = entered[Phase.PREPARATION] + timedelta(days=2, hours=3)
        for iid in protocol.baseline_measures:
            if (course.id, iid) not in have_baseline:
                _measure(
                    course,
                    author,
                    instruments[iid],
                    "baseline",
                    baseline_at,
                    _value(iid, n, 0.0, keep),
                )
        dosed = entered.get(Phase.INTEGRATION)
        if dosed is None:
            continue
        end = entered.get(Phase.COMPLETED, ctx.now)
        for iid in protocol.after_dosing_measures:
            _measure(
                course,
                author,
                instruments[iid],
                after_dosing_timepoint(1),
                dosed + timedelta(days=1, hours=2),
                None,
                experience=n,
            )
        for day in protocol.safety_checkin_days:
            at = dosed + timedelta(days=day, hours=1)
            if at < ctx.now - timedelta(hours=2):
                worried = not alerted and course.phase == Phase.INTEGRATION
                call = _check_in(
                    course, author, at, CheckInContext.CALL, worried, dosing_number=1, day=day
                )
                if worried:
                    raise_alert(
                        course,
                        AlertKind.SAFETY_CHECK_IN,
                        f"Safety check-in ({call.when_label}): badly disturbed sleep.",
                        source=call,
                        by=author,
                        now=at,
                    )
                    alerted = True
        left_integration = entered.get(Phase.FOLLOW_UP, end)
        notes = _integration_notes(course, author, dosed, left_integration, ctx.now, n, keep)
        returned = _reviews(notes, supervisor, ctx.now, returned) or returned
        if Phase.FOLLOW_UP in entered:
            for week in protocol.follow_up_weeks:
                due = dosed + timedelta(weeks=week)
                if Phase.COMPLETED in entered:
                    due = min(due, end - timedelta(days=2))  # recorded before closing
                if due > ctx.now:
                    continue
                share = min(1.0, 0.6 + week / max(protocol.follow_up_weeks) * 0.4)
                for iid in protocol.follow_up_measures:
                    _measure(
                        course,
                        author,
                        instruments[iid],
                        follow_up_timepoint(week),
                        due,
                        _value(iid, n, share, keep),
                    )
    db.session.flush()


def _integration_notes(course, author, dosed, end, now, n, keep) -> list[IntegrationSession]:
    protocol = course.protocol
    # Weekly sessions beyond the protocol minimum are common; a protocol needing none (the
    # esketamine label) still gets the clinic's one optional review.
    wanted = (
        max(protocol.integration_sessions_per_dosing, 3)
        if (protocol.integration_sessions_per_dosing)
        else 1
    )
    # One patient in integration still waits for their first session: the dashboard shows it.
    if course.phase == Phase.INTEGRATION and n % 4 == 3:
        return []
    notes = []
    open_items: list[ActionItem] = []
    for i in range(wanted):
        at = dosed + timedelta(hours=20) + timedelta(days=7 * i)
        if at > min(end, now) - timedelta(hours=3):
            break
        check_in = _check_in(course, author, at, CheckInContext.INTEGRATION_SESSION, False)
        screen = None
        if protocol.risk_screen_at_integration:
            screen = _measure(course, author, catalog.instruments()["cssrs"], "integration", at, 0)
        given = []
        for iid in protocol.baseline_measures:
            if iid in _BASELINE:
                share = 0.3 + 0.3 * (i + 1) / max(wanted, 1)
                given.append(
                    _measure(
                        course,
                        author,
                        catalog.instruments()[iid],
                        "integration",
                        at + timedelta(minutes=50),
                        _value(iid, n, share, keep),
                    )
                )
        themes, meaning, emotions = _THEMES[(n + i) % len(_THEMES)]
        note = IntegrationSession(
            course=course,
            author=author,
            occurred_at=at,
            duration_minutes=60 + 15 * (i % 2),
            themes=themes,
            meaning_made=meaning,
            emotions=emotions,
            risk_notes="C-SSRS screen negative; safety plan current." if screen else "",
            plan_next_session="Review the commitments and what the week brought up.",
            check_in=check_in,
            risk_screen=screen,
            measures_given=given,
            status=RecordStatus.DRAFT,
        )
        db.session.add(note)
        db.session.flush()
        for item in open_items:
            if (item.id + i) % 3 != 0:
                item.status = ActionStatus.DONE if item.id % 4 else ActionStatus.DROPPED
                item.closed_in_id, item.closed_at = note.id, at
        open_items = [item for item in open_items if item.status == ActionStatus.OPEN]
        for k in range(2):
            item = ActionItem(
                course_id=course.id,
                created_in_id=note.id,
                created_at=at,
                text=_COMMITMENTS[(n + 2 * i + k) % len(_COMMITMENTS)],
            )
            db.session.add(item)
            open_items.append(item)
        db.session.flush()
        # The latest note of one course in integration is still a draft the author is writing.
        last = i == wanted - 1 or at + timedelta(days=7) > min(end, now) - timedelta(hours=3)
        if not (last and course.phase == Phase.INTEGRATION and n % 4 == 1):
            sign_record(note, author, Meaning.AUTHORED, now=at + timedelta(hours=2))
        notes.append(note)
    return notes


def _reviews(notes, supervisor, now, returned_already: bool) -> bool:
    """Co-sign notes older than a week; return one recent note with comments."""
    returned = False
    for note in notes:
        if note.status != RecordStatus.SIGNED or note.author.supervisor_id != supervisor.id:
            continue
        if now - note.occurred_at > timedelta(days=7):
            at = note.occurred_at + timedelta(days=2)
            sign_record(note, supervisor, Meaning.REVIEWED, now=at)
            fidelity = None
            if note.needs_cosign:
                fidelity = {a.id: Fidelity.MET.value for a in note.course.protocol.adherence_items}
            db.session.add(
                Review(
                    record_type=note.record_type,
                    record_id=note.id,
                    course_id=note.course_id,
                    author_id=note.author_id,
                    reviewer_id=supervisor.id,
                    decision=Decision.COSIGNED,
                    fidelity=fidelity,
                    decided_at=at,
                )
            )
        elif not returned_already and not returned and not note.needs_cosign:
            db.session.add(
                Review(
                    record_type=note.record_type,
                    record_id=note.id,
                    course_id=note.course_id,
                    author_id=note.author_id,
                    reviewer_id=supervisor.id,
                    decision=Decision.RETURNED,
                    decided_at=note.occurred_at + timedelta(hours=6),
                    comments="Please add how the patient's sleep was followed up after the "
                    "day-2 call, and whether the safety plan was reviewed.",
                )
            )
            returned = True
    return returned


def _value(instrument_id: str, n: int, share: float, keep: float) -> float:
    """A score `share` of the way from baseline to where this patient ends up."""
    low, high = _BASELINE.get(instrument_id, (0, 0))
    base = low + (n * 7) % (high - low + 1) if high else 0
    if instrument_id == "who5":  # higher is better: rises towards 76 or so
        target = base + (76 - base) * (1 - keep)
        return base + (target - base) * share
    return base - base * (1 - keep) * share


def _measure(course, author, instrument, timepoint, at: datetime, value, experience=None):
    if instrument.items:
        answers = _answers(instrument, value or 0)
        score = score_instrument(instrument, answers)
    else:
        answers = {}
        if experience is not None:  # experience scales: a mean item score, with subscales
            total = round(2.2 + (experience % 5) * 0.5, 1)
            subs = {
                s.id: min(s.max, round(total + 0.3 * (i - 1), 1))
                for i, s in enumerate(instrument.subscales)
            }
            score = record_totals(instrument, min(total, instrument.total_max), subs)
        else:
            score = record_totals(instrument, round(value))
    measure = record_measure(
        course,
        author,
        instrument,
        timepoint,
        answers,
        score,
        at,
        signed_at=at + timedelta(minutes=5),
    )
    return measure


def _answers(instrument, value: float) -> dict:
    if instrument.scoring == "risk":
        return {"q1": 0, "q2": 0, "q6": 0}
    raw = round(value / instrument.multiplier)
    answers = {}
    for i, item in enumerate(instrument.items):
        top = max(o.value for o in item.options)
        left = len(instrument.items) - i
        answers[item.id] = min(top, -(-raw // left))  # spread evenly, ceiling first
        raw -= answers[item.id]
    return answers


def _check_in(course, author, at, context, worried, dosing_number=None, day=None):
    check_in = SafetyCheckIn(
        course=course,
        author=author,
        occurred_at=at,
        context=context,
        dosing_number=dosing_number,
        scheduled_day=day,
        sleep=Sleep.BADLY_DISTURBED if worried else Sleep.AS_USUAL,
        notes="Waking at 3am most nights since the session." if worried else "",
        status=RecordStatus.DRAFT,
    )
    db.session.add(check_in)
    db.session.flush()
    sign_record(check_in, author, Meaning.AUTHORED, now=at + timedelta(minutes=10))
    return check_in
