"""Practicum hours: the trainee's log, the supervisor's sign-off, the totals against the
programme's requirement, and the signed log as a printable page and a CSV.

Who may do what is `access.may_practicum` (the trainee and their own supervisor, nobody
else); a log is not a patient's record, so the guard's patient loaders do not apply and the
two loaders below ask `access` themselves, answering 404 for a log the user may not see.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from psiflow import access, audit, catalog
from psiflow.access import PracticumAction, Role
from psiflow.domain.practicum import (
    PracticumKind,
    ProgrammeError,
    default_programme_dir,
    entry_errors,
    hours_text,
    load_programmes,
    practicum_totals,
)
from psiflow.domain.signing import Meaning, SigningRefused
from psiflow.extensions import db
from psiflow.models import practicum as log
from psiflow.models.practicum import PracticumEntry
from psiflow.models.types import utcnow
from psiflow.models.users import User
from psiflow.training import bp
from psiflow.training.practicum_forms import (
    AddendumForm,
    EditEntryForm,
    EntryForm,
    SignEntryForm,
    VoidForm,
)
from psiflow.web import guard
from psiflow.web.edit_conflicts import keep_stale, refuse_stale
from psiflow.web.presentation import clinic_zone
from psiflow.web.spreadsheet import MIMETYPE as CSV_MIMETYPE
from psiflow.web.spreadsheet import csv_text


@bp.record_once
def _load_programme(state) -> None:
    """The requirement every log is counted against, validated at start like protocols: a
    misnamed programme stops the app rather than showing a trainee a wrong target."""
    app = state.app
    directory = Path(app.config["PRACTICUM_PROGRAMME_DIR"] or default_programme_dir())
    programmes = load_programmes(directory)
    chosen = app.config["PRACTICUM_PROGRAMME"]
    if chosen not in programmes:
        known = ", ".join(sorted(programmes)) or "none"
        raise ProgrammeError(
            f"PRACTICUM_PROGRAMME {chosen!r} is not a programme in {directory} (known: {known})"
        )
    app.extensions["psiflow"]["practicum_programme"] = programmes[chosen]


def _programme():
    return current_app.extensions["psiflow"]["practicum_programme"]


@bp.app_template_global()
def practicum_nav_label() -> str | None:
    """The navigation link's words for this user, or None when they keep or sign no log."""
    if access.keeps_practicum_log(current_user.role):
        return "Practicum hours"
    if access.signs_off_practicum(current_user.role):
        return "Practicum sign-off"
    return None


# --- loading, checked ------------------------------------------------------------------------


def _refuse_unless(action: PracticumAction, trainee) -> None:
    if access.may_practicum(current_user, action, trainee):
        return
    # Someone who may read the log but not do this (a trainee signing off their own hours) is
    # told no; anyone else cannot tell a log they may not see from one that does not exist.
    seen = access.may_practicum(current_user, PracticumAction.VIEW, trainee)
    guard.refuse(403 if seen else 404)


def _trainee(trainee_id: int, action: PracticumAction) -> User:
    trainee = db.session.get(User, trainee_id)
    _refuse_unless(action, trainee)
    return trainee


def _entry(entry_id: int, action: PracticumAction) -> PracticumEntry:
    entry = db.session.get(PracticumEntry, entry_id)
    _refuse_unless(action, entry.trainee if entry is not None else None)
    return entry


def _to_entry(entry):
    return redirect(url_for("training.practicum_entry", practicum_entry_id=entry.id))


def _flash_errors(form) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(message, "error")


# --- pages -----------------------------------------------------------------------------------


@bp.route("/practicum")
def practicum():
    """A trainee's own log; a supervisor's overview of their trainees' logs."""
    if access.keeps_practicum_log(current_user.role):
        return redirect(url_for("training.practicum_log", trainee_id=current_user.id))
    # Former trainees too (deactivated accounts last): their signed hours stay theirs.
    trainees = list(
        db.session.scalars(
            sa.select(User)
            .where(User.supervisor_id == current_user.id, User.role == Role.TRAINEE)
            .order_by(User.active.desc(), User.name)
        )
    )
    ids = [t.id for t in trainees]
    logged = log.logged_entries(ids)
    waiting = log.awaiting_sign_off(ids)
    programme = _programme()
    rows = [(t, practicum_totals(programme, logged[t.id]), waiting.get(t.id, 0)) for t in trainees]
    return render_template(
        "training/practicum_overview.html", rows=rows, programme=programme, hours=hours_text
    )


@bp.route("/practicum/trainees/<int:trainee_id>")
def practicum_log(trainee_id):
    trainee = _trainee(trainee_id, PracticumAction.VIEW)
    page = db.paginate(
        log.entries_query(trainee.id),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    entries = page.items
    programme = _programme()
    totals = practicum_totals(programme, log.logged_entries([trainee.id])[trainee.id])
    return render_template(
        "training/practicum_log.html",
        trainee=trainee,
        entries=entries,
        page=page,
        sessions=log.linked_sessions(entries),
        totals=totals,
        programme=programme,
        protocol_names=_protocol_names(),
        hours=hours_text,
        may_log=access.may_practicum(current_user, PracticumAction.LOG, trainee),
        may_sign_off=access.may_practicum(current_user, PracticumAction.SIGN_OFF, trainee),
    )


def _protocol_names() -> dict[str, str]:
    return {p.id: p.name for p in catalog.protocols().values()}


def _entry_fields(form) -> dict:
    return {
        "kind": PracticumKind(form.kind.data),
        "occurred_on": form.occurred_on.data,
        "duration_minutes": form.duration_minutes,
        "protocol_id": form.protocol_id.data or None,
        "description": form.description.data.strip(),
        "session_ids": list(form.session_ids.data or []),
    }


def _domain_errors(form, practice_sessions) -> bool:
    """Ask the domain about what the form holds; its refusals go beside their fields."""
    fields = _entry_fields(form)
    errors = entry_errors(
        kind=fields["kind"],
        occurred_on=fields["occurred_on"],
        duration_minutes=fields["duration_minutes"],
        session_ids=fields["session_ids"],
        eligible_session_ids=[s.id for s in practice_sessions],
        today=utcnow().astimezone(clinic_zone()).date(),
    )
    for name, message in errors.items():
        target = form.hours if name == "duration_minutes" else form[name]
        target.errors = [*target.errors, message]
    return bool(errors)


@bp.route("/practicum/trainees/<int:trainee_id>/new", methods=["GET", "POST"])
def practicum_new(trainee_id):
    trainee = _trainee(trainee_id, PracticumAction.LOG)
    practice_sessions = log.practice_sessions_of(trainee)
    form = EntryForm()
    form.offer(practice_sessions)
    if form.validate_on_submit() and not _domain_errors(form, practice_sessions):
        entry = log.log_entry(trainee, **_entry_fields(form))
        db.session.commit()
        flash("Hours saved as a draft. Sign them when they are complete.", "success")
        return _to_entry(entry)
    return render_template("training/practicum_form.html", form=form, trainee=trainee, entry=None)


@bp.route("/practicum/entries/<int:practicum_entry_id>/edit", methods=["GET", "POST"])
def practicum_edit(practicum_entry_id):
    entry = _entry(practicum_entry_id, PracticumAction.LOG)
    if entry.is_signed or entry.is_voided:
        flash("A signed or voided entry is not edited: add an addendum instead.", "error")
        return _to_entry(entry)
    practice_sessions = log.practice_sessions_of(entry.trainee)
    stored_ids = log.session_ids_of(entry)
    form = EditEntryForm(obj=entry)
    form.offer(practice_sessions)
    if not form.is_submitted():
        form.hours.data, form.minutes.data = divmod(entry.duration_minutes, 60)
        form.kind.data = entry.kind.value
        form.protocol_id.data = entry.protocol_id or ""
        form.session_ids.data = stored_ids
        form.version.data = entry.version
    elif form.validate_on_submit() and not _domain_errors(form, practice_sessions):
        if not refuse_stale(form, entry.version, _stored(entry, stored_ids)):
            try:
                log.update_entry(entry, **_entry_fields(form))
                db.session.commit()
            except StaleDataError:
                db.session.rollback()
                keep_stale(form, entry.version, _stored(entry, log.session_ids_of(entry)))
            else:
                flash("Draft saved.", "success")
                return _to_entry(entry)
    return render_template(
        "training/practicum_form.html", form=form, trainee=entry.trainee, entry=entry
    )


def _stored(entry, session_ids) -> dict:
    db.session.refresh(entry)
    hours, minutes = divmod(entry.duration_minutes, 60)
    return {
        "kind": entry.kind.value,
        "occurred_on": entry.occurred_on,
        "hours": hours,
        "minutes": minutes,
        "protocol_id": entry.protocol_id or "",
        "session_ids": session_ids,
        "description": entry.description,
    }


@bp.route("/practicum/entries/<int:practicum_entry_id>")
def practicum_entry(practicum_entry_id):
    entry = _entry(practicum_entry_id, PracticumAction.VIEW)
    trainee = entry.trainee
    session_ids = log.session_ids_of(entry)
    signatures = log.signatures_of([entry])[entry.id]
    may = {a.value: access.may_practicum(current_user, a, trainee) for a in PracticumAction}
    return render_template(
        "training/practicum_entry.html",
        entry=entry,
        trainee=trainee,
        sessions=log.linked_sessions([entry])[entry.id],
        signatures=[(s, log.signature_intact(s, entry, session_ids)) for s in signatures],
        addenda=log.addenda_of([entry])[entry.id],
        protocol_names=_protocol_names(),
        hours=hours_text,
        may=may,
        sign_form=SignEntryForm(formdata=None, prefix="sign"),
        addendum_form=AddendumForm(formdata=None, prefix="addendum"),
        void_form=VoidForm(formdata=None, prefix="void"),
        Meaning=Meaning,
    )


def _reauthenticated(form, entry, operation, done: str, refused: str = ""):
    """As every signature in PsiFlow: a valid form, the signer's password, then one
    operation committed, or nothing at all."""
    if not form.validate_on_submit():
        _flash_errors(form)
    elif not current_user.check_password(form.password.data or ""):
        flash("The password is not correct; nothing was signed or changed.", "error")
    else:
        try:
            operation()
            db.session.commit()
            flash(done, "success")
        except SigningRefused as error:
            db.session.rollback()
            flash(refused + " ".join(error.missing), "error")
    return _to_entry(entry)


# The signature each kind of signer gives, and what they must be allowed to do to give it.
_SIGNATURES = {
    Meaning.AUTHORED.value: (Meaning.AUTHORED, PracticumAction.LOG),
    Meaning.REVIEWED.value: (Meaning.REVIEWED, PracticumAction.SIGN_OFF),
}


@bp.route("/practicum/entries/<int:practicum_entry_id>/sign", methods=["POST"])
def practicum_sign(practicum_entry_id):
    entry = _entry(practicum_entry_id, PracticumAction.VIEW)
    form = SignEntryForm(prefix="sign")
    meaning, needed = _SIGNATURES.get(form.meaning.data, (None, None))
    if meaning is None:
        flash("That kind of signature is not given here.", "error")
        return _to_entry(entry)
    _refuse_unless(needed, entry.trainee)
    done = (
        "Entry signed: it now waits for your supervisor's sign-off."
        if meaning == Meaning.AUTHORED
        else "Hours signed off: they now count toward the practicum."
    )
    return _reauthenticated(
        form, entry, lambda: log.sign_entry(entry, current_user, meaning), done, "Not signed. "
    )


@bp.route("/practicum/entries/<int:practicum_entry_id>/addendum", methods=["POST"])
def practicum_addendum(practicum_entry_id):
    entry = _entry(practicum_entry_id, PracticumAction.AMEND)
    form = AddendumForm(prefix="addendum")
    return _reauthenticated(
        form,
        entry,
        lambda: log.add_entry_addendum(entry, current_user, form.text.data),
        "Addendum signed and added.",
    )


@bp.route("/practicum/entries/<int:practicum_entry_id>/void", methods=["POST"])
def practicum_void(practicum_entry_id):
    entry = _entry(practicum_entry_id, PracticumAction.VOID)
    form = VoidForm(prefix="void")
    return _reauthenticated(
        form,
        entry,
        lambda: log.void_entry(entry, current_user, form.reason.data),
        "Entry voided: it stays in the log, marked as voided, and no longer counts.",
    )


# --- the signed log, to keep -------------------------------------------------------------------


def _signed_log(trainee):
    """The entries a supervisor signed off (voided ones marked), their signatures, addenda
    and sessions, in four queries whatever the length of the log."""
    entries = [e for e in reversed(log.entries_of(trainee.id)) if e.is_signed_off]
    return (
        entries,
        log.signatures_of(entries),
        log.addenda_of(entries),
        log.linked_sessions(entries),
    )


@bp.route("/practicum/trainees/<int:trainee_id>/print")
def practicum_print(trainee_id):
    trainee = _trainee(trainee_id, PracticumAction.VIEW)
    entries, signatures, addenda, sessions = _signed_log(trainee)
    programme = _programme()
    totals = practicum_totals(programme, log.logged_entries([trainee.id])[trainee.id])
    audit.record_event(
        "export", object_type="practicum_log", object_id=trainee.id, detail="practicum print"
    )
    return render_template(
        "training/practicum_print.html",
        trainee=trainee,
        entries=entries,
        signatures=signatures,
        addenda=addenda,
        sessions=sessions,
        totals=totals,
        programme=programme,
        protocol_names=_protocol_names(),
        hours=hours_text,
        printed_at=utcnow(),
    )


CSV_COLUMNS = (
    "date",
    "kind",
    "minutes",
    "hours",
    "protocol",
    "description",
    "practice_session_ids",
    "signed_by_trainee",
    "trainee_signed_at_utc",
    "signed_off_by",
    "signed_off_at_utc",
    "signed_content_hash",
    "status",
    "void_reason",
    "addenda",
)


@bp.route("/practicum/trainees/<int:trainee_id>/practicum.csv")
def practicum_csv(trainee_id):
    trainee = _trainee(trainee_id, PracticumAction.VIEW)
    entries, signatures, addenda, sessions = _signed_log(trainee)
    names = _protocol_names()
    rows = []
    for entry in entries:
        by_meaning = {s.meaning: s for s in signatures[entry.id]}
        author, reviewer = by_meaning.get(Meaning.AUTHORED), by_meaning.get(Meaning.REVIEWED)
        rows.append(
            (
                entry.occurred_on.isoformat(),
                entry.kind.label,
                entry.duration_minutes,
                f"{entry.duration_minutes / 60:.2f}",
                names.get(entry.protocol_id, entry.protocol_id or ""),
                entry.description,
                " ".join(str(s[0]) for s in sessions[entry.id]),
                author.printed_name if author else "",
                author.signed_at.isoformat() if author else "",
                reviewer.printed_name if reviewer else "",
                reviewer.signed_at.isoformat() if reviewer else "",
                reviewer.content_hash if reviewer else "",
                "voided" if entry.is_voided else "signed off",
                entry.void_reason or "",
                " | ".join(
                    f"{a.printed_name} {a.created_at.isoformat()}: {a.text}"
                    for a in addenda[entry.id]
                ),
            )
        )
    audit.record_event(
        "export", object_type="practicum_log", object_id=trainee.id, detail="practicum CSV"
    )
    return Response(
        csv_text(CSV_COLUMNS, rows),
        mimetype=CSV_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="practicum-log-{trainee.id}.csv"'},
    )
