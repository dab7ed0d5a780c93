"""Builders for integration records (`gen_<thing>(**overrides)`): flush, never commit."""

from __future__ import annotations

from datetime import timedelta

from psiflow import catalog
from psiflow.domain.instruments import record_totals, score_instrument
from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning
from psiflow.extensions import db
from psiflow.models import IntegrationSession, MeasureResponse, PhaseTransition, SafetyCheckIn
from psiflow.models.integration import CheckInContext
from psiflow.models.records import sign_record
from psiflow.models.types import utcnow

PHQ9_ANSWERS = {f"q{i}": 2 for i in range(1, 10)}  # total 18
CSSRS_NONE = {"q1": 0, "q2": 0, "q6": 0}
PSILOCYBIN = "psilocybin-single-dose@1.0"
MDMA = "mdma-three-session@1.0"
# A check-in call's and a C-SSRS screen's answers as the web forms post them: nothing of concern.
CALM = {"sleep": "as_usual", "back_to_normal": "yes", "suicidal_thoughts": "no"}
NO_RISK = {"item_q1": "0", "item_q2": "0", "item_q6": "0"}


def gen_measure(
    course,
    author,
    instrument_id="phq9",
    timepoint="baseline",
    *,
    total=None,
    answers=None,
    occurred_at=None,
    sign=True,
) -> MeasureResponse:
    """A measure with a real score: answers for item-based instruments, a total otherwise."""
    instrument = catalog.instruments()[instrument_id]
    if instrument.items:
        if answers is None:
            answers = CSSRS_NONE if instrument_id == "cssrs" else _answers_for(instrument, total)
        score = score_instrument(instrument, answers)
    else:
        answers = {}
        score = record_totals(instrument, total if total is not None else instrument.total_min)
    measure = MeasureResponse(
        course=course,
        author=author,
        instrument_id=instrument_id,
        timepoint=timepoint,
        answers=answers,
        total=score.total,
        band=score.band,
        band_level=score.band_level,
        subscales=score.subscales,
        risk=score.risk,
        occurred_at=occurred_at or utcnow(),
    )
    db.session.add(measure)
    db.session.flush()
    if sign:
        sign_record(measure, author, Meaning.AUTHORED)
    return measure


def _answers_for(instrument, total):
    """Item answers summing to `total` (raw, before any multiplier)."""
    raw = int((total if total is not None else 0) / instrument.multiplier)
    answers = {}
    for item in instrument.items:
        top = max(o.value for o in item.options)
        answers[item.id] = min(top, raw)
        raw -= answers[item.id]
    assert raw == 0, "total out of range"
    return answers


def gen_check_in(course, author, *, sign=True, **fields) -> SafetyCheckIn:
    check_in = SafetyCheckIn(
        course=course, author=author, **{"context": CheckInContext.INTEGRATION_SESSION, **fields}
    )
    db.session.add(check_in)
    db.session.flush()
    if sign:
        sign_record(check_in, author, Meaning.AUTHORED)
    return check_in


def gen_integration_session(
    course, author, *, sign=True, occurred_at=None, **fields
) -> IntegrationSession:
    """A complete note with its start-of-session check-in and risk screen."""
    occurred_at = occurred_at or utcnow()
    check_in = gen_check_in(course, author, occurred_at=occurred_at)
    screen = gen_measure(course, author, "cssrs", "integration", occurred_at=occurred_at)
    note = IntegrationSession(
        course=course,
        author=author,
        **{
            "duration_minutes": 60,
            "themes": "Reconnecting with her brother.",
            "meaning_made": "Grief can sit beside joy.",
            "plan_next_session": "Review the walk.",
            "check_in_id": check_in.id,
            "risk_screen_id": screen.id,
            "occurred_at": occurred_at,
            **fields,
        },
    )
    db.session.add(note)
    db.session.flush()
    if sign:
        sign_record(note, author, Meaning.AUTHORED)
    return note


def dosed_course(course, at=None):
    """Record a dosing -> integration transition `at` (default: two days ago)."""
    at = at or utcnow() - timedelta(days=2)
    db.session.add(
        PhaseTransition(
            course=course,
            from_phase=Phase.DOSING,
            to_phase=Phase.INTEGRATION,
            at=at,
            by_id=course.patient.lead_clinician_id,
            reason="dosed",
        )
    )
    course.phase = Phase.INTEGRATION
    db.session.flush()
    return at
