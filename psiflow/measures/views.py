"""Recording validated measures (PHQ-9, GAD-7, C-SSRS…) at the protocol's timepoints."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from psiflow import catalog
from psiflow.domain.instruments import (
    InstrumentError,
    record_totals,
    score_instrument,
    score_text,
    sentence_start,
)
from psiflow.extensions import db
from psiflow.measures.forms import measure_form
from psiflow.models.alerts import AlertKind, raise_alert
from psiflow.models.measures import BASELINE, MeasureResponse, record_measure, timepoint_label
from psiflow.models.types import utcnow
from psiflow.web import guard

bp = Blueprint("measures", __name__, url_prefix="/measures")


def timepoints(protocol) -> list[str]:
    points = [BASELINE]
    points += [f"after_dosing_{n}" for n in range(1, protocol.dosing_sessions + 1)]
    points += [f"follow_up_week_{w}" for w in protocol.follow_up_weeks]
    return points + ["integration", "ad_hoc"]


@bp.route("/courses/<int:course_id>/new", methods=["GET", "POST"])
def new(course_id):
    course = guard.load_course(course_id)
    instrument = catalog.instruments().get(request.args.get("instrument", ""))
    if instrument is None:
        abort(404)
    form = measure_form(instrument)
    form.timepoint.choices = [
        SelectChoice(t, timepoint_label(t)) for t in timepoints(course.protocol)
    ]
    if request.method == "GET" and request.args.get("timepoint"):
        form.timepoint.data = request.args["timepoint"]
    if form.validate_on_submit():
        try:
            score = _score(instrument, form)
        except InstrumentError as error:
            form.form_errors.append(f"Not recorded: {error}")
            score = None
        if score is not None and not current_user.check_password(form.password.data):
            form.password.errors.append("The password is not correct; nothing was recorded.")
        elif score is not None:
            _record(course, instrument, form, score)
            db.session.commit()
            return redirect(
                url_for("patients.show", patient_id=course.patient_id) + f"#measures-{course.id}"
            )
    return render_template("measures/form.html", form=form, course=course, instrument=instrument)


def _record(course, instrument, form, score) -> MeasureResponse:
    """Store, sign and (for a risk screen at or above its threshold) alert, in one step."""
    response = record_measure(
        course,
        current_user,
        instrument,
        form.timepoint.data,
        _answers(instrument, form),
        score,
        utcnow(),
    )
    when = timepoint_label(response.timepoint)
    message = f"{instrument.short_name} recorded: {score_text(score.total)}"
    if score.band:
        message += f" ({sentence_start(score.band)})"
    if score.alert:
        # A risk screen alerts by its level, any instrument by its item rules, whatever the total.
        reasons = [f"{score.risk} risk"] if score.risk else []
        reasons += [hit.message for hit in score.item_alerts]
        raise_alert(
            course,
            AlertKind.SUICIDE_RISK,
            f"{instrument.short_name} ({when}): " + "; ".join(reasons),
            source=response,
            by=current_user,
        )
        message += ". The supervisor has been alerted"
        for hit in score.item_alerts:
            flash(hit.message + ".", "error")
            if hit.asks_for in catalog.instruments() and hit.asks_for != instrument.id:
                next_instrument = catalog.instruments()[hit.asks_for]
                flash(
                    f"Give the {next_instrument.short_name} now, from the measures list.", "error"
                )
    flash(message + ".", "success")
    return response


def _answers(instrument, form) -> dict[str, int]:
    if not instrument.reproduce_items:
        return {}
    answers = {}
    for item in instrument.items:
        value = form[f"item_{item.id}"].data
        if value not in (None, "", "None"):
            answers[item.id] = int(value)
    return answers


def _score(instrument, form):
    if instrument.reproduce_items:
        return score_instrument(instrument, _answers(instrument, form))
    subscales = {
        sub.id: float(form[f"subscale_{sub.id}"].data)
        for sub in instrument.subscales
        if form[f"subscale_{sub.id}"].data is not None
    }
    return record_totals(instrument, float(form.total.data), subscales or None)
