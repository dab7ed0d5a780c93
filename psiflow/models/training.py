"""Practice runs of training scenarios: the training clock, what the scenario injected, and
the supervisor's comments on the adherence items.

A run belongs to one trainee and one practice (fictional) patient made from the scenario; it
never touches a real patient. The training clock is stored per practice dosing session, and
`clock_for(session)` is what every time rule of a session reads: a real session always gets
the wall clock, without a query.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.domain import adherence
from psiflow.domain.clock import WALL_CLOCK, SessionClock, training_clock
from psiflow.domain.dosing import first_dose_at, total_dose
from psiflow.domain.phases import Phase
from psiflow.domain.scenarios import minutes_needed
from psiflow.extensions import db
from psiflow.models import rems
from psiflow.models.courses import Course, PhaseTransition
from psiflow.models.dosing import (
    AdverseEvent,
    AnswerKind,
    DoseAdministration,
    DosingSession,
    SessionAnswer,
    SessionEvent,
    VitalSign,
    record_vitals,
)
from psiflow.models.integration import IntegrationSession
from psiflow.models.patients import Patient
from psiflow.models.reviews import Review
from psiflow.models.types import UTCDateTime, utcnow
from psiflow.models.users import User


class TrainingRefused(ValueError):
    """A training action that cannot be taken (e.g. a clock on a real session)."""


class TrainingClock(db.Model):
    """The clock a practice dosing session runs on (see domain/clock.py)."""

    __tablename__ = "training_clocks"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    session_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("dosing_sessions.id"), unique=True, index=True
    )
    speed: so.Mapped[int]
    anchor_wall_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    anchor_session_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    changed_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    # Two people moving the clock at once: the second is told, not silently applied.
    version: so.Mapped[int] = so.mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    session: so.Mapped[DosingSession] = so.relationship()

    @property
    def clock(self) -> SessionClock:
        return SessionClock(self.speed, self.anchor_wall_at, self.anchor_session_at)

    def set(self, clock: SessionClock, by: User) -> None:
        self.speed = clock.speed
        self.anchor_wall_at = clock.anchor_wall
        self.anchor_session_at = clock.anchor_session
        self.changed_by_id = by.id


class ScenarioRun(db.Model):
    """A trainee's run of a scenario: the practice patient, course and session it made."""

    __tablename__ = "scenario_runs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    scenario_id: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    trainee_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patients.id"), index=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    session_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("dosing_sessions.id"), unique=True, index=True
    )
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    trainee: so.Mapped[User] = so.relationship()
    patient: so.Mapped[Patient] = so.relationship()
    course: so.Mapped[Course] = so.relationship()
    session: so.Mapped[DosingSession] = so.relationship()

    def audit_patient_id(self) -> int:
        return self.patient_id


class ScenarioDelivery(db.Model):
    """A scripted event the app has given the trainee, once (two tablets cannot both)."""

    __tablename__ = "scenario_deliveries"
    __table_args__ = (sa.UniqueConstraint("run_id", "event_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    run_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("scenario_runs.id"), index=True)
    event_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    # On the session's clock: when the scenario says it happened.
    due_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    delivered_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    vital_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("vital_signs.id"), index=True)


class AdherenceComment(db.Model):
    """A supervisor's comment on one adherence item of a run: appended, never edited."""

    __tablename__ = "adherence_comments"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    run_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("scenario_runs.id"), index=True)
    item_key: so.Mapped[str] = so.mapped_column(sa.String(120))
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    author: so.Mapped[User] = so.relationship()


# --- the clock -----------------------------------------------------------------------------


def clock_for(session: DosingSession) -> SessionClock:
    """The clock `session` runs on: the wall clock for every real session (no query), the
    stored training clock for a practice session that has one."""
    if not session.course.patient.is_practice:
        return WALL_CLOCK
    row = _clock_row(session.id)
    return row.clock if row is not None else WALL_CLOCK


def session_now(session: DosingSession, wall: datetime | None = None) -> datetime:
    return clock_for(session).now(wall or utcnow())


def _clock_row(session_id: int) -> TrainingClock | None:
    return db.session.scalar(sa.select(TrainingClock).where(TrainingClock.session_id == session_id))


def set_speed(session: DosingSession, speed: int, by: User, wall: datetime) -> SessionClock:
    row = _practice_clock(session, by, wall)
    clock = row.clock.at_speed(speed, wall)
    row.set(clock, by)
    return clock


def jump_to_minute(session: DosingSession, minute: int, by: User, wall: datetime) -> SessionClock:
    """Step the clock to `minute` after the first dose (after the start, before any dose)."""
    row = _practice_clock(session, by, wall)
    start = first_dose_at([d.given for d in session.doses()]) or session.occurred_at
    clock = row.clock.jumped_to(start + timedelta(minutes=minute), wall)
    row.set(clock, by)
    return clock


def _practice_clock(session: DosingSession, by: User, wall: datetime) -> TrainingClock:
    if not session.course.patient.is_practice:
        raise TrainingRefused("A real session runs on the wall clock; only practice runs fast.")
    if session.is_signed or session.is_voided:
        raise TrainingRefused("This session is closed: its clock no longer moves.")
    row = _clock_row(session.id)
    if row is None:
        # A practice session without a training clock ran on the wall clock until now.
        clock = training_clock(wall, 1, wall)
        row = TrainingClock(session=session, changed_by_id=by.id)
        row.set(clock, by)
        db.session.add(row)
    return row


# --- starting a run ------------------------------------------------------------------------


def start_run(scenario, protocol, trainee: User, now: datetime | None = None) -> ScenarioRun:
    """A practice patient from the scenario's case file, a course at dosing (screening and
    preparation are in the case file), a dosing session open on the scenario's clock."""
    now = now or utcnow()
    if protocol.id != scenario.protocol_id:
        raise TrainingRefused("The scenario runs on another protocol.")
    # The session starts in the past and its clock catches up with the present (clock.py).
    starts_at = now - timedelta(minutes=minutes_needed(scenario, protocol))
    done = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ScenarioRun)
        .where(ScenarioRun.trainee_id == trainee.id)
    )
    patient = Patient(
        clinic_id=trainee.clinic_id,
        display_name=scenario.patient_name,
        record_number=f"SCN-{trainee.id}-{done + 1}",
        is_practice=True,
        lead_clinician_id=trainee.id,
        created_by_id=trainee.id,
    )
    db.session.add(patient)
    course = Course(
        patient=patient,
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        phase=Phase.DOSING,
        phase_entered_at=starts_at,
        started_at=starts_at,
        started_by_id=trainee.id,
    )
    db.session.add(course)
    reason = f"Scenario {scenario.title!r}: screening and preparation are in its case file."
    previous = None
    for phase in (Phase.SCREENING, Phase.PREPARATION, Phase.DOSING):
        db.session.add(
            PhaseTransition(
                course=course,
                from_phase=previous,
                to_phase=phase,
                at=starts_at,
                by_id=trainee.id,
                reason="Course started" if previous is None else reason,
            )
        )
        previous = phase
    session = DosingSession(
        course=course,
        author=trainee,
        occurred_at=starts_at,
        created_at=now,
        facilitator_ids=[trainee.id],
    )
    db.session.add(session)
    db.session.flush()  # the REMS form is filed under the course and session ids
    rems.open_monitoring_form(session, starts_at)
    clock = TrainingClock(session=session, changed_by_id=trainee.id)
    clock.set(training_clock(starts_at, scenario.clock_speed, now), trainee)
    db.session.add(clock)
    run = ScenarioRun(
        scenario_id=scenario.id,
        trainee=trainee,
        patient=patient,
        course=course,
        session=session,
        started_at=now,
    )
    db.session.add(run)
    return run


def run_of_session(session_id: int) -> ScenarioRun | None:
    return db.session.scalar(sa.select(ScenarioRun).where(ScenarioRun.session_id == session_id))


# --- the monitor feed ----------------------------------------------------------------------


def deliver_scenario_events(session: DosingSession, now: datetime) -> list:
    """The scripted events due in `session` by `now` (session time), if it is a scenario run:
    a real session has none and is not looked up. What the monitor gives is entered under the
    trainee's name, whoever has the page open (the supervisor watching, say)."""
    if not session.course.patient.is_practice:
        return []
    run = run_of_session(session.id)
    if run is None:
        return []
    from psiflow import catalog

    scenario = catalog.scenarios().get(run.scenario_id)
    if scenario is None:  # a scenario file withdrawn since: the run keeps what it was given
        return []
    return deliver_due_events(run, scenario, run.trainee, now)


def deliveries_of(run: ScenarioRun) -> dict[str, ScenarioDelivery]:
    rows = db.session.scalars(sa.select(ScenarioDelivery).where(ScenarioDelivery.run_id == run.id))
    return {d.event_id: d for d in rows}


def deliver_due_events(run: ScenarioRun, scenario, by: User, now: datetime) -> list:
    """Give the trainee every scripted event whose minute has come on the session's clock:
    a reading arrives as the monitor gives it (a vital sign from "monitor (scenario)", flagged
    by the protocol's own rules); a prompt arrives as words on the page. `now` is session time."""
    session = run.session
    delivered = []
    for event, due in _still_to_come(session, scenario, deliveries_of(run)):
        if due > now:
            break
        delivery = ScenarioDelivery(run_id=run.id, event_id=event.id, due_at=due)
        if event.reading is not None:
            vital = record_vitals(
                session, event.reading, due, by, now=now, source=adherence.MONITOR_SOURCE
            )
            db.session.flush()
            delivery.vital_id = vital.id
        db.session.add(delivery)
        delivered.append(event)
    return delivered


def next_event_at(session: DosingSession, scenario, given: dict) -> datetime | None:
    """When (session time) the scenario's next event comes, so that the open page shows it
    then, as a monitor alarms without being asked; None when nothing more will come."""
    return next((due for _event, due in _still_to_come(session, scenario, given)), None)


def _still_to_come(session: DosingSession, scenario, given: dict):
    """The scripted events not yet given, with when each is due on the session's clock, in
    order: none before the dose, after the session closes, or after the patient has gone."""
    if session.is_signed or session.is_voided or session.ended_early:
        return
    dose_at = first_dose_at([d.given for d in session.doses()])
    if dose_at is None:
        return
    for event in scenario.events:  # in the order they happen (the scenario file is checked)
        due = dose_at + timedelta(minutes=event.minute)
        if session.discharged_at is not None and due > session.discharged_at:
            return  # the patient has gone home: nothing more happens in the room
        if event.id not in given:
            yield event, due


# --- adherence from the record -------------------------------------------------------------


def _by_session(model, session_ids, *order) -> dict[int, list]:
    rows = db.session.scalars(
        sa.select(model).where(model.session_id.in_(session_ids)).order_by(*order)
    )
    found: dict[int, list] = {i: [] for i in session_ids}
    for row in rows:
        found[row.session_id].append(row)
    return found


def practice_records(runs) -> dict[int, tuple[adherence.PracticeRecord, float]]:
    """What adherence reads of each run, as plain values, with the total dose given: in a
    fixed number of queries, however many runs (the progress pages list them all)."""
    if not runs:
        return {}
    session_ids = [r.session_id for r in runs]
    answers = _by_session(SessionAnswer, session_ids, SessionAnswer.recorded_at, SessionAnswer.id)
    doses = _by_session(DoseAdministration, session_ids, DoseAdministration.given_at)
    vitals = _by_session(VitalSign, session_ids, VitalSign.taken_at, VitalSign.id)
    events = _by_session(SessionEvent, session_ids, SessionEvent.at, SessionEvent.id)
    adverse = _by_session(AdverseEvent, session_ids, AdverseEvent.onset_at, AdverseEvent.id)
    noted = set(
        db.session.scalars(
            sa.select(IntegrationSession.course_id).where(
                IntegrationSession.course_id.in_([r.course_id for r in runs]),
                IntegrationSession.voided_at.is_(None),
            )
        )
    )
    injected: dict[int, dict[str, int]] = {r.id: {} for r in runs}
    for delivery in db.session.scalars(
        sa.select(ScenarioDelivery).where(ScenarioDelivery.run_id.in_(list(injected)))
    ):
        if delivery.vital_id is not None:
            injected[delivery.run_id][delivery.event_id] = delivery.vital_id
    records = {}
    for run in runs:
        session, sid = run.session, run.session_id
        given = [d.given for d in doses[sid]]
        records[run.id] = (
            adherence.PracticeRecord(
                dose_at=first_dose_at(given),
                ticks=tuple(
                    adherence.Tick(a.item_id, a.value, a.recorded_at)
                    for a in answers[sid]
                    if a.kind == AnswerKind.CHECKLIST
                ),
                vitals=tuple(
                    adherence.TakenVital(
                        v.id, v.taken_at, v.recorded_at, v.source, bool(v.flags), v.acknowledged_at
                    )
                    for v in vitals[sid]
                ),
                timeline=tuple(
                    adherence.TimelineEntry(e.id, e.kind.value, e.recorded_at) for e in events[sid]
                ),
                adverse_events=tuple(
                    adherence.RecordedAdverseEvent(a.id, a.recorded_at) for a in adverse[sid]
                ),
                discharged_at=session.discharged_at,
                discharge_criteria_met=tuple(session.discharge_criteria_met or ()),
                ended_early=session.ended_early,
                signed=session.is_signed,
                integration_note=run.course_id in noted,
                injected=injected[run.id],
            ),
            total_dose(given),
        )
    return records


def adherence_reports(runs, scenarios: dict) -> dict[int, adherence.Report]:
    """Each run's adherence report (runs whose scenario file is gone are left out)."""
    reports = {}
    for run_id, (record, total) in practice_records(runs).items():
        run = next(r for r in runs if r.id == run_id)
        scenario = scenarios.get(run.scenario_id)
        if scenario is not None:
            rules = adherence.protocol_rules(run.course.protocol, total)
            reports[run_id] = adherence.score(scenario, rules, record)
    return reports


def adherence_report(run: ScenarioRun, scenario) -> adherence.Report:
    return adherence_reports([run], {scenario.id: scenario})[run.id]


def comments_of(run: ScenarioRun) -> dict[str, list[AdherenceComment]]:
    return comments_of_runs([run]).get(run.id, {})


def comments_of_runs(runs) -> dict[int, dict[str, list[AdherenceComment]]]:
    """Each run's comments by item, oldest first, in one query (their authors joined in)."""
    ids = [r.id for r in runs]
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(AdherenceComment)
        .where(AdherenceComment.run_id.in_(ids))
        .options(so.joinedload(AdherenceComment.author))
        .order_by(AdherenceComment.created_at, AdherenceComment.id)
    )
    found: dict[int, dict[str, list[AdherenceComment]]] = {}
    for row in rows:
        found.setdefault(row.run_id, {}).setdefault(row.item_key, []).append(row)
    return found


def add_comment(run: ScenarioRun, item_key: str, text: str, keys, by: User, now=None):
    if item_key not in keys:
        raise TrainingRefused("There is no such adherence item in this run.")
    if not text.strip():
        raise TrainingRefused("Write the comment.")
    comment = AdherenceComment(
        run_id=run.id,
        item_key=item_key,
        text=text.strip(),
        author_id=by.id,
        created_at=now or utcnow(),
    )
    db.session.add(comment)
    return comment


def fidelity_of_runs(runs) -> dict[int, dict]:
    """Each run's latest fidelity rating by the supervisor (rated runs only), in one query."""
    by_session = {r.session_id: r.id for r in runs}
    if not by_session:
        return {}
    rows = db.session.execute(
        sa.select(Review.record_id, Review.fidelity)
        .where(
            Review.record_type == DosingSession.record_type,
            Review.record_id.in_(list(by_session)),
            Review.fidelity.is_not(None),
        )
        .order_by(Review.decided_at, Review.id)
    )
    return {by_session[record_id]: fidelity for record_id, fidelity in rows}  # latest wins


def fidelity_of(run: ScenarioRun) -> dict | None:
    """The supervisor's latest fidelity rating of the run's session record, if rated."""
    return fidelity_of_runs([run]).get(run.id)


def runs_of(trainee_ids) -> list[ScenarioRun]:
    ids = list(trainee_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(ScenarioRun)
            .where(ScenarioRun.trainee_id.in_(ids))
            .options(so.selectinload(ScenarioRun.session), so.selectinload(ScenarioRun.course))
            .order_by(ScenarioRun.started_at, ScenarioRun.id)
        )
    )


def supervisees_of(supervisor: User) -> list[User]:
    """The trainees `supervisor` supervises, active or not (their record stays theirs)."""
    from psiflow.access import Role

    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.supervisor_id == supervisor.id, User.role == Role.TRAINEE)
            .order_by(User.name)
        )
    )
