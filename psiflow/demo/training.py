"""Demo training: one scenario the demo trainee has run and signed, which the supervisor has
rated and commented on, so the adherence report and the progress pages have something to show.

The walk-through itself is a fresh run: the trainee starts any scenario from the Scenarios page
and its training clock runs a whole session in half an hour.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from psiflow import catalog
from psiflow.domain.dosing import DoseKind, EventKind
from psiflow.domain.review import Decision, Fidelity
from psiflow.domain.scenarios import newest_protocol
from psiflow.domain.signing import Meaning
from psiflow.domain.vitals import Reading
from psiflow.extensions import db
from psiflow.models import dosing
from psiflow.models.records import sign_record
from psiflow.models.reviews import Review
from psiflow.models.training import AdherenceComment, deliver_due_events, start_run

if TYPE_CHECKING:
    from psiflow.demo import DemoContext

SCENARIO = "ketamine-vomiting-leave"
TRAINEE = "trainee@demo.psiflow"
SUPERVISOR = "supervisor@demo.psiflow"


def seed(ctx: DemoContext) -> None:
    scenario = catalog.scenarios()[SCENARIO]
    protocol = newest_protocol(catalog.protocols(), scenario.protocol_id)
    trainee, supervisor = ctx.users[TRAINEE], ctx.users[SUPERVISOR]
    run = start_run(scenario, protocol, trainee, now=ctx.now - timedelta(days=2))
    session = run.session
    db.session.flush()

    def at(minutes):  # on the run's training clock, from the start of the session
        return session.occurred_at + timedelta(minutes=minutes)

    for i, item in enumerate(i for i in protocol.checklist if i.when == "before"):
        dosing.record_answer(
            session, dosing.AnswerKind.CHECKLIST, item.id, True, trainee, now=at(2 + i)
        )
    dosing.record_vitals(
        session,
        Reading(systolic=134, diastolic=84, heart_rate=72, spo2=98),
        None,
        trainee,
        now=at(27),
    )
    dose_at = at(30)
    dosing.record_dose(session, DoseKind.INITIAL, 150, "KAP-DEMO-7", None, trainee, now=dose_at)
    db.session.flush()

    def after(minutes):
        return dose_at + timedelta(minutes=minutes)

    # The trainee keeps the schedule, answers the blood pressure and the wish to leave, but
    # records the vomiting only on the timeline: the adverse event is the item they missed.
    schedule = [m for m in protocol.vitals_schedule_minutes if m > 0]
    for minute in range(0, 130, 1):
        deliver_due_events(run, scenario, trainee, after(minute))
        if minute in schedule:
            dosing.record_vitals(
                session,
                Reading(systolic=138, diastolic=86, heart_rate=78, spo2=97),
                None,
                trainee,
                now=after(minute + 1),
            )
        if minute == 23:
            flagged = next(v for v in session.vitals() if v.flags)
            dosing.acknowledge_vital(
                flagged,
                trainee,
                "Quiet room, reassurance; re-check in 5 minutes.",
                now=after(minute),
            )
        if minute == 27:
            dosing.record_vitals(
                session,
                Reading(systolic=152, diastolic=92, heart_rate=84),
                None,
                trainee,
                now=after(minute),
            )
        if minute == 52:
            dosing.record_event(
                session,
                EventKind.NOTE,
                None,
                "Vomited once; bowl, water, lying on his side.",
                trainee,
                now=after(minute),
            )
        if minute == 83:
            dosing.record_event(
                session,
                EventKind.NOTE,
                None,
                "Asked to leave at 80 minutes; explained the two-hour monitoring. Agreed to stay.",
                trainee,
                now=after(minute),
            )
        db.session.flush()
    for item in protocol.checklist:
        if item.when != "before":
            dosing.record_answer(
                session, dosing.AnswerKind.CHECKLIST, item.id, True, trainee, now=after(125)
            )
    for question in protocol.session_questions:
        dosing.record_answer(
            session, dosing.AnswerKind.QUESTION, question.id, False, trainee, now=after(125)
        )
    dosing.discharge(
        session,
        discharged_at=after(130),
        ready_to_leave_at=after(125),
        criteria_met=[c.id for c in protocol.discharge_criteria],
        accompanied_by="His wife",
        as_planned=True,
        deviation="",
        transport_plan="His wife collects him; no driving for 24 hours.",
        now=after(130),
    )
    db.session.flush()
    sign_record(session, trainee, Meaning.AUTHORED, now=after(140))
    reviewed = after(60 * 24)
    db.session.add(
        Review(
            record_type=session.record_type,
            record_id=session.id,
            course_id=session.course_id,
            author_id=trainee.id,
            reviewer_id=supervisor.id,
            decision=Decision.COSIGNED,
            fidelity={
                a.id: (Fidelity.PARTLY if i == 0 else Fidelity.MET).value
                for i, a in enumerate(protocol.adherence_items)
            },
            decided_at=reviewed,
        )
    )
    sign_record(session, supervisor, Meaning.REVIEWED, now=reviewed)
    db.session.add(
        AdherenceComment(
            run_id=run.id,
            item_key="vomiting.adverse_event",
            text="Vomiting after ketamine is an adverse event even when expected: record it "
            "(grade 1-2) as well as writing it on the timeline.",
            author_id=supervisor.id,
            created_at=reviewed,
        )
    )
