"""Demo screening, consent, touch consent, set intake, preparation sessions and baselines."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from psiflow import catalog
from psiflow.domain.instruments import record_totals, score_instrument
from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning
from psiflow.extensions import db
from psiflow.models import (
    Consent,
    PreparationSession,
    Screening,
    ScreeningFlag,
    SetIntake,
    TouchConsentEntry,
)
from psiflow.models.measures import record_measure
from psiflow.models.preparation import clear_flag
from psiflow.models.records import sign_record

if TYPE_CHECKING:
    from psiflow.demo import DemoContext

INTENTIONS = (
    "I want to stop carrying my brother's death around like a stone.",
    "To understand why I shut down whenever someone gets close.",
    "I'd like to feel something other than numb when I wake up.",
    "To make peace with my body after the accident.",
    "I want to find out who I am without the drinking.",
    "To forgive myself for the years I lost to depression.",
)
TRANSPORT = (
    "Partner collects at 6 pm and stays overnight.",
    "Sister drives home; a friend stays the night.",
    "Licensed taxi booked to a family member's house; mother meets there.",
)


def seed(ctx: DemoContext) -> None:
    supervisor = ctx.users["supervisor@demo.psiflow"]
    for n, (course, walked) in enumerate(ctx.courses):
        phases = [phase for phase, _ in walked]
        entered = dict(walked)
        author = course.patient.lead_clinician
        start = entered[Phase.SCREENING]
        past_screening = Phase.PREPARATION in phases
        # Screening: signed for everyone past it; in screening, a draft or a flag to clear.
        flagged = n % 4 == 1
        screening = _screening(course, author, start + timedelta(days=1), positive=flagged)
        if past_screening or n % 3 != 0:
            sign_record(screening, author, Meaning.AUTHORED, now=screening.occurred_at)
            if flagged and past_screening:
                db.session.flush()
                for flag in db.session.scalars(
                    sa.select(ScreeningFlag).where(ScreeningFlag.screening_id == screening.id)
                ):
                    clear_flag(
                        flag,
                        supervisor,
                        "Reviewed with the prescriber: stopped eight weeks ago, washout complete.",
                        now=screening.occurred_at + timedelta(days=2),
                    )
        if not past_screening and n % 2 == 0:
            continue
        consent = Consent(
            course=course,
            author=author,
            occurred_at=start + timedelta(days=2),
            form_version="PAT consent v3.1",
            consented_on=(start + timedelta(days=2)).date(),
            witness_name="Alex Morgan (clinic nurse)",
            capacity_confirmed=True,
            risks_discussed=True,
            notes="Questions about driving answered.",
        )
        db.session.add(consent)
        sign_record(consent, author, Meaning.AUTHORED, now=consent.occurred_at)
        db.session.add(
            TouchConsentEntry(
                course_id=course.id,
                recorded_by_id=author.id,
                recorded_at=consent.occurred_at,
                change="agreed",
                agreed_touch=["hand_holding", "hand_on_shoulder"],
                note="Hand on shoulder only if I ask.",
            )
        )
        if not past_screening:
            continue
        prep_start = entered[Phase.PREPARATION]
        intake = SetIntake(
            course=course,
            author=author,
            occurred_at=prep_start + timedelta(days=1),
            intention=INTENTIONS[n % len(INTENTIONS)],
            expectations="Some fear, mostly hope; has read the preparation booklet.",
            hopes="Feel lighter; reconnect with family.",
            fears="Losing control; nausea.",
            emotional_readiness=6 + n % 4,
            support_people="Partner; a close friend.",
            prior_experience="None" if n % 3 else "Psilocybin once, twenty years ago.",
            helps_when_distressed="Slow breathing, a hand to hold, being reminded where I am.",
            touch_preferences="Hand holding is fine.",
            music_preferences="No lyrics; piano.",
            transport_plan=TRANSPORT[n % len(TRANSPORT)],
        )
        db.session.add(intake)
        ready = Phase.DOSING in phases
        sessions = (
            course.protocol.min_preparation_sessions
            if ready
            else max(1, course.protocol.min_preparation_sessions - 1)
        )
        topics = [t.id for t in course.protocol.preparation_topics]
        for i in range(sessions):
            prep = PreparationSession(
                course=course,
                author=author,
                occurred_at=prep_start + timedelta(days=2 + 2 * i),
                duration_minutes=90,
                topics=topics[i::2][:3] or topics[:1],
                notes="Reviewed intention and the plan for the day; practised grounding.",
            )
            db.session.add(prep)
            sign_record(prep, author, Meaning.AUTHORED, now=prep.occurred_at)
        if ready:
            sign_record(intake, author, Meaning.AUTHORED, now=intake.occurred_at)
            _baselines(course, author, prep_start + timedelta(days=3), n)
            course.planned_dosing_at = entered[Phase.DOSING]


def _screening(course, author, at, positive: bool) -> Screening:
    checks = {c.id: {"positive": False, "detail": ""} for c in course.protocol.contraindications}
    if positive:
        # A medicine the patient has since stopped: the flag the demo supervisor clears.
        medicines = (
            "ssri_taper",
            "lithium",
            "maoi",
            "sedating_medications",
            "rems_sedating_medications",
            "tramadol",
        )
        flagged = next((c for c in medicines if c in checks), next(iter(checks)))
        checks[flagged] = {"positive": True, "detail": "Reported at intake; prescriber consulted."}
    screening = Screening(
        course=course,
        author=author,
        occurred_at=at,
        medical_history="Hypothyroidism, treated; no cardiac history. BP 124/78 at intake.",
        psychiatric_history="Major depressive disorder, recurrent; two adequate SSRI trials.",
        medications=["Levothyroxine 75 mcg daily"],
        checks=checks,
    )
    db.session.add(screening)
    return screening


def _baselines(course, author, at, n: int) -> None:
    instruments = catalog.instruments()
    for offset, instrument_id in enumerate(course.protocol.baseline_measures):
        instrument = instruments[instrument_id]
        if instrument.reproduce_items:
            answers = _answers(instrument, n)
            score = score_instrument(instrument, answers)
        else:
            answers = {}
            score = record_totals(instrument, round(instrument.total_max * 0.45))
        record_measure(
            course,
            author,
            instrument,
            "baseline",
            answers,
            score,
            at + timedelta(minutes=10 * offset),
        )


def _answers(instrument, n: int) -> dict[str, int]:
    if instrument.id == "cssrs":
        return {"q1": 1 if n % 3 == 0 else 0, "q2": 0, "q6": 0}
    answers = {}
    for i, item in enumerate(instrument.items):
        values = sorted(o.value for o in item.options)
        # Moderate-to-severe symptoms (or low well-being) at baseline, varying by patient.
        position = (2 + (i + n) % 2) if not instrument.higher_is_better else (1 + (i + n) % 2)
        answers[item.id] = values[min(position, len(values) - 1)]
    return answers
