"""Every clinical record's page, signatures, addenda and voiding, for all record types."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from psiflow import access
from psiflow.access import Action
from psiflow.domain.signing import Meaning, SigningRefused
from psiflow.extensions import db
from psiflow.models.records import (
    add_addendum,
    addenda_for,
    sign_record,
    signature_intact,
    signatures_for,
    void_record,
)
from psiflow.records.forms import AddendumForm, SignForm, VoidForm
from psiflow.web import guard

bp = Blueprint("records", __name__, url_prefix="/records")


def record_context(record) -> dict:
    """What the signature block of a record page needs."""
    key = (record.record_type, record.id)
    signatures = signatures_for([record]).get(key, [])
    patient = record.course.patient
    return {
        "record": record,
        "signatures": [(s, signature_intact(s, record)) for s in signatures],
        "addenda": addenda_for([record]).get(key, []),
        "may_edit": access.can(current_user, Action.EDIT, patient),
        "may_void": access.may_void(current_user, record.author, patient),
        "sign_form": SignForm(formdata=None, prefix="sign"),
        "addendum_form": AddendumForm(formdata=None, prefix="addendum"),
        "void_form": VoidForm(formdata=None, prefix="void"),
        "Meaning": Meaning,
    }


@bp.route("/<record_type>/<int:record_id>")
def show(record_type, record_id):
    record = guard.load_record(record_type, record_id)
    return render_template("records/show.html", **record_context(record))


def _back(record):
    return redirect(url_for("records.show", record_type=record.record_type, record_id=record.id))


def _password_ok(form) -> bool:
    if current_user.check_password(form.password.data or ""):
        return True
    flash("The password is not correct; nothing was signed or changed.", "error")
    return False


def _form_errors(form) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(message, "error")


def _reauthenticated(form, record, operation, done: str, refused: str = ""):
    """The shared steps of signing, amending and voiding: a valid form, the signer's
    password, then one operation committed, or nothing at all."""
    if not form.validate_on_submit():
        _form_errors(form)
    elif _password_ok(form):
        try:
            operation()
            db.session.commit()
            flash(done, "success")
        except SigningRefused as error:
            db.session.rollback()
            flash(error.sentence if refused else " ".join(error.missing), "error")
    return _back(record)


@bp.route("/<record_type>/<int:record_id>/sign", methods=["POST"])
def sign(record_type, record_id):
    record = guard.load_record(record_type, record_id)
    form = SignForm(prefix="sign")
    meaning = {m.value: m for m in (Meaning.AUTHORED, Meaning.CO_FACILITATED)}.get(
        form.meaning.data
    )
    if form.is_submitted() and meaning is None:
        flash("That kind of signature is not given here.", "error")
        return _back(record)
    care_team = access.relationship(current_user, record.course.patient) in access.CARE_TEAM
    return _reauthenticated(
        form,
        record,
        lambda: sign_record(record, current_user, meaning, signer_is_care_team=care_team),
        f"{record.record_label} signed.",
        "Not signed. ",
    )


@bp.route("/<record_type>/<int:record_id>/addendum", methods=["POST"])
def addendum(record_type, record_id):
    record = guard.load_record(record_type, record_id)
    form = AddendumForm(prefix="addendum")
    return _reauthenticated(
        form,
        record,
        lambda: add_addendum(record, current_user, form.text.data),
        "Addendum signed and added.",
    )


@bp.route("/<record_type>/<int:record_id>/void", methods=["POST"])
def void(record_type, record_id):
    record = guard.load_record(record_type, record_id)
    if not access.may_void(current_user, record.author, record.course.patient):
        guard.refuse(403)
    form = VoidForm(prefix="void")
    return _reauthenticated(
        form,
        record,
        lambda: void_record(record, current_user, form.reason.data),
        f"{record.record_label} voided; it stays in the record, marked as voided.",
    )
