"""The caseload board, patients and the phase of their courses."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from psiflow import access, catalog
from psiflow.access import Action
from psiflow.domain.phases import ACTIVE_PHASES, Phase, PhaseError
from psiflow.extensions import db
from psiflow.models import Patient, User
from psiflow.models.alerts import open_critical_alerts
from psiflow.models.courses import GateClosed, change_phase, has_open_course, start_course
from psiflow.models.stored.gates import stored_gate_facts
from psiflow.patients import queries
from psiflow.patients.forms import (
    SAFETY_FIELDS,
    AdvanceForm,
    OverrideForm,
    PatientForm,
    ReasonForm,
    ResumeForm,
    SafetyDetailsForm,
    StartCourseForm,
)
from psiflow.web import guard, panels
from psiflow.web.edit_conflicts import keep_stale, refuse_stale

bp = Blueprint("patients", __name__)
# The newest open critical alerts a supervisor's board leads with; the rest are a click away.
CRITICAL_ON_BOARD = 5


def _protocol_choices():
    return [SelectChoice(p.key, f"{p.name} (v{p.version})") for p in catalog.current_protocols()]


def _card_gates(columns) -> dict[int, list]:
    """Each card's gates (to which phase, what is still missing), from the facts stored on its
    course: worked out here, so the template only draws them."""
    cards = [card for column in columns.values() for card in column]
    facts = stored_gate_facts(cards)
    return {card.id: card.gates(facts.get(card.id)) for card in cards}


@bp.route("/")
def board():
    if not access.has_caseload(current_user.role):
        return redirect(url_for("admin.users"))
    practice = access.works_on_practice_patients(current_user.role)
    team, clinician_id = [], None
    if access.sees_supervisees_patients(current_user.role):
        team = queries.team_members(current_user)
        practice = request.args.get("practice") == "1"
        clinician_id = request.args.get("clinician", type=int)
        if clinician_id is not None and clinician_id not in {u.id for u in team}:
            clinician_id = None
    view = request.args.get("view", "active")
    phases = queries.CLOSED_VIEW_PHASES if view == "closed" else ACTIVE_PHASES
    per_phase = current_app.config["PAGE_SIZE"]
    single = request.args.get("phase")
    if single is not None:
        try:
            phase = Phase(single)
        except ValueError:
            abort(404)
        page = queries.phase_page(
            current_user,
            phase,
            request.args.get("page", 1, type=int),
            per_phase,
            clinician_id,
            practice,
        )
        return render_template(
            "patients/phase_list.html",
            phase=phase,
            page=page,
            team=team,
            clinician_id=clinician_id,
            practice=practice,
        )
    columns, counts = queries.board_courses(
        current_user, phases, current_app.config["BOARD_CARDS_PER_PHASE"], clinician_id, practice
    )
    return render_template(
        "patients/board.html",
        phases=phases,
        view=view,
        counts=counts,
        columns=columns,
        gates=_card_gates(columns),
        unstarted=queries.patients_without_course(current_user, per_phase, practice),
        critical_alerts=(
            open_critical_alerts(current_user, CRITICAL_ON_BOARD)
            if access.receives_safety_alerts(current_user.role)
            else []
        ),
        team=team,
        clinician_id=clinician_id,
        practice=practice,
    )


def _co_facilitator_choices():
    roles = access.co_facilitator_roles(current_user.role)
    users = db.session.scalars(
        sa.select(User)
        .where(
            User.clinic_id == current_user.clinic_id,
            User.active.is_(True),
            User.role.in_(roles),
            User.id != current_user.id,
        )
        .order_by(User.name)
    ).all()
    return [SelectChoice(0, "None")] + [
        SelectChoice(u.id, f"{u.name} ({u.role.value})") for u in users
    ]


@bp.route("/patients/new", methods=["GET", "POST"])
def new():
    form = PatientForm()
    form.co_facilitator_id.choices = _co_facilitator_choices()
    form.protocol_key.choices = [SelectChoice("", "Not yet")] + _protocol_choices()
    if form.validate_on_submit():
        exists = db.session.scalar(
            sa.select(Patient.id).where(
                Patient.clinic_id == current_user.clinic_id,
                Patient.record_number == form.record_number.data.strip(),
            )
        )
        if exists:
            form.record_number.errors.append("Another patient already has this record number.")
        else:
            patient = Patient(
                clinic_id=current_user.clinic_id,
                display_name=form.display_name.data.strip(),
                date_of_birth=form.date_of_birth.data,
                record_number=form.record_number.data.strip(),
                is_practice=access.works_on_practice_patients(current_user.role),
                lead_clinician=current_user,
                co_facilitator_id=form.co_facilitator_id.data or None,
                created_by_id=current_user.id,
            )
            db.session.add(patient)
            if form.protocol_key.data:
                start_course(patient, catalog.protocol(form.protocol_key.data), current_user)
            db.session.commit()
            flash("Patient created.", "success")
            return redirect(url_for("patients.show", patient_id=patient.id))
    return render_template("patients/new.html", form=form)


@bp.route("/patients/<int:patient_id>")
def show(patient_id):
    """The patient page: each course with its gates, its phase actions, the features' panels
    (`psiflow.web.panels`) and its phase history."""
    patient = guard.load_patient(patient_id)
    courses = queries.patient_courses(patient.id)
    # Asked a dozen times per course by the page, answered once per action.
    may = functools.cache(lambda action: access.can(current_user, action, patient))
    start_form = None
    if may(Action.EDIT) and not has_open_course(courses):
        start_form = StartCourseForm()
        start_form.protocol_key.choices = _protocol_choices()
    return render_template(
        "patients/show.html",
        patient=patient,
        courses=courses,
        histories=queries.phase_histories(patient.id, courses),
        start_form=start_form,
        safety_protocol=header_protocol(courses),
        facts=stored_gate_facts(courses),
        panels=panels.panels_for(courses),
        may=may,
        Action=Action,
        # Drawn empty under every course that offers them (the post names its course).
        override_form=OverrideForm(formdata=None, prefix="override")
        if may(Action.OVERRIDE_GATE)
        else None,
        hold_form=ReasonForm(formdata=None, prefix="hold") if may(Action.HOLD) else None,
        withdraw_form=ReasonForm(formdata=None, prefix="withdraw") if may(Action.HOLD) else None,
    )


def header_protocol(courses):
    """The protocol whose interacting medicines the header highlights: the open course's, else
    the newest course's (a patient between courses is still on the medicines they were)."""
    open_courses = [c for c in courses if not c.is_closed]
    chosen = (open_courses or courses or [None])[-1]
    return chosen.protocol if chosen is not None else None


def _stored_safety(patient) -> dict:
    return {name: getattr(patient, name) for name in SAFETY_FIELDS}


@bp.route("/patients/<int:patient_id>/safety", methods=["GET", "POST"])
def edit_safety(patient_id):
    """Allergies, current medicines, phone and emergency contact: versioned like every edit
    (a save from a stale page is refused with both versions shown) and audited as a change
    of the patient record."""
    patient = guard.load_patient(patient_id)
    form = SafetyDetailsForm(data=None if request.method == "POST" else _stored_safety(patient))
    if request.method == "GET":
        form.version.data = patient.version
    status = 200
    if form.is_submitted():
        valid = form.validate()
        if refuse_stale(form, patient.version, _stored_safety(patient)):
            status = 409
        elif valid:
            for name in SAFETY_FIELDS:
                setattr(patient, name, (form[name].data or "").strip())
            back = url_for("patients.show", patient_id=patient.id)
            try:
                db.session.commit()
            except StaleDataError:  # saved elsewhere between this request's read and write
                db.session.rollback()
                db.session.refresh(patient)
                keep_stale(form, patient.version, _stored_safety(patient))
                status = 409
            else:
                flash("Safety details saved.", "success")
                return redirect(back)
    return render_template("patients/safety_form.html", form=form, patient=patient), status


@bp.route("/patients/<int:patient_id>/courses", methods=["POST"])
def start_course_view(patient_id):
    patient = guard.load_patient(patient_id)
    form = StartCourseForm()
    form.protocol_key.choices = _protocol_choices()
    if not form.validate_on_submit():
        flash("Choose one of the clinic's protocols.", "error")
    else:
        try:
            start_course(patient, catalog.protocol(form.protocol_key.data), current_user)
            db.session.commit()
            flash("Course started in screening.", "success")
        except PhaseError as error:
            db.session.rollback()
            flash(str(error), "error")
    return redirect(url_for("patients.show", patient_id=patient.id))


def _phase_action(course, form, to: Phase | None, reason: str = "", override: bool = False):
    """Apply one phase change from a posted form; every refusal leaves the course unchanged."""
    back = redirect(url_for("patients.show", patient_id=course.patient_id) + f"#course-{course.id}")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return back
    if form.version.data != course.version:
        flash(
            "Someone else changed this course while you were looking at it; it is now in "
            f"{course.phase.label}. Nothing was changed: review the page and try again.",
            "error",
        )
        return back
    if to is None:
        to = course.held_from()
        if to is None:
            flash("The course is not on hold.", "error")
            return back
    try:
        change_phase(course, to, current_user, reason=reason, override=override)
        db.session.commit()
    except GateClosed as closed:
        db.session.rollback()
        flash("The gate is closed. Still needed: " + "; ".join(closed.unmet), "error")
        return back
    except PhaseError as error:
        db.session.rollback()
        flash(str(error), "error")
        return back
    flash(f"The course is now in {course.phase.label}.", "success")
    return back


def _posted_phase(form) -> Phase:
    try:
        return Phase(form.to_phase.data)
    except ValueError:
        abort(400)


@bp.route("/courses/<int:course_id>/advance", methods=["POST"])
def advance(course_id):
    course = guard.load_course(course_id)
    form = AdvanceForm()
    return _phase_action(course, form, _posted_phase(form))


@bp.route("/courses/<int:course_id>/override", methods=["POST"])
def override(course_id):
    course = guard.load_course(course_id)
    form = OverrideForm(prefix="override")
    reason = form.reason.data or ""
    return _phase_action(course, form, _posted_phase(form), reason=reason, override=True)


@bp.route("/courses/<int:course_id>/hold", methods=["POST"])
def hold(course_id):
    course = guard.load_course(course_id)
    form = ReasonForm(prefix="hold")
    return _phase_action(course, form, Phase.ON_HOLD, reason=form.reason.data or "")


@bp.route("/courses/<int:course_id>/resume", methods=["POST"])
def resume(course_id):
    course = guard.load_course(course_id)
    return _phase_action(course, ResumeForm(), None, reason="Resumed")


@bp.route("/courses/<int:course_id>/withdraw", methods=["POST"])
def withdraw(course_id):
    course = guard.load_course(course_id)
    form = ReasonForm(prefix="withdraw")
    return _phase_action(course, form, Phase.WITHDRAWN, reason=form.reason.data or "")
