"""Supervision: the review queue, co-signing and returning notes, safety alerts, outcomes."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from psiflow import access, audit, catalog
from psiflow.domain.charts import improvement_chart
from psiflow.domain.instruments import score_number
from psiflow.domain.outcomes import OUTCOME_INSTRUMENTS
from psiflow.domain.phases import Phase
from psiflow.domain.review import REVIEW_OVERDUE_DAYS, Decision, ReviewRefused, fidelity_summary
from psiflow.domain.safety import RISK_RESOLUTIONS, Resolution, Severity
from psiflow.domain.signing import SigningRefused
from psiflow.extensions import db
from psiflow.models import Alert
from psiflow.models.alerts import AlertRefused, acknowledge_alert, open_alert_counts
from psiflow.models.integration import instrument_names
from psiflow.models.records import addenda_for, signature_intact, signatures_for
from psiflow.models.reviews import open_return, review_record, reviews_of
from psiflow.models.reviews import resubmit as resubmit_record
from psiflow.models.types import utcnow
from psiflow.supervision import queries
from psiflow.supervision.forms import AcknowledgeForm, ResubmitForm, review_form
from psiflow.web import guard
from psiflow.web.spreadsheet import MIMETYPE as CSV_MIMETYPE
from psiflow.web.spreadsheet import csv_text

bp = Blueprint("supervision", __name__, url_prefix="/supervision")


def _find_alert(alert_id: int):
    alert = db.session.get(Alert, alert_id)
    return (alert, alert.course.patient) if alert else None


load_alert = guard.register_loader("alert_id", find=_find_alert)


@bp.app_template_global()
def open_team_alerts() -> dict | None:
    """The open alerts of the signed-in supervisor's team by severity, for the navigation of
    every page (None for anyone who receives no alerts)."""
    if not current_user.is_authenticated or not access.receives_safety_alerts(current_user.role):
        return None
    # Asked by the navigation and by the board's supervision links: counted once a request.
    if "open_team_alerts" not in g:
        counts = open_alert_counts(current_user)
        g.open_team_alerts = {"total": sum(counts.values()), "critical": counts[Severity.CRITICAL]}
    return g.open_team_alerts


@bp.app_template_global()
def record_reviews(record) -> dict:
    """The review history of a record and, for its author, the way back into the queue."""
    reviews = reviews_of(record)
    returned = next((r for r in reviews if r.is_open_return), None)
    return {
        "reviews": reviews,
        "returned": returned,
        "resubmit_form": ResubmitForm(),
        "summary": fidelity_summary,
    }


@bp.route("/reviews")
def queue():
    page = queries.review_queue(
        current_user, request.args.get("page", 1, type=int), current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "supervision/queue.html", page=page, now=utcnow(), overdue_days=REVIEW_OVERDUE_DAYS
    )


@bp.route("/reviews/<record_type>/<int:record_id>", methods=["GET", "POST"])
def review(record_type, record_id):
    record = guard.load_record(record_type, record_id)
    trainee_record = record.needs_cosign
    items = record.course.protocol.adherence_items
    form = review_form(items)
    if form.validate_on_submit():
        decision = Decision(form.decision.data)
        fidelity = {item.id: field.data for field, item in form.fidelity_fields if field.data}
        if decision == Decision.COSIGNED and not current_user.check_password(
            form.password.data or ""
        ):
            form.password.errors.append("The password is not correct; nothing was co-signed.")
        else:
            try:
                review_record(
                    record,
                    current_user,
                    decision,
                    comments=form.comments.data or "",
                    fidelity=fidelity or None,
                )
                db.session.commit()
            except (ReviewRefused, SigningRefused) as refused:
                db.session.rollback()
                problems = getattr(refused, "problems", None) or refused.missing
                form.form_errors.extend(problems)
            else:
                flash(f"{record.record_label} {decision.label.lower()}.", "success")
                return redirect(url_for("supervision.queue"))
    key = (record.record_type, record.id)
    return render_template(
        "supervision/review.html",
        record=record,
        form=form,
        trainee_record=trainee_record,
        reviews=reviews_of(record),
        returned=open_return(record),
        signatures=[
            (s, signature_intact(s, record)) for s in signatures_for([record]).get(key, [])
        ],
        addenda=addenda_for([record]).get(key, []),
    )


@bp.route("/returned/<record_type>/<int:record_id>/resubmit", methods=["POST"])
def resubmit(record_type, record_id):
    record = guard.load_record(record_type, record_id)
    form = ResubmitForm()
    if form.validate_on_submit():
        try:
            resubmit_record(record, current_user)
            db.session.commit()
        except ReviewRefused as refused:
            db.session.rollback()
            flash(" ".join(refused.problems), "error")
        else:
            flash("Re-submitted: the note is back in your supervisor's review queue.", "success")
    return redirect(url_for("records.show", record_type=record.record_type, record_id=record.id))


@bp.route("/alerts")
def alerts():
    # Practice patients' alerts (a trainee's scenario) are listed apart, never with real ones.
    practice = request.args.get("practice") == "1"
    page = queries.team_alerts(
        current_user,
        request.args.get("page", 1, type=int),
        current_app.config["PAGE_SIZE"],
        practice,
    )
    return render_template(
        "supervision/alerts.html",
        page=page,
        practice=practice,
        unacknowledged=open_alert_counts(current_user, practice),
        form=AcknowledgeForm(formdata=None),
        Severity=Severity,
        risk_resolutions=RISK_RESOLUTIONS,
    )


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
def acknowledge(alert_id):
    alert = load_alert(alert_id)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        flash("Say what was done before closing the alert.", "error")
    else:
        try:
            # Blank (a form without the choice) is a plain acknowledgement; `Optional` lets
            # only blank through, `RadioField` refuses any other value not offered.
            resolution = Resolution((form.resolution.data or "").strip() or "acknowledged")
            acknowledge_alert(alert, current_user, form.note.data, resolution=resolution)
            db.session.commit()
        except AlertRefused as refused:
            db.session.rollback()
            flash(str(refused), "error")
        else:
            flash(f"Alert closed: {alert.resolution.label.lower()}.", "success")
    return redirect(url_for("supervision.alerts") + f"#alert-{alert.id}")


def _filters(clinicians) -> queries.OutcomeFilters:
    team = {u.id for u in clinicians}
    clinician_id = request.args.get("clinician", type=int)
    protocol_ids = {p.id for p in catalog.protocols().values()}
    protocol_id = request.args.get("protocol") or None
    try:
        phase = Phase(request.args.get("phase")) if request.args.get("phase") else None
    except ValueError:
        phase = None
    return queries.OutcomeFilters(
        # Values outside the team or the catalogue are ignored, not obeyed.
        clinician_id=clinician_id if clinician_id in team else None,
        protocol_id=protocol_id if protocol_id in protocol_ids else None,
        phase=phase if phase in queries.OUTCOME_PHASES else None,
    )


@bp.route("/outcomes")
def outcomes():
    clinicians = queries.team_clinicians(current_user)
    filters = _filters(clinicians)
    now = utcnow()
    outcomes = queries.scope_outcomes(current_user, filters)
    page = queries.outcome_page(
        current_user,
        request.args.get("page", 1, type=int),
        current_app.config["PAGE_SIZE"],
        now,
        outcomes,
    )
    names = instrument_names()
    chart = improvement_chart(
        "Mean improvement from baseline by protocol (percent; up is better on every measure)",
        queries.improvement_by_protocol(outcomes),
        names,
    )
    return render_template(
        "supervision/outcomes.html",
        page=page,
        filters=filters,
        chart=chart,
        names=names,
        instruments=OUTCOME_INSTRUMENTS,
        outcome_instruments=[catalog.instruments()[iid] for iid in OUTCOME_INSTRUMENTS],
        clinicians=clinicians,
        protocols=catalog.current_protocols(),
        phases=queries.OUTCOME_PHASES,
        overdue_days=REVIEW_OVERDUE_DAYS,
    )


@bp.route("/outcomes.csv")
def outcomes_csv():
    filters = _filters(queries.team_clinicians(current_user))
    rows = queries.all_outcome_rows(current_user, filters, utcnow())
    audit.record_event("export", detail=f"team outcome table CSV ({len(rows)} courses)")
    return _csv_response(rows)


def _csv_response(rows) -> Response:
    header = ["record_number", "protocol", "protocol_version", "phase", "lead_clinician"]
    for iid in OUTCOME_INSTRUMENTS:
        header += [
            f"{iid}_baseline",
            f"{iid}_latest",
            f"{iid}_change_percent",
            f"{iid}_response",
            f"{iid}_remission",
        ]
    header += ["overdue_follow_ups", "oldest_review_waiting_since_utc"]
    lines = []
    for row in rows:
        course = row.course
        line = [
            course.record_number,
            course.protocol_id,
            course.protocol_version,
            course.phase.value,
            course.lead_clinician_name,
        ]
        for iid in OUTCOME_INSTRUMENTS:
            o = row.outcomes.get(iid)
            line += (
                [
                    score_number(o.baseline),
                    score_number(o.latest),
                    score_number(o.change_percent) if o.change_percent is not None else "",
                    _yes_no(o.response),
                    _yes_no(o.remission),
                ]
                if o
                else [""] * 5
            )
        line += [
            "; ".join(row.overdue_follow_ups),
            row.review_waiting_since.isoformat() if row.review_waiting_since else "",
        ]
        lines.append(line)
    response = Response(csv_text(header, lines), mimetype=CSV_MIMETYPE)
    response.headers["Content-Disposition"] = 'attachment; filename="team-outcomes.csv"'
    return response


def _yes_no(value) -> str:
    return "" if value is None else ("yes" if value else "no")
