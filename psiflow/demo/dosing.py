"""Demo dosing sessions: signed, realistic records for every demo course whose path reached
dosing, and one session in progress, so the live page and the gates have something to show."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from psiflow.access import Role
from psiflow.domain.dosing import DoseKind, EventKind, Outcome, Relatedness, minimum_minutes
from psiflow.domain.phases import Phase
from psiflow.domain.review import Decision
from psiflow.domain.signing import Meaning
from psiflow.domain.vitals import Reading
from psiflow.extensions import db
from psiflow.models import dosing
from psiflow.models.records import sign_record
from psiflow.models.reviews import review_record

if TYPE_CHECKING:
    from psiflow.demo import DemoContext

# Phases reached only after at least one dosing session was signed.
_AFTER_DOSING = {Phase.INTEGRATION, Phase.FOLLOW_UP, Phase.COMPLETED, Phase.WITHDRAWN}
_MUSIC = {"playlist": "Johns Hopkins psilocybin playlist", "track": "Lux Aeterna (Ligeti)"}
_COMPANIONS = ("Partner (Alex)", "Sister (Jo)", "Friend (Sam)", "Spouse (Robin)")


def seed(ctx: DemoContext) -> None:
    adverse_event_shown = False
    in_progress_shown = False
    for n, (course, walked) in enumerate(ctx.courses):
        phases = [phase for phase, _ in walked]
        if Phase.DOSING not in phases:
            continue
        dosing_at = dict(walked)[Phase.DOSING]
        if course.phase == Phase.DOSING:
            # One course shows a session under way; the others wait for "Start dosing session".
            if not in_progress_shown:
                _session(course, ctx.now - timedelta(hours=1, minutes=40), n, sign=False)
                in_progress_shown = True
            continue
        if phases[-1] not in _AFTER_DOSING:
            continue
        reached = {phase for phase, _ in walked}
        count = course.protocol.dosing_sessions if Phase.FOLLOW_UP in reached else 1
        end = dict(walked).get(Phase.FOLLOW_UP, ctx.now - timedelta(days=1))
        gap = (end - dosing_at) / (count + 1)
        for i in range(count):
            day = dosing_at + gap * i + timedelta(hours=2)
            with_ae = not adverse_event_shown and not course.patient.is_practice
            session = _session(course, day, n + i, sign=True, adverse_event=with_ae)
            adverse_event_shown = adverse_event_shown or with_ae
            # Courses long past dosing show their records attested; the latest ones wait in
            # the supervisor's queue (as do those the supervisor co-facilitated).
            if Phase.FOLLOW_UP in reached:
                _attest(session, day + timedelta(days=2))
    db.session.flush()


def _session(course, start: datetime, n: int, *, sign: bool, adverse_event: bool = False):
    protocol = course.protocol
    patient = course.patient
    lead, co = patient.lead_clinician, patient.co_facilitator
    # Built directly, not by `start_session`: past sessions belong to courses now beyond dosing.
    session = dosing.DosingSession(
        course=course,
        author=lead,
        occurred_at=start,
        created_at=start,
        facilitator_ids=sorted({lead.id} | ({co.id} if co else set())),
    )
    db.session.add(session)
    db.session.flush()

    def at(minutes):
        return start + timedelta(minutes=minutes)

    for i, item in enumerate(i for i in protocol.checklist if i.when == "before"):
        dosing.record_answer(
            session, dosing.AnswerKind.CHECKLIST, item.id, True, lead, now=at(2 + i)
        )
    for question in protocol.session_questions:
        if question.when == "before":
            dosing.record_answer(
                session, dosing.AnswerKind.QUESTION, question.id, False, lead, now=at(10)
            )
    dose_at = at(25)
    dosing.record_vitals(session, _reading(n, 0), at(20), lead, now=at(20))
    initial = protocol.dose.max if protocol.dose.supplemental_allowed else protocol.dose.min
    dosing.record_dose(
        session, DoseKind.INITIAL, initial, f"LOT-{2400 + n % 40}", dose_at, lead, now=dose_at
    )
    db.session.flush()
    last_minute = session.course.protocol.min_session_minutes_for_dose(initial) if sign else 75
    if protocol.dose.supplemental_allowed and sign:
        extra_at = dose_at + timedelta(minutes=protocol.dose.supplemental_after_minutes[0] + 5)
        dosing.record_dose(
            session,
            DoseKind.SUPPLEMENTAL,
            protocol.dose.supplemental_max,
            f"LOT-{2400 + n % 40}",
            extra_at,
            lead,
            now=extra_at,
        )
        db.session.flush()
        last_minute = minimum_minutes(protocol, [d.given for d in session.doses()])
    for minute in protocol.vitals_schedule_minutes:
        if minute == 0 or minute > last_minute:
            continue
        taken = dose_at + timedelta(minutes=minute + n % 3)
        high = adverse_event and minute == protocol.vitals_schedule_minutes[1]
        vital = dosing.record_vitals(
            session, _reading(n, minute, high=high), taken, lead, now=taken
        )
        if vital.flags:
            dosing.acknowledge_vital(
                vital,
                co or lead,
                "Rechecked after 10 minutes resting; settling. Prescriber informed.",
                now=taken + timedelta(minutes=3),
            )
    for kind, minute, note in (
        (EventKind.ONSET, 30, "First effects: warmth, heavier limbs."),
        (EventKind.MUSIC_CHANGE, 50, "Moved to the ambient part of the playlist."),
        (EventKind.PEAK, 95, ""),
        (
            EventKind.NOTE,
            70,
            "Tearful for a while, then calm; asked for a hand to hold "
            "(within the recorded touch consent).",
        ),
    ):
        if minute <= last_minute:
            dosing.record_event(
                session,
                kind,
                dose_at + timedelta(minutes=minute),
                note,
                lead,
                now=dose_at + timedelta(minutes=minute),
                # What was played: the music is part of the record.
                **(_MUSIC if kind == EventKind.MUSIC_CHANGE else {}),
            )
    if adverse_event:
        onset = dose_at + timedelta(minutes=40)
        dosing.record_adverse_event(
            session,
            onset_at=onset,
            description="Nausea with one episode of vomiting; transient rise in blood pressure",
            severity=2,
            seriousness_criteria=[],
            relatedness=Relatedness.PROBABLE,
            action_taken="Reassurance, sips of water, blood pressure rechecked",
            outcome=Outcome.RECOVERED,
            by=lead,
            now=onset,
        )
    if not sign:
        return session
    for item in protocol.checklist:
        if item.when != "before":
            dosing.record_answer(
                session,
                dosing.AnswerKind.CHECKLIST,
                item.id,
                True,
                co or lead,
                now=dose_at + timedelta(minutes=last_minute),
            )
    for question in protocol.session_questions:
        if question.when != "before":
            dosing.record_answer(
                session,
                dosing.AnswerKind.QUESTION,
                question.id,
                question.id == "dissociation",
                lead,
                now=dose_at + timedelta(minutes=last_minute),
            )
    leave = dose_at + timedelta(minutes=last_minute + 15)
    deviates = n % 5 == 3
    dosing.discharge(
        session,
        discharged_at=leave,
        ready_to_leave_at=dose_at + timedelta(minutes=last_minute),
        criteria_met=[c.id for c in protocol.discharge_criteria],
        accompanied_by=_COMPANIONS[n % len(_COMPANIONS)],
        as_planned=not deviates,
        deviation="Planned driver delayed; the clinic booked a taxi and phoned the partner."
        if deviates
        else "",
        transport_plan="Partner collects from the clinic and stays overnight.",
        now=leave,
    )
    session.notes = "Settled session; intention revisited at the end. Integration booked."
    db.session.flush()
    sign_record(session, lead, Meaning.AUTHORED, now=leave + timedelta(minutes=20))
    if session.pair_signing and co is not None:
        sign_record(session, co, Meaning.CO_FACILITATED, now=leave + timedelta(minutes=25))
    if lead.role == Role.TRAINEE and lead.supervisor is not None:
        sign_record(session, lead.supervisor, Meaning.REVIEWED, now=leave + timedelta(days=1))
    return session


def _attest(session, at: datetime) -> None:
    supervisor = session.author.supervisor
    if not session.attestation_due or supervisor is None or not session.may_review(supervisor):
        return
    review_record(session, supervisor, Decision.COSIGNED, now=at)


def _reading(n: int, minute: int, *, high: bool = False) -> Reading:
    """Plausible readings: a modest rise in blood pressure and pulse around the peak."""
    rise = 0 if minute == 0 else max(0, 14 - abs(minute - 90) // 10)
    if high:
        return Reading(systolic=168, diastolic=98, heart_rate=104, temperature_c=37.1, spo2=97)
    return Reading(
        systolic=118 + n % 9 + rise,
        diastolic=76 + n % 5 + rise // 2,
        heart_rate=68 + n % 7 + rise,
        temperature_c=36.6 + (n % 4) / 10,
        spo2=97 + n % 3,
    )
