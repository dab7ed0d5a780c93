"""Recording a REMS monitoring form as submitted, and a supervisor's dose deviation.

Each is a plain form post (POST/redirect/GET); a refusal is shown as a message and saves
nothing. What the live session's block and the board card's badge draw comes from the
template globals registered here, so neither the patient nor the sessions blueprint imports
this one; the patient page's panel is `regulated/panel.py`.
"""

from __future__ import annotations

from datetime import UTC

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from psiflow import access
from psiflow.access import Action
from psiflow.domain import regulated as rules
from psiflow.domain.dosing import DoseKind
from psiflow.extensions import db
from psiflow.models import deviations, dosing, rems
from psiflow.models.types import utcnow
from psiflow.regulated import forms as f
from psiflow.web import guard

bp = Blueprint("regulated", __name__)
SESSION = {"record_type": "dosing_session"}


def _find_rems_form(form_id: int):
    form = db.session.get(rems.RemsMonitoringForm, form_id)
    return (form, form.course.patient) if form else None


load_rems_form = guard.register_loader("rems_form_id", find=_find_rems_form)


@bp.record_once
def _register(state):
    state.app.add_template_global(rems_form_status, "rems_form_status")
    state.app.add_template_global(live_regulated, "live_regulated")


def rems_form_status(due_at) -> rules.FormStatus:
    """A board card's earliest unsubmitted form, as due or overdue now."""
    return rules.monitoring_form_status(due_at, None, utcnow())


def live_regulated(sheet) -> dict:
    """What the live session page shows of the regulated values, from rows the sheet holds
    (one query: the deviations)."""
    session = sheet.session
    return {
        "blood_pressures": dosing.blood_pressure_status(session, sheet.doses, sheet.vitals)
        if session.protocol.blood_pressure_checks
        else [],
        "deviations": deviations.deviations_of(session.id),
        "may_record_deviation": access.can(
            current_user, Action.RECORD_DEVIATION, session.course.patient
        ),
        "deviation_form": f.DoseDeviationForm(formdata=None),
        "window_words": rules.window_words,
    }


def _utc(value):
    return value.astimezone(UTC) if value is not None else None


@bp.route("/rems-forms/<int:rems_form_id>/submitted", methods=["POST"])
def rems_form_submitted(rems_form_id):
    form = load_rems_form(rems_form_id)
    back = redirect(
        url_for("patients.show", patient_id=form.course.patient_id) + f"#rems-{form.course_id}"
    )
    posted = f.FormSubmittedForm()
    if not posted.validate_on_submit():
        flash("The form expired or a value was not understood; nothing was recorded.", "error")
        return back
    try:
        rems.record_submitted(
            form,
            current_user,
            submitted_at=_utc(posted.submitted_at.data),
            reference=posted.reference.data or "",
        )
        db.session.commit()
    except rems.FormRefused as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return back
    except StaleDataError:
        db.session.rollback()
        flash("Someone else recorded this form as submitted a moment ago.", "info")
        return back
    flash("Monitoring form recorded as submitted.", "success")
    return back


@bp.route("/dosing-sessions/<int:record_id>/dose-deviations", methods=["POST"], defaults=SESSION)
def dose_deviation(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    back = redirect(url_for("sessions.live", record_id=session.id) + "#dose-deviations")
    posted = f.DoseDeviationForm()
    if not posted.validate_on_submit():
        problems = [e for errors in posted.errors.values() for e in errors]
        flash("Deviation not recorded: " + " ".join(problems), "error")
        return back
    try:
        deviations.record_dose_deviation(
            session,
            kind=DoseKind(posted.kind.data),
            amount=posted.amount.data,
            reason=posted.reason.data,
            by=current_user,
        )
        db.session.commit()
    except deviations.DeviationRefused as refused:
        db.session.rollback()
        flash("Deviation not recorded: " + str(refused), "error")
        return back
    flash("Deviation recorded: the dose entry now accepts that amount.", "success")
    return back
