"""Audit events in words: who did what to which record, in the clinic's time."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from psiflow.domain.audit_words import (
    AuditRow,
    CatalogNames,
    describe,
    field_label,
    kind_label,
    records_named,
)

LA = ZoneInfo("America/Los_Angeles")
AT = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)  # 3 Dec 2026 18:30 in Los Angeles
SESSION_DAY = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def _row(action, object_type=None, object_id=None, changes=None, detail=None, actor_id=7, **kw):
    return AuditRow(
        seq=1,
        at=AT,
        actor_id=actor_id,
        context=kw.pop("context", "web"),
        action=action,
        object_type=object_type,
        object_id=object_id,
        changes=changes,
        detail=detail,
        **kw,
    )


NAMES = CatalogNames(
    instruments={"phq9": "PHQ-9", "meq30": "MEQ-30"},
    protocols={"mdma-three-session@1.0": "MDMA-assisted therapy, three sessions"},
)


def _say(row, dates=None, name="Dr A. Rivera"):
    return describe(row, actor_name=name, record_dates=dates or {}, zone=LA, names=NAMES)


def test_a_signature_names_the_record_it_signs_and_when_that_happened():
    row = _row(
        "sign",
        "Signature",
        "12",
        {
            "record_type": [None, "dosing_session"],
            "record_id": [None, 5],
            "meaning": [None, "authored"],
        },
    )
    said = _say(row, {("DosingSession", 5): SESSION_DAY})
    assert (said.who, said.what) == (
        "Dr A. Rivera",
        "signed the dosing session record of 3 Dec 2026",
    )
    assert said.when == "3 Dec 2026 18:30"  # the clinic's time, not UTC (4 Dec 02:30)
    assert said.kind == "Signatures and addenda"


def test_a_supervisors_co_signature_says_so():
    row = _row(
        "sign",
        "Signature",
        "13",
        {"record_type": [None, "screening"], "record_id": [None, 2], "meaning": [None, "reviewed"]},
    )
    assert _say(row).what == "co-signed the screening after review"


@pytest.mark.parametrize(
    "endpoint, words",
    [
        ("patients.show", "viewed the patient page"),
        ("records.show", "viewed the dosing session record of 3 Dec 2026"),
        (
            "sessions.printable",
            "opened the printable copy of the dosing session record of 3 Dec 2026",
        ),
        ("audit.patient_history", "read the patient's audit history"),
    ],
)
def test_a_view_says_which_page_not_its_endpoint(endpoint, words):
    kind, object_id = (
        ("Patient", "3") if endpoint.startswith(("patients", "audit")) else ("DosingSession", "5")
    )
    said = _say(_row("view", kind, object_id, detail=endpoint), {("DosingSession", 5): SESSION_DAY})
    assert said.what == words
    assert "." not in said.what.replace("3 Dec", "")  # no "records.show"


def test_a_change_names_the_fields_in_words_and_keeps_the_values_for_the_detail():
    row = _row(
        "update",
        "Patient",
        "3",
        {
            "allergies": ["", "Penicillin"],
            "display_name": ["Juniper Example", "Juniper Sample"],
            "version": [1, 2],
        },
    )
    said = _say(row)
    assert said.what == "changed the patient's details: allergies, name"
    assert [(c.label, c.old, c.new) for c in said.changes] == [
        ("Allergies", "", "Penicillin"),
        ("Name", "Juniper Example", "Juniper Sample"),
        ("Version", "1", "2"),
    ]


def test_stored_times_in_a_change_read_in_the_clinic_zone():
    row = _row("update", "Course", "4", {"planned_dosing_at": [None, "2026-12-04T02:30:00+00:00"]})
    (change,) = _say(row).changes
    assert (change.label, change.old, change.new) == (
        "Planned dosing date",
        None,
        "3 Dec 2026 18:30",
    )


def test_phase_changes_read_as_moves_and_an_override_gives_its_reason():
    start = _row("phase_transition", "PhaseTransition", "1", {"to_phase": [None, "screening"]})
    assert _say(start).what == "started the course in Screening"
    moved = _row(
        "phase_transition",
        "PhaseTransition",
        "2",
        {
            "from_phase": [None, "preparation"],
            "to_phase": [None, "dosing"],
            "override": [None, True],
            "reason": [None, "Transport confirmed by phone"],
        },
    )
    assert _say(moved).what == (
        "overrode the gate and moved the course from Preparation to Dosing "
        "(reason: Transport confirmed by phone)"
    )


def test_a_void_gives_its_reason():
    row = _row(
        "void",
        "Consent",
        "8",
        {"voided_at": [None, "2026-12-04T02:30:00+00:00"], "void_reason": [None, "Wrong patient"]},
    )
    said = _say(row, {("Consent", 8): SESSION_DAY})
    assert said.what == "voided the informed consent of 3 Dec 2026 (reason: Wrong patient)"


def test_parts_of_a_dosing_session_name_their_session():
    row = _row(
        "create",
        "VitalSign",
        "40",
        {
            "session_id": [None, 5],
            "systolic": [None, 131],
            "diastolic": [None, 84],
            "heart_rate": [None, 81],
        },
    )
    assert records_named([row]) == {("DosingSession", 5)}
    said = _say(row, {("DosingSession", 5): SESSION_DAY})
    assert (
        said.what
        == "recorded vital signs (BP 131/84, HR 81) in the dosing session record of 3 Dec 2026"
    )


def test_measures_and_protocols_are_named_as_the_clinic_names_them_not_by_their_keys():
    course = _row(
        "create",
        "Course",
        "4",
        {"protocol_id": [None, "mdma-three-session"], "protocol_version": [None, "1.0"]},
    )
    assert _say(course).what == (
        "started a course: MDMA-assisted therapy, three sessions (protocol version 1.0)"
    )
    for instrument, timepoint, words in (
        ("phq9", "follow_up_week_4", "recorded a measure: PHQ-9, follow-up week 4"),
        ("meq30", "after_dosing_1", "recorded a measure: MEQ-30, after dosing 1"),
    ):
        measure = _row(
            "create",
            "MeasureResponse",
            "9",
            {"instrument_id": [None, instrument], "timepoint": [None, timepoint]},
        )
        assert _say(measure).what == words


def test_a_checklist_item_is_named_by_the_protocol_of_its_session():
    names = CatalogNames(
        session_items={
            ("mdma-three-session@1.0", "room_prepared"): "Room prepared: couch, blankets",
            ("esketamine-monitoring@1.0", "room_prepared"): "Quiet room with a reclining chair",
        }
    )
    row = _row(
        "create",
        "SessionAnswer",
        "40",
        {"session_id": [None, 5], "item_id": [None, "room_prepared"], "value": [None, True]},
    )
    said = describe(
        row,
        actor_name="Dr A. Rivera",
        record_dates={("DosingSession", 5): SESSION_DAY},
        zone=LA,
        names=names,
        record_protocols={("DosingSession", 5): "esketamine-monitoring@1.0"},
    )
    assert said.what == (
        'ticked a checklist item "Quiet room with a reclining chair" (yes) '
        "in the dosing session record of 3 Dec 2026"
    )
    # Without the session's protocol, the id in words, never another protocol's label.
    assert '"room prepared" (yes)' in _say(row).what


def test_exports_say_what_left_and_how():
    assert (
        _say(_row("export", "Course", "4", detail="course CSV")).what
        == "exported the course as CSV"
    )
    said = _say(_row("export", "Patient", "3", detail="audit history CSV (12 events)"))
    assert said.what == "exported the audit history as CSV (12 events)"


def test_who_did_it_when_no_user_did():
    assert (
        _say(_row("create", "Alert", "1", actor_id=None, context="cli"), name=None).who
        == "A command on the server"
    )
    assert _say(_row("create", "Alert", "1", actor_id=None), name=None).who == "The system"
    assert (
        _say(_row("view", "Patient", "1", detail="patients.show", actor_id=99), name=None).who
        == "A former user (no. 99)"
    )


def test_labels_for_filters_and_fields():
    assert kind_label("phase_transition") == "Phase changes"
    assert field_label("lead_clinician_id") == "Lead clinician"
    assert field_label("transport_plan") == "Transport plan"
    # Columns whose names are no words a clinician writes.
    assert field_label("co_facilitator_signs") == "Co-facilitator signs"
    assert field_label("needs_cosign") == "Needs a co-signature"
    assert field_label("facilitator_ids") == "Facilitators present"
    assert field_label("duration_minutes") == "Duration (minutes)"
