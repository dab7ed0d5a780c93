"""The live dosing session: used on a tablet in the session room, by one or two facilitators.

Every entry is a plain form post (POST/redirect/GET); a refused entry re-renders the page with
the error beside the field and nothing saved. Two tablets never overwrite each other: entries
are appended rows, and the few fields on the session row carry the version the tablet saw.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from psiflow import access
from psiflow.access import Action, Role
from psiflow.domain.dosing import DoseKind, EventKind, Outcome, Relatedness
from psiflow.domain.room_entries import made_at_error
from psiflow.domain.safety import EmergencyEnd
from psiflow.domain.vitals import Reading
from psiflow.extensions import db
from psiflow.models import User, VitalSign
from psiflow.models import dosing as model
from psiflow.models.records import addenda_for, signatures_for
from psiflow.models.training import deliver_scenario_events, session_now
from psiflow.models.types import utcnow
from psiflow.sessions import forms as f
from psiflow.sessions.queries import agreed_set_intake, session_sheet
from psiflow.web import guard, idempotency
from psiflow.web.edit_conflicts import UNVERSIONED, keep_stale, take_choice
from psiflow.web.idempotency import room_entry

bp = Blueprint("sessions", __name__)
SESSION = {"record_type": "dosing_session"}


@bp.record_once
def _register(state):
    state.app.add_template_global(session_sheet, "session_sheet")


# --- pages ---------------------------------------------------------------------------------


@bp.route("/courses/<int:course_id>/dosing-sessions", methods=["POST"])
def start(course_id):
    course = guard.load_course(course_id)
    back = redirect(url_for("patients.show", patient_id=course.patient_id) + f"#course-{course.id}")
    if not f.StartSessionForm().validate_on_submit():
        flash("The form expired; please try again.", "error")
        return back
    try:
        session = model.start_session(course, current_user)
        db.session.commit()
    except model.SessionRefused as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return back
    return redirect(_live(session))


@bp.route("/dosing-sessions/<int:record_id>", defaults=SESSION)
def live(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    # A practice run's scripted events arrive when the page is next looked at, as a monitor's
    # reading would; a real session has none (and costs no query).
    if deliver_scenario_events(session, session_now(session)):
        db.session.commit()
    return _render(session)


@bp.route("/dosing-sessions/<int:record_id>/record", defaults=SESSION)
def printable(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    key = (session.record_type, session.id)
    return render_template(
        "sessions/print.html",
        sheet=session_sheet(session, session_now(session)),
        signatures=signatures_for([session]).get(key, []),
        addenda=addenda_for([session]).get(key, []),
    )


def _live(session, anchor: str = "") -> str:
    url = url_for("sessions.live", record_id=session.id)
    return f"{url}#{anchor}" if anchor else url


def _render(session, status: int = 200, **posted):
    """The live page; `posted` holds a refused form, shown with its errors and values."""
    sheet = session_sheet(session, session_now(session))
    drawn = {
        "answer": lambda: f.AnswerForm(formdata=None),
        "details": lambda: f.DetailsForm(
            formdata=None,
            version=session.version,
            facilitator_ids=session.facilitator_ids,
            # None while empty: an empty field is drawn once (blank_fields.py).
            notes=session.notes or None,
        ),
        "dose": lambda: f.DoseForm(
            formdata=None,
            kind=(DoseKind.SUPPLEMENTAL if sheet.initial else DoseKind.INITIAL).value,
        ),
        "event": lambda: f.EventForm(formdata=None),
        "vitals": lambda: f.VitalsForm(formdata=None),
        "acknowledge": lambda: f.AcknowledgeForm(formdata=None),
        "adverse_event": lambda: f.AdverseEventForm(formdata=None),
        "emergency": lambda: f.EmergencyEndForm(formdata=None),
        "discharge": lambda: f.DischargeForm(
            formdata=None,
            version=session.version,
            accompanied_by=session.accompanied_by or None,
        ),
    }
    # A refused form is shown as posted; only the others are made.
    forms = {name: posted[name] if name in posted else make() for name, make in drawn.items()}
    forms["details"].facilitator_ids.choices = _facilitator_choices(session)
    forms["discharge"].criteria.choices = _criteria_choices(session)
    return render_template(
        "sessions/live.html",
        sheet=sheet,
        forms=forms,
        may_edit=access.can(current_user, Action.EDIT, session.course.patient),
        DoseKind=DoseKind,
        EventKind=EventKind,
        Outcome=Outcome,
    ), status


def _criteria_choices(session):
    return [SelectChoice(c.id, c.label) for c in session.protocol.discharge_criteria]


def _facilitator_choices(session):
    patient = session.course.patient
    roles = (
        [Role.TRAINEE, Role.SUPERVISOR]
        if patient.is_practice
        else [Role.CLINICIAN, Role.SUPERVISOR]
    )
    users = db.session.scalars(
        _clinic_staff_query(), {"clinic_id": patient.clinic_id, "roles": roles}
    )
    return [SelectChoice(u.id, u.name) for u in users]


@functools.cache  # built once: building it and its cache key took 0.084 ms a visit
def _clinic_staff_query():
    return (
        sa.select(User)
        .where(
            User.clinic_id == sa.bindparam("clinic_id"),
            User.active.is_(True),
            User.role.in_(sa.bindparam("roles", expanding=True)),
        )
        .order_by(User.name)
    )


# --- entries -------------------------------------------------------------------------------


def _refused(session, name: str, form, refused: model.SessionRefused):
    """Put each refusal beside its field (or above the form) and show the page again."""
    db.session.rollback()
    for field_name, message in refused.errors.items():
        target = getattr(form, field_name, None) if field_name else None
        if target is not None and hasattr(target, "errors"):
            target.errors = [*target.errors, message]
        else:
            # About the session, not a field (e.g. signed from the other tablet meanwhile): at
            # the top of the page, since a signed session's page shows no forms.
            flash(message, "error")
    return _render(session, 422, **{name: form})


def _at(session, field):
    """The time typed in `field`; left empty ("now"), the time the entry was made on the
    tablet, which may have sent it later (a dropped connection, a locked page)."""
    if field.data is not None:
        return f.utc(field.data)
    return _made_at(session, field.short_name)


def _made_at(session, field_name: str):
    made_at = idempotency.made_at()
    if made_at is None:
        return None
    problem = made_at_error(made_at, session.occurred_at, utcnow())
    if problem:
        raise model.SessionRefused({field_name: problem})
    # The tablet's clock is the wall's: a practice session reads it through its training clock.
    return session_now(session, made_at)


def _invalid(session, name: str, form):
    return _render(session, 422, **{name: form})


def _entry(
    session, name: str, form, operation, done, *, versioned: bool = False, duplicate: str = ""
):
    """One entry posted from the session room: validate, apply one model operation, commit.

    A refusal goes back beside its fields; a stale version (another tablet saved the session
    row first) shows their version; a `duplicate` (a unique row the other tablet just wrote)
    is refused with that message. `done(result)` says how a success is answered (an
    `Answer`): worked out before the commit, from what this request wrote (reading a row's
    values after the commit expires it would load each row again), and given after it.
    """
    if versioned:
        take_choice(form, request.form)  # after a conflict: keep mine, or theirs
    valid = form.validate_on_submit()
    if versioned and form.is_submitted() and form.version.data != session.version:
        # Stale, or no version said: refused whatever else it holds, what was typed kept.
        return _conflict(session, name, form)
    if not valid:
        return _invalid(session, name, form)
    try:
        result = operation(session)
        answer = done(result)
        url = _live(session, answer.anchor)
        idempotency.answer_with(url, answer.message, answer.category, entry=result)
        db.session.commit()
    except model.SessionRefused as refused:
        return _refused(session, name, form, refused)
    except StaleDataError:
        return _conflict(session, name if versioned else None, form)
    except IntegrityError:
        if not duplicate:
            raise
        return _refused(session, name, form, model.SessionRefused({"kind": duplicate}))
    if answer.message:
        flash(answer.message, answer.category)
    return redirect(url)


@dataclass(frozen=True)
class Answer:
    """Where the page goes back to after an entry, and what it says there."""

    anchor: str
    message: str = ""
    category: str = "success"


def _back_to(anchor: str, message: str = ""):
    return lambda _result: Answer(anchor, message)


@bp.route("/dosing-sessions/<int:record_id>/answers", methods=["POST"], defaults=SESSION)
@room_entry
def answer(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    form = f.AnswerForm()
    kind = form.kind.data
    anchor = "checklist" if kind == model.AnswerKind.CHECKLIST else "questions"
    return _entry(
        session,
        "answer",
        form,
        lambda session: model.record_answer(
            session,
            model.AnswerKind(kind),
            form.item_id.data,
            form.value.data == "1",
            current_user,
            now=_made_at(session, "item_id") or session_now(session),
        ),
        _back_to(f"{anchor}-{form.item_id.data}"),
    )


@bp.route("/dosing-sessions/<int:record_id>/details", methods=["POST"], defaults=SESSION)
@room_entry
def details(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    form = f.DetailsForm()
    form.facilitator_ids.choices = _facilitator_choices(session)
    return _entry(
        session,
        "details",
        form,
        lambda session: model.update_details(
            session, form.facilitator_ids.data, form.notes.data or ""
        ),
        _back_to("details", "Facilitators and notes saved."),
        versioned=True,
    )


# What the session row holds of each versioned form, shown beside a refused stale save.
_STORED = {
    "details": lambda s: {"facilitator_ids": s.facilitator_ids, "notes": s.notes},
    "discharge": lambda s: {"accompanied_by": s.accompanied_by},
}


def _conflict(session, name: str | None = None, form=None):
    """Another tablet saved first: nothing of this post is saved, but what was typed stays
    in its form, with what the other tablet stored shown beside it."""
    db.session.rollback()
    db.session.refresh(session)
    message = (
        "Someone else saved this session while you were editing it. Nothing of yours was "
        "saved yet: what you typed is kept in the form, beside what is stored now. Choose "
        "what to save, or save the two merged."
    )
    if name is None:
        flash(message, "error")
        return _render(session, 409)
    if form.version.data is None:  # none posted, or not a number: it may be older than ours
        message = UNVERSIONED
    keep_stale(form, session.version, _STORED[name](session), message)
    return _render(session, 409, **{name: form})


@bp.route("/dosing-sessions/<int:record_id>/doses", methods=["POST"], defaults=SESSION)
@room_entry
def dose(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    form = f.DoseForm()
    return _entry(
        session,
        "dose",
        form,
        lambda session: model.record_dose(
            session,
            DoseKind(form.kind.data),
            form.amount.data,
            form.lot_number.data or "",
            _at(session, form.given_at),
            current_user,
            now=session_now(session),
        ),
        _back_to("medicine", "Dose recorded."),
        # The other tablet recorded this dose a moment ago: theirs stands, this one is dropped.
        duplicate="This dose was just recorded from another device; see the record above.",
    )


@bp.route("/dosing-sessions/<int:record_id>/events", methods=["POST"], defaults=SESSION)
@room_entry
def event(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    form = f.EventForm()
    return _entry(
        session,
        "event",
        form,
        lambda session: model.record_event(
            session,
            EventKind(form.kind.data),
            _at(session, form.at),
            form.note.data or "",
            current_user,
            playlist=form.playlist.data or "",
            track=form.track.data or "",
            now=session_now(session),
        ),
        _back_to("timeline"),
    )


@bp.route("/dosing-sessions/<int:record_id>/vitals", methods=["POST"], defaults=SESSION)
@room_entry
def vitals(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    form = f.VitalsForm()

    def recorded(vital):
        if vital.critical_flags:
            message = (
                "Critical reading: the supervisor has been alerted. "
                + "; ".join(vital.flags)
                + ". Act now, then acknowledge it below."
            )
            return Answer("alerts", message, "error")
        if vital.flags:
            message = "Out of range: " + "; ".join(vital.flags) + ". Acknowledge it below."
            return Answer("alerts", message, "error")
        return Answer("vitals", "Vital signs recorded.")

    def reading():
        return Reading(
            systolic=form.systolic.data,
            diastolic=form.diastolic.data,
            heart_rate=form.heart_rate.data,
            temperature_c=form.temperature_c.data,
            spo2=form.spo2.data,
        )

    return _entry(
        session,
        "vitals",
        form,
        lambda session: model.record_vitals(
            session, reading(), _at(session, form.taken_at), current_user, now=session_now(session)
        ),
        recorded,
    )


@bp.route(
    "/dosing-sessions/<int:record_id>/vitals/<int:vital_id>/acknowledge",
    methods=["POST"],
    defaults=SESSION,
)
@room_entry
def acknowledge(record_type, record_id, vital_id):
    session = guard.load_record(record_type, record_id)
    vital = db.session.get(VitalSign, vital_id)
    if vital is None or vital.session_id != session.id:
        abort(404)
    form = f.AcknowledgeForm()
    if not form.validate_on_submit():
        return _invalid(session, "acknowledge", form)
    try:
        model.acknowledge_vital(vital, current_user, form.note.data or "", now=session_now(session))
        idempotency.answer_with(_live(session, "vitals"), "Reading acknowledged.", "success")
        db.session.commit()
    except model.SessionRefused as refused:
        return _refused(session, "acknowledge", form, refused)
    except StaleDataError:
        db.session.rollback()
        flash("Someone else acknowledged this reading a moment ago.", "info")
        return redirect(_live(session, "vitals"))
    flash("Reading acknowledged.", "success")
    return redirect(_live(session, "vitals"))


@bp.route("/dosing-sessions/<int:record_id>/adverse-events", methods=["POST"], defaults=SESSION)
@room_entry
def adverse_event(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    form = f.AdverseEventForm()

    def recorded(event):
        if event.serious:
            message = "Serious adverse event recorded; the supervisor has been alerted."
            return Answer("adverse-events", message, "error")
        return Answer("adverse-events", "Adverse event recorded.")

    return _entry(
        session,
        "adverse_event",
        form,
        lambda session: model.record_adverse_event(
            session,
            onset_at=_at(session, form.onset_at),
            description=form.description.data,
            severity=form.severity.data,
            seriousness_criteria=form.seriousness.data or [],
            relatedness=Relatedness(form.relatedness.data),
            action_taken=form.action_taken.data or "",
            outcome=Outcome(form.outcome.data),
            by=current_user,
            now=session_now(session),
        ),
        recorded,
    )


@bp.route("/dosing-sessions/<int:record_id>/discharge", methods=["POST"], defaults=SESSION)
@room_entry
def discharge(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    form = f.DischargeForm()
    form.criteria.choices = _criteria_choices(session)

    def discharged(session):
        intake = agreed_set_intake(session.course_id)
        model.discharge(
            session,
            discharged_at=_at(session, form.discharged_at),
            ready_to_leave_at=f.utc(form.ready_to_leave_at.data),
            criteria_met=form.criteria.data,
            accompanied_by=form.accompanied_by.data or "",
            as_planned=form.as_planned.data == "yes",
            deviation=form.deviation.data or "",
            transport_plan=intake.transport_plan if intake else "",
            now=session_now(session),
        )

    return _entry(
        session,
        "discharge",
        form,
        discharged,
        _back_to("discharge", "Discharge recorded."),
        versioned=True,
    )


@bp.route(
    "/dosing-sessions/<int:record_id>/adverse-events/<int:event_id>/follow-up",
    methods=["POST"],
    defaults=SESSION,
)
@room_entry
def follow_up_adverse_event(record_type, record_id, event_id):
    session = guard.load_record(record_type, record_id)
    event = db.session.get(model.AdverseEvent, event_id)
    if event is None or event.session_id != session.id:
        abort(404)
    form = f.AdverseEventFollowUpForm(prefix=f"follow-up-{event.id}")
    if not form.validate_on_submit():
        return _invalid(session, "follow_up", form)
    try:
        update = model.follow_up_adverse_event(
            event,
            Outcome(form.outcome.data),
            form.note.data or "",
            _at(session, form.as_of),
            current_user,
            now=session_now(session),
        )
        message = "Follow-up recorded under the adverse event."
        back = _live(session, f"adverse-event-{event.id}")
        idempotency.answer_with(back, message, "success", entry=update)
        db.session.commit()
    except model.SessionRefused as refused:
        return _refused(session, "follow_up", form, refused)
    flash(message, "success")
    return redirect(back)


@bp.route("/dosing-sessions/<int:record_id>/end-early", methods=["POST"], defaults=SESSION)
@room_entry
def end_early(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    form = f.EmergencyEndForm()

    def ended(_result):
        return Answer(
            "emergency",
            "The session is ended as an emergency; the course is on hold and the supervisor "
            "has been alerted. Sign the record once the transfer is written in it.",
            "error",
        )

    def end(session):
        now = session_now(session)
        model.end_in_emergency(
            session,
            EmergencyEnd(
                ended_at=_at(session, form.ended_at) or now,
                reason=form.reason.data or "",
                transferred_to=form.transferred_to.data or "",
                transferred_by=form.transferred_by.data or "",
                notified=form.notified.data or "",
            ),
            current_user,
            now=now,
        )

    return _entry(session, "emergency", form, end, ended)
