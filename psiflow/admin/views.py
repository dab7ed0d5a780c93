"""User management: create, edit, deactivate (users are never deleted)."""

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from psiflow import audit
from psiflow.access import Role
from psiflow.admin.forms import ConfirmForm, NewUserForm, UserForm
from psiflow.extensions import db
from psiflow.models import AuditEvent, Patient, User
from psiflow.web import guard

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _clinic_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.clinic_id != current_user.clinic_id:
        guard.refuse(404)
    return user


def _supervisor_choices(exclude_id: int | None = None):
    supervisors = db.session.scalars(
        sa.select(User)
        .where(
            User.clinic_id == current_user.clinic_id,
            User.role == Role.SUPERVISOR,
            User.active.is_(True),
        )
        .order_by(User.name)
    ).all()
    return [SelectChoice(0, "None")] + [
        SelectChoice(u.id, u.name) for u in supervisors if u.id != exclude_id
    ]


@bp.route("/users")
def users():
    page = db.paginate(
        sa.select(User)
        .where(User.clinic_id == current_user.clinic_id)
        .options(sa.orm.joinedload(User.supervisor))
        .order_by(User.active.desc(), User.name),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template("admin/users.html", page=page, confirm=ConfirmForm())


@bp.route("/patients")
def patients():
    """The clinic's patients by record number, each with a link to its audit history: an
    administrator answers audit questions without reading clinical records."""
    number = (request.args.get("record_number") or "").strip()
    query = sa.select(Patient).where(Patient.clinic_id == current_user.clinic_id)
    if number:
        query = query.where(Patient.record_number.startswith(number, autoescape=True))
    page = db.paginate(
        query.order_by(Patient.record_number),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template("admin/patients.html", page=page, record_number=number)


# What each refusal answered, in the words an administrator reads.
_ANSWERS = {
    403: "Forbidden: their role may not do this",
    404: "Not found: another caseload's, another clinic's, or no such record",
}


@bp.route("/refusals")
def refusals():
    """Requests the guard refused to this clinic's users, newest first: someone probing other
    caseloads shows up here. Nothing of the refused records was recorded, only their ids."""
    page = db.paginate(
        sa.select(AuditEvent)
        .join(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.action == "refused", User.clinic_id == current_user.clinic_id)
        .order_by(AuditEvent.seq.desc()),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    actor_ids = {e.actor_id for e in page.items}
    names = (
        dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(actor_ids))).all())
        if actor_ids
        else {}
    )
    rows = []
    for event in page.items:
        status, method, endpoint = guard.read_refusal_detail(event.detail)
        rows.append(
            {
                "event": event,
                "who": names[event.actor_id],
                "asked": "opened" if method == "GET" else "sent a form to",
                "endpoint": endpoint,
                "answer": _ANSWERS.get(status, f"Refused ({status})"),
            }
        )
    return render_template("admin/refusals.html", page=page, rows=rows)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = NewUserForm()
    form.supervisor_id.choices = _supervisor_choices()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        if db.session.scalar(sa.select(User.id).where(User.email == email)):
            form.email.errors.append("A user with this email already exists.")
        else:
            user = User(
                email=email,
                name=form.name.data.strip(),
                role=Role(form.role.data),
                clinic_id=current_user.clinic_id,
                supervisor_id=form.supervisor_id.data or None,
            )
            user.set_password(form.password.data)
            db.session.add(user)
            db.session.commit()
            flash(f"{user.name} can now log in as {user.email}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id):
    user = _clinic_user(user_id)
    form = UserForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = user.role.value
        form.supervisor_id.data = user.supervisor_id or 0
    form.supervisor_id.choices = _supervisor_choices(exclude_id=user.id)
    if form.validate_on_submit():
        if user.id == current_user.id and form.role.data != Role.ADMIN.value:
            form.role.errors.append("You cannot remove your own administrator role.")
        else:
            user.name = form.name.data.strip()
            user.role = Role(form.role.data)
            user.supervisor_id = form.supervisor_id.data or None
            db.session.commit()
            flash(f"{user.name} was updated.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, confirm=ConfirmForm())


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate_user(user_id):
    user = _clinic_user(user_id)
    if ConfirmForm().validate_on_submit():
        if user.id == current_user.id:
            flash("You cannot deactivate your own account.", "error")
        else:
            user.deactivate()
            db.session.commit()
            flash(f"{user.name} was deactivated and logged out everywhere.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate_user(user_id):
    user = _clinic_user(user_id)
    if ConfirmForm().validate_on_submit():
        user.active = True
        db.session.commit()
        flash(f"{user.name} was reactivated.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/sessions/end", methods=["POST"])
def end_user_sessions(user_id):
    """Log a user out everywhere (a device lost or left logged in); their account stays open."""
    user = _clinic_user(user_id)
    if ConfirmForm().validate_on_submit():
        user.end_sessions()
        db.session.commit()
        audit.record_event("logout", user, detail="everywhere, by an administrator")
        flash(f"{user.name} was logged out on every device.", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))
