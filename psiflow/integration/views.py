"""Integration sessions, safety check-ins, the integration panel and the course export."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from psiflow import audit, catalog
from psiflow.domain.instruments import InstrumentError, score_text
from psiflow.domain.schedule import check_in_due_now, schedule_numbers
from psiflow.domain.signing import SigningRefused
from psiflow.extensions import db
from psiflow.integration import queries
from psiflow.integration.export import course_csv, course_export
from psiflow.integration.forms import (
    NOTE_FIELDS,
    check_in_form,
    new_session_form,
    note_fields,
    note_form,
    risk_answers,
    to_utc,
)
from psiflow.models.integration import (
    RISK_SCREEN,
    ActionStatus,
    CheckInContext,
    IntegrationSession,
    note_rows,
    record_check_in,
    save_note,
    schedule_done,
    start_integration_session,
)
from psiflow.models.measures import timepoint_label
from psiflow.models.types import utcnow
from psiflow.web import guard
from psiflow.web.edit_conflicts import keep_stale, refuse_stale
from psiflow.web.spreadsheet import MIMETYPE as CSV_MIMETYPE

bp = Blueprint("integration", __name__, url_prefix="/integration")


@bp.app_template_global()
def integration_dashboard():
    return queries.dashboard(current_user)


SAVED_AT_THE_SAME_MOMENT = (
    "Someone else saved this note at the same moment. Nothing of yours was saved: what you "
    "typed is still in the form, and what is stored now is shown above it; save again."
)


def _to_record(record):
    return redirect(url_for("records.show", record_type=record.record_type, record_id=record.id))


def _password_ok(form) -> bool:
    if current_user.check_password(form.password.data or ""):
        return True
    form.password.errors.append("The password is not correct; nothing was signed.")
    return False


@bp.route("/courses/<int:course_id>/sessions/new", methods=["GET", "POST"])
def new_session(course_id):
    course = guard.load_course(course_id)
    protocol = course.protocol
    instrument = catalog.instruments()[RISK_SCREEN] if protocol.risk_screen_at_integration else None
    form = new_session_form(instrument)
    if form.validate_on_submit() and _password_ok(form):
        try:
            note = start_integration_session(
                course,
                current_user,
                occurred_at=to_utc(form.occurred_at.data),
                check_in_answers=form.check_in_answers(),
                risk_answers=risk_answers(form),
            )
            db.session.commit()
        except InstrumentError as error:
            db.session.rollback()
            form.form_errors.append(f"Risk screen: {str(error).split(': ', 1)[-1]}")
        except SigningRefused as refused:
            db.session.rollback()
            form.form_errors.extend(refused.missing)
        else:
            flash("Check-in signed. Write the session note, then sign it.", "success")
            return redirect(
                url_for("integration.edit_session", record_type=note.record_type, record_id=note.id)
            )
    return render_template(
        "integration/new_session.html", form=form, course=course, patient=course.patient
    )


def _call_choices(course):
    numbers = schedule_numbers(course.protocol)
    done = schedule_done([course])[course.id]
    choices = [
        SelectChoice(f"{n}:{day}", f"Day {day} after dosing {n}")
        for n in range(1, len(done.dosing_times) + 1)
        for day in numbers.safety_checkin_days
    ]
    choices.append(SelectChoice("", "An unscheduled call"))
    due = check_in_due_now(numbers, done, utcnow())
    return choices, (f"{due[0]}:{due[1]}" if due else "")


@bp.route("/courses/<int:course_id>/check-ins/new", methods=["GET", "POST"])
def new_check_in(course_id):
    course = guard.load_course(course_id)
    choices, due = _call_choices(course)
    form = check_in_form(choices, call=due)
    if form.validate_on_submit() and _password_ok(form):
        number, day = (
            (int(v) for v in form.call.data.split(":")) if form.call.data else (None, None)
        )
        answers = {**form.check_in_answers(), "notes": (form.notes.data or "").strip()}
        try:
            check_in = record_check_in(
                course,
                current_user,
                occurred_at=to_utc(form.occurred_at.data),
                context=CheckInContext.CALL,
                answers=answers,
                dosing_number=number,
                scheduled_day=day,
            )
            db.session.commit()
        except SigningRefused as refused:
            db.session.rollback()
            form.form_errors.extend(refused.missing)
        else:
            verdict = check_in.judged()
            if verdict.alert:
                flash(
                    "Check-in signed. The supervisor has been alerted: "
                    + "; ".join(verdict.alert)
                    + ".",
                    "error",
                )
            elif verdict.expected:
                flash(
                    "Check-in signed. Expected on this day after dosing, so no alert: "
                    + "; ".join(verdict.expected)
                    + ".",
                    "success",
                )
            else:
                flash("Check-in signed.", "success")
            return redirect(
                url_for("patients.show", patient_id=course.patient_id) + f"#course-{course.id}"
            )
    return render_template(
        "integration/new_check_in.html", form=form, course=course, patient=course.patient
    )


def _note_form(note, rows, formdata=True):
    measures = [
        SelectChoice(
            m.id,
            f"{m.instrument.short_name}, {timepoint_label(m.timepoint)}: {score_text(m.total)}",
        )
        for m in rows.eligible
    ]
    kwargs = {} if formdata else {"formdata": None, "data": _stored_note(note)}
    return note_form(rows.carried, rows.own, measures, obj=None, **kwargs)


def _stored_note(note) -> dict:
    data = {name: getattr(note, name) for name in NOTE_FIELDS}
    data["measures"] = [m.id for m in note.measures_given]
    data["version"] = note.version
    return data


@bp.route("/<record_type>/<int:record_id>/edit", methods=["GET", "POST"])
def edit_session(record_type, record_id):
    note = guard.load_record(record_type, record_id)
    if not isinstance(note, IntegrationSession):
        abort(404)
    if note.is_signed or note.is_voided:
        flash("The note is signed: add an addendum instead of editing it.", "error")
        return _to_record(note)
    rows = note_rows(note)  # read once: the form offers them and the save works on them
    form = _note_form(note, rows, formdata=True)
    status = 200
    if form.is_submitted():
        valid = form.validate()
        if refuse_stale(form, note.version, _stored_note(note)):
            # Another device saved first, or the post did not say which version it changes:
            # nothing is saved, what was typed stays in the form beside what is stored.
            status = 409
        elif valid:
            try:
                save_note(
                    note,
                    note_fields(form),
                    reviewed={
                        item.id: ActionStatus(field.data)
                        for field, item in form.carried
                        if field.data in {s.value for s in ActionStatus}
                    },
                    own_items={item.id: field.data or "" for field, item in form.own},
                    new_items=[field.data or "" for field in form.new],
                    measure_ids=set(form.measures.data or []),
                    loaded=rows,
                )
                # The answer is the note's page: its address taken before the commit expires
                # the note (reading its id afterwards would load the row again).
                saved = _to_record(note)
                db.session.commit()
            except SigningRefused as refused:
                db.session.rollback()
                flash(" ".join(refused.missing), "error")
            except StaleDataError:
                # Saved from another device between this request's read and its write (the
                # benchmark's concurrent saves found it as a 500): theirs stands, say so.
                db.session.rollback()
                db.session.refresh(note)
                keep_stale(form, note.version, _stored_note(note), SAVED_AT_THE_SAME_MOMENT)
                status = 409
            else:
                flash("Draft saved. Sign it when it is complete.", "success")
                return saved
    else:
        form = _note_form(note, rows, formdata=False)
    return render_template(
        "integration/edit_session.html",
        form=form,
        note=note,
        course=note.course,
        patient=note.course.patient,
    ), status


@bp.route("/courses/<int:course_id>/export.json")
def export_json(course_id):
    course = guard.load_course(course_id)
    audit.record_event("export", course, patient_id=course.patient_id, detail="course JSON")
    body = json.dumps(course_export(course), indent=2, ensure_ascii=False)
    return _download(body, "application/json", f"course-{course.id}.json")


@bp.route("/courses/<int:course_id>/export.csv")
def export_csv(course_id):
    course = guard.load_course(course_id)
    audit.record_event("export", course, patient_id=course.patient_id, detail="course CSV")
    return _download(course_csv(course_export(course)), CSV_MIMETYPE, f"course-{course.id}.csv")


def _download(body: str, mimetype: str, filename: str) -> Response:
    # The file name carries the opaque course id only, never the patient's name.
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
