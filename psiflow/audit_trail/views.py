"""A patient's audit history, for supervisors and administrators (21 CFR 11.10(e)): in words,
in the clinic's time, paged and filtered, the technical detail a click away, and a CSV of what
the filters select (itself recorded as an export)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from psiflow import access, audit, catalog
from psiflow.audit_trail import queries
from psiflow.audit_trail.forms import TrailFilterForm
from psiflow.domain.audit_words import (
    EVENT_KINDS,
    RECORD_GROUPS,
    CatalogNames,
    describe,
    records_named,
)
from psiflow.web import guard
from psiflow.web.presentation import clinic_zone
from psiflow.web.spreadsheet import MIMETYPE as CSV_MIMETYPE
from psiflow.web.spreadsheet import csv_text

bp = Blueprint("audit", __name__)


def _filters(people: dict[int, str]) -> tuple[TrailFilterForm, queries.TrailFilters]:
    form = TrailFilterForm(formdata=request.args)
    form.person.choices = [
        SelectChoice("", "Anyone"),
        *(SelectChoice(str(pid), name) for pid, name in people.items()),
        SelectChoice(str(queries.SYSTEM), "The system or a server command"),
    ]
    form.record.choices = [SelectChoice("", "Any record")] + [
        SelectChoice(key, label) for key, (label, _types) in RECORD_GROUPS.items()
    ]
    form.kind.choices = [SelectChoice("", "Any kind")] + [
        SelectChoice(key, label) for key, (label, _actions) in EVENT_KINDS.items()
    ]
    # Each filter that does not validate (an unknown person, a date out of range) is left
    # out and says why beside its field; the others still apply.
    form.validate()
    ok = lambda name: bool(form[name].data) and not form[name].errors  # noqa: E731
    return form, queries.TrailFilters(
        person=int(form.person.data) if ok("person") else None,
        record=form.record.data if ok("record") else None,
        kind=form.kind.data if ok("kind") else None,
        since=form.since.data if ok("since") else None,
        until=form.until.data if ok("until") else None,
    )


def _catalog_names() -> CatalogNames:
    protocols = catalog.protocols()
    return CatalogNames(
        instruments={key: i.short_name for key, i in catalog.instruments().items()},
        protocols={key: p.name for key, p in protocols.items()},
        session_items={
            (key, item.id): item.label
            for key, p in protocols.items()
            for item in (*p.checklist, *p.session_questions)
        },
    )


def _described(rows, people, zone):
    dates, protocols = queries.record_facts(records_named(rows))
    names = _catalog_names()
    return [
        (
            row,
            describe(
                row,
                actor_name=people.get(row.actor_id),
                record_dates=dates,
                zone=zone,
                names=names,
                record_protocols=protocols,
            ),
        )
        for row in rows
    ]


@bp.route("/patients/<int:patient_id>/audit")
def patient_history(patient_id):
    patient = guard.load_patient(patient_id)
    zone = clinic_zone()
    people = queries.people_in_trail(patient.id)
    form, filters = _filters(people)
    page = queries.trail_page(
        patient.id,
        filters,
        zone,
        request.args.get("page", 1, type=int),
        current_app.config["PAGE_SIZE"],
    )
    return render_template(
        "audit/history.html",
        patient=patient,
        page=page,
        events=_described(page.rows, people, zone),
        form=form,
        filters=filters,
        may_download=access.can(current_user, access.Action.EXPORT_AUDIT, patient),
    )


CSV_HEADER = (
    "when",
    "who",
    "what",
    "kind_of_event",
    "record_type",
    "record_id",
    "changes",
    "event_number",
    "request_id",
    "remote_address",
    "hash",
)


@bp.route("/patients/<int:patient_id>/audit.csv")
def patient_history_csv(patient_id):
    patient = guard.load_patient(patient_id)
    zone = clinic_zone()
    people = queries.people_in_trail(patient.id)
    _form, filters = _filters(people)
    rows = queries.all_trail_rows(patient.id, filters, zone)
    lines = [
        (
            said.when,
            said.who,
            said.what,
            said.kind,
            row.object_type or "",
            row.object_id or "",
            "; ".join(
                f"{c.label}: {c.old} -> {c.new}" if c.old is not None else f"{c.label}: {c.new}"
                for c in said.changes
            ),
            row.seq,
            row.request_id or "",
            row.remote_addr or "",
            row.hash,
        )
        for row, said in _described(rows, people, zone)
    ]
    audit.record_event(
        "export", patient, patient_id=patient.id, detail=f"audit history CSV ({len(lines)} events)"
    )
    response = Response(csv_text(CSV_HEADER, lines), mimetype=CSV_MIMETYPE)
    # The file name carries the opaque patient id only, never the patient's name.
    response.headers["Content-Disposition"] = (
        f'attachment; filename="audit-history-patient-{patient.id}.csv"'
    )
    return response
