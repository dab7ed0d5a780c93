"""Screening, consent, touch consent, set intake and preparation sessions."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from psiflow import guard
from psiflow.course_panels import CoursePanel, add_panel
from psiflow.domain.phases import Phase
from psiflow.extensions import db
from psiflow.form_builder import check_fields, choices_of, extend_form
from psiflow.models import (
    Consent,
    PreparationSession,
    Screening,
    ScreeningFlag,
    SetIntake,
    TouchConsentEntry,
    User,
)
from psiflow.models.preparation import clear_flag
from psiflow.models.types import utcnow
from psiflow.preparation.forms import (
    ClearFlagForm,
    ConsentForm,
    PlannedDosingForm,
    PreparationSessionForm,
    ScreeningForm,
    SetIntakeForm,
    TouchConsentForm,
)
from psiflow.presentation import from_local_input, to_local_input

bp = Blueprint("preparation", __name__, url_prefix="/preparation")


def _panel_context(course) -> dict:
    ids = [course.id]
    records = {
        model: db.session.scalars(
            sa.select(model).where(model.course_id.in_(ids)).order_by(model.occurred_at)
        ).all()
        for model in (Screening, Consent, SetIntake, PreparationSession)
    }
    return {
        "screenings": records[Screening],
        "consents": records[Consent],
        "intakes": records[SetIntake],
        "sessions": records[PreparationSession],
        "flags": db.session.scalars(
            sa.select(ScreeningFlag)
            .where(ScreeningFlag.course_id == course.id)
            .order_by(ScreeningFlag.raised_at)
        ).all(),
        "touch_log": db.session.scalars(
            sa.select(TouchConsentEntry)
            .where(TouchConsentEntry.course_id == course.id)
            .order_by(TouchConsentEntry.recorded_at.desc(), TouchConsentEntry.id.desc())
        ).all(),
        "touch_form": TouchConsentForm(formdata=None, prefix=f"touch{course.id}"),
        "planned_form": PlannedDosingForm(
            formdata=None, planned_dosing_at=to_local_input(course.planned_dosing_at)
        ),
        "clear_form": ClearFlagForm(formdata=None),
        "in_preparation": course.phase in (Phase.SCREENING, Phase.PREPARATION),
    }


def _load_flag(flag_id: int, _args):
    flag = db.session.get(ScreeningFlag, flag_id)
    if flag is None:
        return None
    return flag, flag.screening.course.patient


@bp.record_once
def _register(state):
    add_panel(state.app, CoursePanel(10, "preparation/_panel.html", _panel_context))
    guard.register_loader("flag_id", "flag", _load_flag)


# --- shared steps ------------------------------------------------------------------------


def _to_record(record):
    return redirect(url_for("records.show", record_type=record.record_type, record_id=record.id))


def _conflict(form, record) -> bool:
    """True (and the form reset to the stored values) when someone saved in between."""
    if form.version.data and int(form.version.data) != record.version:
        flash(
            "Someone else saved this record while you were editing it. The form now shows "
            "what is stored; nothing of yours was saved. Re-apply your changes and save again.",
            "error",
        )
        return True
    return False


def _editable(record):
    if record.is_signed or record.is_voided:
        flash("A signed or voided record is not edited: add an addendum instead.", "error")
        return False
    if record.author_id != current_user.id:
        flash(f"Only {record.author.name}, who started this draft, edits it.", "error")
        return False
    return True


def _yes(value) -> bool:
    return value == "yes"


# --- screening ---------------------------------------------------------------------------


def _screening_form(protocol, **kwargs):
    return extend_form(ScreeningForm, check_fields(protocol.contraindications))(**kwargs)


def _screening_from_form(screening: Screening, form, protocol) -> None:
    screening.medical_history = form.medical_history.data or ""
    screening.psychiatric_history = form.psychiatric_history.data or ""
    screening.medications = [
        line.strip() for line in (form.medications.data or "").splitlines() if line.strip()
    ]
    screening.checks = {
        c.id: {
            "positive": _yes(form[f"check_{c.id}"].data),
            "detail": (form[f"detail_{c.id}"].data or "").strip(),
        }
        for c in protocol.contraindications
    }


def _screening_form_data(screening: Screening) -> dict:
    data = {
        "medical_history": screening.medical_history,
        "psychiatric_history": screening.psychiatric_history,
        "medications": "\n".join(screening.medications or []),
        "version": screening.version,
    }
    for cid, answer in (screening.checks or {}).items():
        data[f"check_{cid}"] = "yes" if answer.get("positive") else "no"
        data[f"detail_{cid}"] = answer.get("detail", "")
    return data


@bp.route("/courses/<int:course_id>/screening", methods=["GET", "POST"])
def new_screening(course_id):
    course = guard.loaded("course")
    form = _screening_form(course.protocol)
    if form.validate_on_submit():
        screening = Screening(course=course, author_id=current_user.id, occurred_at=utcnow())
        _screening_from_form(screening, form, course.protocol)
        db.session.add(screening)
        db.session.commit()
        flash("Screening saved as a draft. Sign it when it is complete.", "success")
        return _to_record(screening)
    return render_template("preparation/screening_form.html", form=form, course=course, record=None)


@bp.route(
    "/screenings/<int:record_id>/edit",
    methods=["GET", "POST"],
    defaults={"record_type": "screening"},
)
def edit_screening(record_type, record_id):
    screening = guard.loaded("record")
    if not _editable(screening):
        return _to_record(screening)
    protocol = screening.course.protocol
    form = _screening_form(
        protocol, data=None if request.method == "POST" else _screening_form_data(screening)
    )
    if request.method == "POST" and _conflict(form, screening):
        form = _screening_form(protocol, formdata=None, data=_screening_form_data(screening))
    elif form.validate_on_submit():
        _screening_from_form(screening, form, protocol)
        db.session.commit()
        flash("Screening saved.", "success")
        return _to_record(screening)
    return render_template(
        "preparation/screening_form.html", form=form, course=screening.course, record=screening
    )


@bp.route("/flags/<int:flag_id>/clear", methods=["POST"])
def clear_screening_flag(flag_id):
    flag = guard.loaded("flag")
    form = ClearFlagForm()
    back = redirect(url_for("patients.show", patient_id=flag.screening.course.patient_id))
    if not form.validate_on_submit():
        flash("Clearing a flag needs a written rationale and your password.", "error")
        return back
    if not current_user.check_password(form.password.data):
        flash("The password is not correct; the flag was not cleared.", "error")
        return back
    try:
        clear_flag(flag, current_user, form.rationale.data)
    except ValueError as error:
        flash(str(error), "error")
        return back
    db.session.commit()
    flash(f"Flag cleared: {flag.label}.", "success")
    return back


# --- consent -----------------------------------------------------------------------------


def _consent_from_form(consent: Consent, form) -> None:
    consent.form_version = (form.form_version.data or "").strip()
    consent.consented_on = form.consented_on.data
    consent.witness_name = (form.witness_name.data or "").strip()
    consent.capacity_confirmed = _yes(form.capacity_confirmed.data)
    consent.risks_discussed = _yes(form.risks_discussed.data)
    consent.notes = form.notes.data or ""


def _consent_form_data(consent: Consent) -> dict:
    return {
        "form_version": consent.form_version,
        "consented_on": consent.consented_on,
        "witness_name": consent.witness_name,
        "capacity_confirmed": "yes" if consent.capacity_confirmed else "no",
        "risks_discussed": "yes" if consent.risks_discussed else "no",
        "notes": consent.notes,
        "version": consent.version,
    }


@bp.route("/courses/<int:course_id>/consent", methods=["GET", "POST"])
def new_consent(course_id):
    course = guard.loaded("course")
    form = ConsentForm()
    if form.validate_on_submit():
        consent = Consent(course=course, author_id=current_user.id, occurred_at=utcnow())
        _consent_from_form(consent, form)
        db.session.add(consent)
        db.session.commit()
        flash("Consent saved as a draft. Sign it when it is complete.", "success")
        return _to_record(consent)
    return render_template("preparation/consent_form.html", form=form, course=course, record=None)


@bp.route(
    "/consents/<int:record_id>/edit", methods=["GET", "POST"], defaults={"record_type": "consent"}
)
def edit_consent(record_type, record_id):
    consent = guard.loaded("record")
    if not _editable(consent):
        return _to_record(consent)
    form = ConsentForm(data=None if request.method == "POST" else _consent_form_data(consent))
    if request.method == "POST" and _conflict(form, consent):
        form = ConsentForm(formdata=None, data=_consent_form_data(consent))
    elif form.validate_on_submit():
        _consent_from_form(consent, form)
        db.session.commit()
        flash("Consent saved.", "success")
        return _to_record(consent)
    return render_template(
        "preparation/consent_form.html", form=form, course=consent.course, record=consent
    )


@bp.route("/courses/<int:course_id>/touch-consent", methods=["POST"])
def add_touch_consent(course_id):
    course = guard.loaded("course")
    form = TouchConsentForm(prefix=f"touch{course.id}")
    back = redirect(url_for("patients.show", patient_id=course.patient_id) + "#touch-consent")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(f"Touch consent not recorded: {message}", "error")
        return back
    agreed = [] if form.change.data == "withdrawn" else list(form.agreed_touch.data or [])
    if form.change.data != "withdrawn" and not agreed:
        flash("Touch consent not recorded: tick the touch agreed, or record a withdrawal.", "error")
        return back
    db.session.add(
        TouchConsentEntry(
            course_id=course.id,
            recorded_by_id=current_user.id,
            change=form.change.data,
            agreed_touch=agreed,
            note=(form.note.data or "").strip(),
        )
    )
    db.session.commit()
    flash("Touch consent log updated.", "success")
    return back


# --- set intake --------------------------------------------------------------------------

_INTAKE_TEXT = (
    "intention",
    "expectations",
    "hopes",
    "fears",
    "support_people",
    "prior_experience",
    "helps_when_distressed",
    "touch_preferences",
    "music_preferences",
    "transport_plan",
)


def _intake_from_form(intake: SetIntake, form) -> None:
    for name in _INTAKE_TEXT:
        setattr(intake, name, form[name].data or "")
    intake.emotional_readiness = form.emotional_readiness.data


def _intake_form_data(intake: SetIntake) -> dict:
    data = {name: getattr(intake, name) for name in _INTAKE_TEXT}
    data.update(emotional_readiness=intake.emotional_readiness, version=intake.version)
    return data


@bp.route("/courses/<int:course_id>/set-intake", methods=["GET", "POST"])
def new_set_intake(course_id):
    course = guard.loaded("course")
    form = SetIntakeForm()
    if form.validate_on_submit():
        intake = SetIntake(course=course, author_id=current_user.id, occurred_at=utcnow())
        _intake_from_form(intake, form)
        db.session.add(intake)
        db.session.commit()
        flash("Set intake saved as a draft; keep it up to date through preparation.", "success")
        return _to_record(intake)
    return render_template(
        "preparation/set_intake_form.html", form=form, course=course, record=None
    )


@bp.route(
    "/set-intakes/<int:record_id>/edit",
    methods=["GET", "POST"],
    defaults={"record_type": "set_intake"},
)
def edit_set_intake(record_type, record_id):
    intake = guard.loaded("record")
    if not _editable(intake):
        return _to_record(intake)
    form = SetIntakeForm(data=None if request.method == "POST" else _intake_form_data(intake))
    if request.method == "POST" and _conflict(form, intake):
        form = SetIntakeForm(formdata=None, data=_intake_form_data(intake))
    elif form.validate_on_submit():
        _intake_from_form(intake, form)
        db.session.commit()
        flash("Set intake saved.", "success")
        return _to_record(intake)
    return render_template(
        "preparation/set_intake_form.html", form=form, course=intake.course, record=intake
    )


# --- preparation sessions ----------------------------------------------------------------


def _session_form(course, **kwargs):
    form = PreparationSessionForm(**kwargs)
    form.topics.choices = choices_of(course.protocol.preparation_topics)
    team = [u for u in (course.patient.lead_clinician, course.patient.co_facilitator) if u]
    supervisors = db.session.scalars(
        sa.select(User).where(User.id.in_([u.supervisor_id for u in team if u.supervisor_id]))
    ).all()
    people = {u.id: u for u in team + list(supervisors) if u.id != current_user.id}
    form.co_facilitator_id.choices = [SelectChoice(0, "None")] + [
        SelectChoice(u.id, u.name) for u in people.values()
    ]
    return form


def _session_from_form(session: PreparationSession, form) -> None:
    session.occurred_at = from_local_input(form.occurred_at.data)
    session.duration_minutes = form.duration_minutes.data
    session.co_facilitator_id = form.co_facilitator_id.data or None
    session.topics = list(form.topics.data or [])
    session.notes = form.notes.data or ""


def _session_form_data(session: PreparationSession) -> dict:
    return {
        "occurred_at": to_local_input(session.occurred_at),
        "duration_minutes": session.duration_minutes,
        "co_facilitator_id": session.co_facilitator_id or 0,
        "topics": session.topics,
        "notes": session.notes,
        "version": session.version,
    }


@bp.route("/courses/<int:course_id>/preparation-session", methods=["GET", "POST"])
def new_preparation_session(course_id):
    course = guard.loaded("course")
    form = _session_form(
        course,
        data=None
        if request.method == "POST"
        else {"occurred_at": to_local_input(utcnow()), "co_facilitator_id": 0},
    )
    if form.validate_on_submit():
        session = PreparationSession(course=course, author_id=current_user.id)
        _session_from_form(session, form)
        db.session.add(session)
        db.session.commit()
        flash("Preparation session saved as a draft. Sign it when it is complete.", "success")
        return _to_record(session)
    return render_template("preparation/session_form.html", form=form, course=course, record=None)


@bp.route(
    "/preparation-sessions/<int:record_id>/edit",
    methods=["GET", "POST"],
    defaults={"record_type": "preparation_session"},
)
def edit_preparation_session(record_type, record_id):
    session = guard.loaded("record")
    if not _editable(session):
        return _to_record(session)
    course = session.course
    form = _session_form(
        course, data=None if request.method == "POST" else _session_form_data(session)
    )
    if request.method == "POST" and _conflict(form, session):
        form = _session_form(course, formdata=None, data=_session_form_data(session))
    elif form.validate_on_submit():
        _session_from_form(session, form)
        db.session.commit()
        flash("Preparation session saved.", "success")
        return _to_record(session)
    return render_template(
        "preparation/session_form.html", form=form, course=course, record=session
    )


@bp.route("/courses/<int:course_id>/planned-dosing", methods=["POST"])
def plan_dosing(course_id):
    course = guard.loaded("course")
    form = PlannedDosingForm()
    back = redirect(url_for("patients.show", patient_id=course.patient_id) + f"#course-{course.id}")
    if not form.validate_on_submit():
        flash("Enter the planned date and time of the dosing session.", "error")
        return back
    planned = from_local_input(form.planned_dosing_at.data)
    if planned < course.started_at:
        flash("The dosing session cannot be planned before the course started.", "error")
        return back
    course.planned_dosing_at = planned
    db.session.commit()
    flash("Planned dosing date saved.", "success")
    return back
