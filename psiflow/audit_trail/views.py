"""A patient's audit history, for supervisors and administrators (21 CFR 11.10(e))."""

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request

from psiflow.extensions import db
from psiflow.models import AuditEvent, User
from psiflow.web import guard

bp = Blueprint("audit", __name__)


@bp.route("/patients/<int:patient_id>/audit")
def patient_history(patient_id):
    patient = guard.load_patient(patient_id)
    page = db.paginate(
        sa.select(AuditEvent)
        .where(AuditEvent.patient_id == patient.id)
        .order_by(AuditEvent.seq.desc()),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    actor_ids = {e.actor_id for e in page.items if e.actor_id is not None}
    actors = (
        dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(actor_ids))).all())
        if actor_ids
        else {}
    )
    return render_template("audit/history.html", patient=patient, page=page, actors=actors)
