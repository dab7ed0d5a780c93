"""An audit event in the words of the people who read the trail (HIPAA 45 CFR 164.312(b) asks
for a trail someone can actually review): who did what to which record, in the clinic's time.

Plain Python over the stored row's values: no Flask, no database. The page that shows the trail
reads a page of rows, asks `records_named` which clinical records those rows name, looks up when
each of them occurred (one query) and hands the answer to `describe` as `record_dates`. The
technical detail (field names, ids, hashes) stays available beside the sentence, never instead
of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from psiflow.domain.outcomes import timepoint_label
from psiflow.domain.phases import Phase

# A clinical record's type (URL and signature name) -> its model's class name (audit rows name
# the class). tests/models/test_audit_words_match_models.py keeps this equal to the models'.
RECORD_CLASSES = {
    "screening": "Screening",
    "consent": "Consent",
    "set_intake": "SetIntake",
    "preparation_session": "PreparationSession",
    "dosing_session": "DosingSession",
    "integration_session": "IntegrationSession",
    "safety_check_in": "SafetyCheckIn",
    "measure": "MeasureResponse",
}

# What each kind of object is called in a sentence.
_NOUNS = {
    "Patient": "the patient's details",
    "Course": "the course",
    "PhaseTransition": "the course's phase",
    "Screening": "the screening",
    "ScreeningFlag": "a contraindication flag",
    "Consent": "the informed consent",
    "TouchConsentEntry": "the touch consent",
    "SetIntake": "the set intake",
    "PreparationSession": "the preparation session",
    "DosingSession": "the dosing session record",
    "SessionAnswer": "a checklist item of the dosing session",
    "DoseAdministration": "a dose",
    "SessionEvent": "a session event",
    "VitalSign": "a vital signs reading",
    "AdverseEvent": "an adverse event",
    "AdverseEventUpdate": "an adverse event follow-up",
    "IntegrationSession": "the integration session note",
    "ActionItem": "an action item",
    "SafetyCheckIn": "the safety check-in",
    "MeasureResponse": "the measure",
    "Signature": "a signature",
    "Addendum": "an addendum",
    "Review": "a review",
    "Alert": "a safety alert",
    "RemsMonitoringForm": "the REMS monitoring form",
    "DoseDeviation": "a dose deviation",
    "EntryReceipt": "the receipt of an entry sent from the session room",
    "ScenarioRun": "the training scenario run",
    "ScenarioDelivery": "a scripted scenario reading",
    "TrainingClock": "the training clock",
    "AdherenceComment": "a supervisor's comment on adherence",
}

# Parts of a dosing session, named in their own rows by `session_id`.
_SESSION_PARTS = frozenset(
    {"SessionAnswer", "DoseAdministration", "SessionEvent", "VitalSign", "AdverseEvent"}
)

# The pages a view event names (the endpoint), as what the reader did.
_PAGES = {
    "patients.show": "viewed the patient page",
    "patients.edit_safety": "opened the safety details form",
    "records.show": "viewed {record}",
    "sessions.live": "opened the live page of {record}",
    "sessions.printable": "opened the printable copy of {record}",
    "audit.patient_history": "read the patient's audit history",
    "audit.patient_history_csv": "downloaded the patient's audit history",
    "supervision.review": "opened {record} for review",
    "integration.export_csv": "opened the course export (CSV)",
    "integration.export_json": "opened the course export (JSON)",
}

_SIGNED = {
    "authored": "signed {record}",
    "co_facilitated": "signed {record} as the second facilitator",
    "reviewed": "co-signed {record} after review",
    "approved": "approved {record}",
}

# Kinds of event a reader filters by: key -> (label, the stored actions it covers).
EVENT_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "view": ("Views and prints", ("view",)),
    "change": ("Records created or changed", ("create", "update")),
    "sign": ("Signatures and addenda", ("sign", "addendum")),
    "void": ("Voided records", ("void", "delete")),
    "phase": ("Phase changes", ("phase_transition",)),
    "export": ("Exports", ("export",)),
    "access": (
        "Log-ins, log-outs and refusals",
        ("login_success", "login_failure", "logout", "refused"),
    ),
}

# Records a reader filters by: key -> (label, the object types it covers).
RECORD_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "patient": ("Patient details", ("Patient",)),
    "course": ("Course and phases", ("Course", "PhaseTransition")),
    "screening": ("Screening and its flags", ("Screening", "ScreeningFlag")),
    "consent": ("Consent and touch consent", ("Consent", "TouchConsentEntry")),
    "set_intake": ("Set intake", ("SetIntake",)),
    "preparation_session": ("Preparation sessions", ("PreparationSession",)),
    "dosing_session": (
        "Dosing sessions (checklist, doses, vitals, events)",
        (
            "DosingSession",
            "SessionAnswer",
            "DoseAdministration",
            "SessionEvent",
            "VitalSign",
            "AdverseEvent",
            "AdverseEventUpdate",
            "RemsMonitoringForm",
            "DoseDeviation",
            "EntryReceipt",
        ),
    ),
    "training": (
        "Training scenario (practice patients)",
        ("ScenarioRun", "ScenarioDelivery", "TrainingClock", "AdherenceComment"),
    ),
    "integration_session": (
        "Integration sessions and action items",
        ("IntegrationSession", "ActionItem"),
    ),
    "safety_check_in": ("Safety check-ins", ("SafetyCheckIn",)),
    "measure": ("Measures", ("MeasureResponse",)),
    "signature": ("Signatures, addenda and reviews", ("Signature", "Addendum", "Review")),
    "alert": ("Safety alerts", ("Alert",)),
}

_FIELD_LABELS = {
    "display_name": "Name",
    "record_number": "Record number",
    "date_of_birth": "Date of birth",
    "lead_clinician_id": "Lead clinician",
    "co_facilitator_id": "Co-facilitator",
    "current_medicines": "Current medicines",
    "emergency_contact_name": "Emergency contact name",
    "emergency_contact_relationship": "Emergency contact relationship",
    "emergency_contact_phone": "Emergency contact phone",
    "phone": "Patient's phone",
    "occurred_at": "Occurred",
    "planned_dosing_at": "Planned dosing date",
    "spo2": "SpO2",
    "temperature_c": "Temperature (°C)",
    "co_facilitator_signs": "Co-facilitator signs",
    "needs_cosign": "Needs a co-signature",
    "attestation_due": "Supervisor's attestation due",
    "facilitator_ids": "Facilitators present",
    "duration_minutes": "Duration (minutes)",
    "check_in_id": "Check-in",
    "is_practice": "Practice patient",
    "void_reason": "Reason for voiding",
}
# Bookkeeping columns a reader never needs named in the sentence (still in the detail).
_BOOKKEEPING = frozenset({"version", "updated_at", "created_at", "id"})
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")


@dataclass(frozen=True)
class AuditRow:
    """The stored values of one audit event, as the trail's page reads them."""

    seq: int
    at: datetime  # UTC
    actor_id: int | None
    context: str
    action: str
    object_type: str | None
    object_id: str | None
    changes: Mapping | None
    detail: str | None
    request_id: str | None = None
    remote_addr: str | None = None
    prev_hash: str = ""
    hash: str = ""


@dataclass(frozen=True)
class FieldChange:
    label: str
    key: str  # the stored field name, for the technical detail
    old: str | None  # None: there was no value (a new record)
    new: str


@dataclass(frozen=True)
class Described:
    when: str  # in the clinic's zone
    who: str
    what: str  # the sentence after the person: "signed the dosing session record of 3 Dec 2026"
    kind: str  # the label of its EVENT_KINDS entry
    changes: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class CatalogNames:
    """What the clinic calls the ids a row stores: instruments ("phq9" -> "PHQ-9") and protocol
    versions ("mdma-three-session@1.0" -> its name), read from the loaded data files."""

    instruments: Mapping[str, str] = field(default_factory=dict)
    protocols: Mapping[str, str] = field(default_factory=dict)
    # (protocol version, item id) -> the label its checklist or session question shows: an
    # id's label differs between protocols, so a row's item is named by its session's protocol.
    session_items: Mapping[tuple[str, str], str] = field(default_factory=dict)


def records_named(rows) -> set[tuple[str, int]]:
    """(class name, id) of every clinical record the rows name, directly or as the record a
    signature, addendum, review or session part belongs to: what `record_dates` must hold."""
    named = set()
    for row in rows:
        key = _record_key(row)
        if key is not None:
            named.add(key)
    return named


def _record_key(row: AuditRow) -> tuple[str, int] | None:
    changes = row.changes or {}
    if row.object_type in RECORD_CLASSES.values() and row.object_id and row.object_id.isdigit():
        return row.object_type, int(row.object_id)
    if row.object_type in ("Signature", "Addendum", "Review"):
        record_type, record_id = _new(changes, "record_type"), _new(changes, "record_id")
        if record_type in RECORD_CLASSES and isinstance(record_id, int):
            return RECORD_CLASSES[record_type], record_id
    if row.object_type in _SESSION_PARTS:
        session_id = _new(changes, "session_id")
        if isinstance(session_id, int):
            return "DosingSession", session_id
    return None


def describe(
    row: AuditRow,
    *,
    actor_name: str | None,
    record_dates: Mapping[tuple[str, int], datetime],
    zone: tzinfo,
    names: CatalogNames,
    record_protocols: Mapping[tuple[str, int], str] | None = None,
) -> Described:
    """The row in words: when (clinic time), who, and what they did to which record.
    `record_protocols`: the protocol version of each named record (as `record_dates`)."""
    changes = row.changes or {}
    record = _record_phrase(row, record_dates, zone)
    key = _record_key(row)
    protocol = (record_protocols or {}).get(key) if key is not None else None
    what = _sentence(row, changes, record, names, protocol)
    return Described(
        when=_local(row.at, zone),
        who=_who(row, actor_name),
        what=what,
        kind=kind_label(row.action),
        changes=[
            FieldChange(
                label=field_label(key),
                key=key,
                old=None if pair[0] is None else _shown(pair[0], zone),
                new="(empty)" if pair[1] is None else _shown(pair[1], zone),
            )
            for key, pair in sorted(changes.items())
            if isinstance(pair, list | tuple) and len(pair) == 2
        ],
    )


def kind_label(action: str) -> str:
    for label, actions in EVENT_KINDS.values():
        if action in actions:
            return label
    return action.replace("_", " ").capitalize()


def field_label(key: str) -> str:
    if key in _FIELD_LABELS:
        return _FIELD_LABELS[key]
    words = key.removesuffix("_id").replace("_", " ")
    return words[:1].upper() + words[1:]


def _who(row: AuditRow, actor_name: str | None) -> str:
    if row.actor_id is None:
        return "A command on the server" if row.context == "cli" else "The system"
    return actor_name or f"A former user (no. {row.actor_id})"


def _record_phrase(row: AuditRow, dates, zone) -> str:
    """ "the dosing session record of 3 Dec 2026", or the plain noun when its date is unknown."""
    key = _record_key(row)
    if key is None:
        return _NOUNS.get(row.object_type or "", "the patient's record")
    noun = _NOUNS[key[0]]
    occurred = dates.get(key)
    if occurred is None and row.object_type == key[0]:
        text = _new(row.changes or {}, "occurred_at")
        occurred = _parse_time(text) if isinstance(text, str) else None
    return f"{noun} of {_local_day(occurred, zone)}" if occurred is not None else noun


def _sentence(
    row: AuditRow, changes: Mapping, record: str, names: CatalogNames, protocol: str | None
) -> str:
    action, kind = row.action, row.object_type
    if action == "view":
        page = _PAGES.get(row.detail or "")
        if page is None:
            return f"viewed {record}" if kind != "Patient" else "viewed the patient's record"
        return page.format(record=record)
    if action == "export":
        detail = row.detail or "the record"
        # "course CSV" -> "exported the course as CSV": the detail names what and how.
        if detail.startswith("course "):
            return f"exported the course as {detail.removeprefix('course ')}"
        if detail.startswith("audit history "):
            return f"exported the audit history as {detail.removeprefix('audit history ')}"
        return f"exported {detail}"
    if action == "sign" and kind == "Signature":
        meaning = _new(changes, "meaning")
        return _SIGNED.get(meaning, "signed {record}").format(record=record)
    if action == "addendum":
        return f"added an addendum to {record}"
    if action == "phase_transition":
        return _phase_sentence(changes)
    if action == "void":
        reason = _new(changes, "void_reason")
        return f"voided {record}" + (f" (reason: {reason})" if reason else "")
    if action == "create":
        return _created(kind, changes, record, names, protocol)
    if action == "update":
        return _updated(kind, changes, record)
    if action == "delete":
        return f"deleted {record}"
    if action in ("login_success", "login_failure", "logout"):
        return {"login_success": "logged in", "login_failure": "failed to log in"}.get(
            action, "logged out"
        ) + (f" ({row.detail})" if row.detail else "")
    if action == "refused":
        return "was refused a page or form"
    if action == "restore":
        return "restored the database from a backup"
    return f"{action.replace('_', ' ')} {record}"


def _phase_sentence(changes: Mapping) -> str:
    to, frm = _phase(_new(changes, "to_phase")), _phase(_new(changes, "from_phase"))
    reason = _new(changes, "reason")
    if frm is None:
        return f"started the course in {to}"
    if _new(changes, "override"):
        return f"overrode the gate and moved the course from {frm} to {to} (reason: {reason})"
    said = f" (reason: {reason})" if reason and to in ("On hold", "Withdrawn") else ""
    return f"moved the course from {frm} to {to}{said}"


def _phase(value) -> str | None:
    if value is None:
        return None
    try:
        return Phase(value).label
    except ValueError:
        return str(value)


def _created(kind, changes: Mapping, record: str, names: CatalogNames, protocol: str | None) -> str:
    new = lambda key: _new(changes, key)  # noqa: E731
    if kind == "Patient":
        return "created the patient record"
    if kind == "Course":
        protocol, version = new("protocol_id"), new("protocol_version")
        name = names.protocols.get(f"{protocol}@{version}")
        if name is None:
            return f"started a course on the {_words(protocol)} protocol"
        return f"started a course: {name} (protocol version {version})"
    if kind == "SessionAnswer":
        item_id = new("item_id")
        item = names.session_items.get((protocol or "", item_id)) or _words(item_id)
        done = "yes" if new("value") else "no"
        what = (
            "answered a monitoring question"
            if new("kind") == "question"
            else "ticked a checklist item"
        )
        return f'{what} "{item}" ({done}) in {record}'
    if kind == "VitalSign":
        reading = ", ".join(
            part
            for part in (
                f"BP {new('systolic')}/{new('diastolic')}" if new("systolic") else "",
                f"HR {new('heart_rate')}" if new("heart_rate") else "",
                f"SpO2 {new('spo2')}%" if new("spo2") else "",
            )
            if part
        )
        return (
            f"recorded vital signs ({reading}) in {record}"
            if reading
            else f"recorded vital signs in {record}"
        )
    if kind == "DoseAdministration":
        dose = f"{_number(new('amount'))} {new('unit')} {new('substance')}"
        return f"recorded a dose of {dose} in {record}"
    if kind == "SessionEvent":
        return f"recorded a session event ({_words(new('kind'))}) in {record}"
    if kind == "AdverseEvent":
        return f"recorded an adverse event (grade {new('severity')}) in {record}"
    if kind == "ScreeningFlag":
        return f"raised a contraindication flag: {new('label')}"
    if kind == "Alert":
        return f"raised a safety alert ({new('severity')})"
    if kind == "Review":
        return (
            "returned a note with comments"
            if new("decision") == "returned"
            else "co-signed a note after review"
        )
    if kind == "TouchConsentEntry":
        return f"recorded touch consent ({_words(new('change'))})"
    if kind == "MeasureResponse":
        instrument = new("instrument_id")
        if not instrument:
            return f"created {record}"
        name = names.instruments.get(instrument, str(instrument).upper())
        timepoint = new("timepoint")
        return f"recorded a measure: {name}" + (
            f", {timepoint_label(timepoint)}" if timepoint else ""
        )
    if kind == "ActionItem":
        return "added an action item"
    noun = record.removeprefix("the ").removeprefix("a ").removeprefix("an ")
    return f"created {_article(noun)}"


def _updated(kind, changes: Mapping, record: str) -> str:
    keys = [k for k in changes if k not in _BOOKKEEPING]
    if kind == "ScreeningFlag" and _new(changes, "cleared_at"):
        return "cleared a contraindication flag"
    if kind == "Alert" and _new(changes, "acknowledged_at"):
        return "acknowledged a safety alert"
    if kind == "Alert" and _new(changes, "resolution"):
        return f"closed a safety alert ({_words(_new(changes, 'resolution'))})"
    if keys == ["status"]:
        return f"marked {record} {_words(_new(changes, 'status'))}"
    if not keys:
        return f"saved {record} unchanged"
    return f"changed {record}: " + ", ".join(field_label(k).lower() for k in sorted(keys))


def _article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _new(changes: Mapping, key: str):
    pair = changes.get(key)
    return pair[1] if isinstance(pair, list | tuple) and len(pair) == 2 else None


def _words(value) -> str:
    return str(value or "").replace("_", " ")


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _parse_time(text: str) -> datetime | None:
    if not _ISO_TIME.match(text):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _shown(value, zone: tzinfo) -> str:
    """A stored value as a reader knows it: times in the clinic's zone, lists one per item."""
    if isinstance(value, str):
        moment = _parse_time(value)
        return _local(moment, zone) if moment is not None else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_shown(v, zone) for v in value) or "(none)"
    if isinstance(value, dict):
        return (
            "; ".join(f"{field_label(str(k))}: {_shown(v, zone)}" for k, v in value.items())
            or "(none)"
        )
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _local(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y %H:%M}"


def _local_day(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y}"
