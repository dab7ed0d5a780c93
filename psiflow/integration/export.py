"""A patient's course as CSV and JSON: phase history, measures, notes, check-ins, action plan.

Times are ISO 8601 in UTC so the file means the same wherever it is opened. Practice patients
never reach this module: access.py denies EXPORT on them before any view runs.
"""

from __future__ import annotations

from dataclasses import fields

import sqlalchemy as sa

from psiflow import catalog
from psiflow.domain.instruments import score_number
from psiflow.domain.outcomes import course_outcomes
from psiflow.extensions import db
from psiflow.integration.forms import NOTE_FIELDS
from psiflow.integration.queries import CallLine
from psiflow.models import ActionItem, IntegrationSession, MeasureResponse, SafetyCheckIn
from psiflow.models.integration import integration_session_measures
from psiflow.models.measures import timepoint_label
from psiflow.models.records import record_counts
from psiflow.web.spreadsheet import csv_text

_NOTE_COLUMNS = ("occurred_at", *NOTE_FIELDS)


def _counts(measure) -> bool:
    return record_counts(measure.status, measure.needs_cosign, measure.voided_at is not None)


def _iso(value):
    return value.isoformat() if value is not None else None


def course_export(course) -> dict:
    patient = course.patient
    # Column rows, not records: the export writes out values and never changes a record.
    measures = db.session.execute(
        sa.select(
            MeasureResponse.id,
            MeasureResponse.instrument_id,
            MeasureResponse.timepoint,
            MeasureResponse.occurred_at,
            MeasureResponse.total,
            MeasureResponse.band,
            MeasureResponse.risk,
            MeasureResponse.subscales,
            MeasureResponse.status,
            MeasureResponse.needs_cosign,
            MeasureResponse.voided_at,
        )
        .where(MeasureResponse.course_id == course.id)
        .order_by(MeasureResponse.occurred_at, MeasureResponse.id)
    ).all()
    notes = db.session.execute(
        sa.select(IntegrationSession.id, IntegrationSession.voided_at, IntegrationSession.status)
        .add_columns(*(getattr(IntegrationSession, name) for name in _NOTE_COLUMNS))
        .where(IntegrationSession.course_id == course.id)
        .order_by(IntegrationSession.occurred_at, IntegrationSession.id)
    ).all()
    # The measures each note lists, for all notes in one query, in the note's own order.
    given: dict[int, list[int]] = {}
    link = integration_session_measures.c
    if notes:
        for note_id, measure_id in db.session.execute(
            sa.select(link.integration_session_id, link.measure_response_id)
            .join(MeasureResponse, MeasureResponse.id == link.measure_response_id)
            .where(link.integration_session_id.in_([n.id for n in notes]))
            .order_by(MeasureResponse.occurred_at)
        ):
            given.setdefault(note_id, []).append(measure_id)
    call_columns = [getattr(SafetyCheckIn, f.name) for f in fields(CallLine)]
    check_ins = [
        CallLine(*row)
        for row in db.session.execute(
            sa.select(*call_columns)
            .where(SafetyCheckIn.course_id == course.id)
            .order_by(SafetyCheckIn.occurred_at, SafetyCheckIn.id)
        )
    ]
    items = db.session.execute(
        sa.select(
            ActionItem.id,
            ActionItem.text,
            ActionItem.status,
            ActionItem.created_in_id,
            ActionItem.closed_in_id,
            ActionItem.created_at,
            ActionItem.closed_at,
        )
        .where(ActionItem.course_id == course.id)
        .order_by(ActionItem.created_at, ActionItem.id)
    ).all()
    counting = [m for m in measures if _counts(m)]
    outcomes = course_outcomes(catalog.instruments(), counting)
    return {
        "patient": {"record_number": patient.record_number, "display_name": patient.display_name},
        "course": {
            "id": course.id,
            "protocol": course.protocol_id,
            "protocol_version": course.protocol_version,
            "phase": course.phase.value,
            "started_at": _iso(course.started_at),
        },
        "phase_history": [
            {
                "at": _iso(t.at),
                "from": t.from_phase.value if t.from_phase else None,
                "to": t.to_phase.value,
                "override": t.override,
                "reason": t.reason,
            }
            for t in course.transitions
        ],
        "measures": [
            {
                "id": m.id,
                "instrument": m.instrument_id,
                "timepoint": m.timepoint,
                "occurred_at": _iso(m.occurred_at),
                "total": m.total,
                "band": m.band,
                "risk": m.risk,
                "subscales": m.subscales,
                "status": m.status.value,
                "counts": _counts(m),
                "voided": m.voided_at is not None,
            }
            for m in measures
        ],
        "outcomes": [
            {
                "instrument": o.instrument_id,
                "baseline": o.baseline,
                "latest": o.latest,
                "latest_timepoint": o.latest_timepoint,
                "change_percent": o.change_percent,
                "response": o.response,
                "remission": o.remission,
            }
            for o in outcomes.values()
        ],
        "integration_sessions": [
            {
                "id": n.id,
                "occurred_at": _iso(n.occurred_at),
                "status": n.status.value,
                "voided": n.voided_at is not None,
                "duration_minutes": n.duration_minutes,
                "themes": n.themes,
                "emotions": n.emotions,
                "emotions_notes": n.emotions_notes,
                "meaning_made": n.meaning_made,
                "risk_notes": n.risk_notes,
                "plan_next_session": n.plan_next_session,
                "notes": n.notes,
                "measures_given": given.get(n.id, []),
            }
            for n in notes
        ],
        "safety_check_ins": [
            {
                "id": c.id,
                "occurred_at": _iso(c.occurred_at),
                "context": c.context.value,
                "dosing_number": c.dosing_number,
                "scheduled_day": c.scheduled_day,
                "concerns": c.concerns(),
                "voided": c.is_voided,
            }
            for c in check_ins
        ],
        "action_items": [
            {
                "id": i.id,
                "text": i.text,
                "status": i.status.value,
                "created_in": i.created_in_id,
                "closed_in": i.closed_in_id,
                "created_at": _iso(i.created_at),
                "closed_at": _iso(i.closed_at),
            }
            for i in items
        ],
    }


CSV_COLUMNS = ("when_utc", "kind", "record_id", "what", "value", "detail", "status")


def course_csv(export: dict) -> str:
    """One row per event of the course, oldest first: a timeline a spreadsheet can sort."""
    rows = []
    for t in export["phase_history"]:
        rows.append(
            (
                t["at"],
                "phase",
                "",
                f"{t['from'] or ''} -> {t['to']}",
                "",
                t["reason"],
                "override" if t["override"] else "",
            )
        )
    for m in export["measures"]:
        rows.append(
            (
                m["occurred_at"],
                "measure",
                m["id"],
                m["instrument"],
                score_number(m["total"]),
                timepoint_label(m["timepoint"]) + (f", {m['band']}" if m["band"] else ""),
                "voided" if m["voided"] else m["status"],
            )
        )
    for n in export["integration_sessions"]:
        rows.append(
            (
                n["occurred_at"],
                "integration_session",
                n["id"],
                "themes",
                n["duration_minutes"],
                n["themes"],
                "voided" if n["voided"] else n["status"],
            )
        )
    for c in export["safety_check_ins"]:
        rows.append(
            (
                c["occurred_at"],
                "safety_check_in",
                c["id"],
                c["context"],
                len(c["concerns"]),
                "; ".join(c["concerns"]),
                "voided" if c["voided"] else "signed",
            )
        )
    for i in export["action_items"]:
        rows.append(
            (
                i["created_at"],
                "action_item",
                i["id"],
                i["text"],
                "",
                f"closed {i['closed_at']}" if i["closed_at"] else "",
                i["status"],
            )
        )
    rows.sort(key=lambda r: (r[0] or "", r[1]))
    return csv_text(CSV_COLUMNS, rows)
