"""Screening, consent, touch consent, set intake and preparation sessions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from psiflow.domain import dosing as dosing_rules
from psiflow.extensions import db
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
    PreparationSessionForm,
    ScreeningForm,
    SetIntakeForm,
    TouchConsentForm,
    planned_dosing_form,
)
from psiflow.web import guard
from psiflow.web.edit_conflicts import keep_stale, refuse_stale
from psiflow.web.form_builder import check_fields, choices_of, extend_form
from psiflow.web.presentation import clinic_zone, from_local_input, local_time, to_local_input

bp = Blueprint("preparation", __name__, url_prefix="/preparation")


def _find_flag(flag_id: int):
    flag = db.session.get(ScreeningFlag, flag_id)
    if flag is None:
        return None
    return flag, flag.screening.course.patient


load_flag = guard.register_loader("flag_id", find=_find_flag)


# --- shared steps ------------------------------------------------------------------------


def _to_record(record):
    return redirect(url_for("records.show", record_type=record.record_type, record_id=record.id))


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


@dataclass(frozen=True)
class DraftKind:
    """How one preparation record type is drafted: its form, and the form <-> record mapping."""

    model: type
    template: str
    make_form: Callable  # (course, **form kwargs) -> form
    form_data: Callable  # (record) -> dict for the form
    apply: Callable  # (record, form) -> None
    warnings: Callable = lambda record: []  # (saved record) -> what to tell beside "saved"


def _new_draft(kind: DraftKind, course):
    form = kind.make_form(course)
    del form.version  # a new draft has no version yet
    if form.validate_on_submit():
        record = kind.model(course=course, author_id=current_user.id, occurred_at=utcnow())
        kind.apply(record, form)
        db.session.add(record)
        warnings = kind.warnings(record)
        db.session.commit()
        flash(f"{record.record_label} saved as a draft. Sign it when it is complete.", "success")
        for warning in warnings:
            flash(warning, "error")
        return _to_record(record)
    return render_template(kind.template, form=form, course=course, record=None)


def _edit_draft(kind: DraftKind, record):
    if not _editable(record):
        return _to_record(record)
    course = record.course
    stored = None if request.method == "POST" else kind.form_data(record)
    form = kind.make_form(course, data=stored)
    status = 200
    if form.is_submitted():
        valid = form.validate()
        if refuse_stale(form, record.version, kind.form_data(record)):
            # Stale, or no version at all: refused whatever else it holds, its text kept.
            status = 409
        elif valid:
            kind.apply(record, form)
            try:
                # The answer is the record's page: its address taken before the commit expires
                # the record (reading its id afterwards would load the row again).
                saved = _to_record(record)
                warnings = kind.warnings(record)
                db.session.commit()
            except StaleDataError:  # saved elsewhere between this request's read and write
                db.session.rollback()
                db.session.refresh(record)
                keep_stale(form, record.version, kind.form_data(record))
                status = 409
            else:
                flash(f"{record.record_label} saved.", "success")
                for warning in warnings:
                    flash(warning, "error")
                return saved
    return render_template(kind.template, form=form, course=course, record=record), status


# --- screening ---------------------------------------------------------------------------


def _screening_form(course, **kwargs):
    return extend_form(ScreeningForm, check_fields(course.protocol.contraindications))(**kwargs)


def _screening_from_form(screening: Screening, form) -> None:
    protocol = screening.course.protocol
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


SCREENING = DraftKind(
    Screening,
    "preparation/screening_form.html",
    _screening_form,
    _screening_form_data,
    _screening_from_form,
)


@bp.route("/courses/<int:course_id>/screening", methods=["GET", "POST"])
def new_screening(course_id):
    return _new_draft(SCREENING, guard.load_course(course_id))


@bp.route(
    "/screenings/<int:record_id>/edit",
    methods=["GET", "POST"],
    defaults={"record_type": "screening"},
)
def edit_screening(record_type, record_id):
    return _edit_draft(SCREENING, guard.load_record(record_type, record_id))


@bp.route("/flags/<int:flag_id>/clear", methods=["POST"])
def clear_screening_flag(flag_id):
    flag = load_flag(flag_id)
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


CONSENT = DraftKind(
    Consent,
    "preparation/consent_form.html",
    lambda course, **kw: ConsentForm(**kw),
    _consent_form_data,
    _consent_from_form,
)


@bp.route("/courses/<int:course_id>/consent", methods=["GET", "POST"])
def new_consent(course_id):
    return _new_draft(CONSENT, guard.load_course(course_id))


@bp.route(
    "/consents/<int:record_id>/edit", methods=["GET", "POST"], defaults={"record_type": "consent"}
)
def edit_consent(record_type, record_id):
    return _edit_draft(CONSENT, guard.load_record(record_type, record_id))


@bp.route("/courses/<int:course_id>/touch-consent", methods=["POST"])
def add_touch_consent(course_id):
    course = guard.load_course(course_id)
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
    intake.pickup_time = form.pickup_time.data


def _intake_form_data(intake: SetIntake) -> dict:
    data = {name: getattr(intake, name) for name in _INTAKE_TEXT}
    data.update(
        emotional_readiness=intake.emotional_readiness,
        pickup_time=intake.pickup_time,
        version=intake.version,
    )
    return data


def intake_pickup_check(course, pickup):
    """The intake's pickup time against the earliest discharge after the planned dose (the
    intake form shows it; the live page checks it again against the dose as given)."""
    return dosing_rules.check_pickup(
        course.protocol, [], pickup, dose_expected_at=course.planned_dosing_at, zone=clinic_zone()
    )


@bp.record_once
def _register(state):
    state.app.add_template_global(intake_pickup_check, "intake_pickup_check")


def _intake_warnings(intake: SetIntake) -> list[str]:
    check = intake_pickup_check(intake.course, intake.pickup_time)
    if check is None or check.problem is None:
        return []
    return [
        f"Pickup at {local_time(check.pickup_at, '%H:%M')} is before the earliest discharge "
        f"at {local_time(check.earliest, '%H:%M')} after the dose planned for "
        f"{local_time(check.dose_at, '%d %b %H:%M')}. {check.problem}"
    ]


SET_INTAKE = DraftKind(
    SetIntake,
    "preparation/set_intake_form.html",
    lambda course, **kw: SetIntakeForm(**kw),
    _intake_form_data,
    _intake_from_form,
    _intake_warnings,
)


@bp.route("/courses/<int:course_id>/set-intake", methods=["GET", "POST"])
def new_set_intake(course_id):
    return _new_draft(SET_INTAKE, guard.load_course(course_id))


@bp.route(
    "/set-intakes/<int:record_id>/edit",
    methods=["GET", "POST"],
    defaults={"record_type": "set_intake"},
)
def edit_set_intake(record_type, record_id):
    return _edit_draft(SET_INTAKE, guard.load_record(record_type, record_id))


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


def _session_form_for_new(course, **kwargs):
    if "data" not in kwargs and request.method == "GET":
        kwargs["data"] = {"occurred_at": to_local_input(utcnow()), "co_facilitator_id": 0}
    return _session_form(course, **kwargs)


PREPARATION_SESSION = DraftKind(
    PreparationSession,
    "preparation/session_form.html",
    _session_form_for_new,
    _session_form_data,
    _session_from_form,
)


@bp.route("/courses/<int:course_id>/preparation-session", methods=["GET", "POST"])
def new_preparation_session(course_id):
    return _new_draft(PREPARATION_SESSION, guard.load_course(course_id))


@bp.route(
    "/preparation-sessions/<int:record_id>/edit",
    methods=["GET", "POST"],
    defaults={"record_type": "preparation_session"},
)
def edit_preparation_session(record_type, record_id):
    return _edit_draft(PREPARATION_SESSION, guard.load_record(record_type, record_id))


@bp.route("/courses/<int:course_id>/planned-dosing", methods=["POST"])
def plan_dosing(course_id):
    course = guard.load_course(course_id)
    form = planned_dosing_form(course)
    back = redirect(url_for("patients.show", patient_id=course.patient_id) + f"#course-{course.id}")
    if not form.validate_on_submit():
        problems = form.planned_dosing_at.errors or form.errors.get("csrf_token", [])
        for message in problems or ["Enter the planned date and time of the dosing session."]:
            flash(message, "error")
        return back
    planned = from_local_input(form.planned_dosing_at.data)
    if planned < course.started_at:
        flash("The dosing session cannot be planned before the course started.", "error")
        return back
    course.planned_dosing_at = planned
    db.session.commit()
    flash("Planned dosing date saved.", "success")
    return back
