"""Protocol files: the four shipped protocols load with their published values, and every kind
of malformed file is refused with a message naming the file and the dotted key."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from psiflow.domain.protocols import (
    INSTRUMENT_IDS,
    ProtocolError,
    default_protocol_dir,
    load_protocol,
    load_protocols,
)

PSILOCYBIN = "psilocybin-single-dose.toml"
MDMA = "mdma-three-session.toml"
KAP = "ketamine-assisted-psychotherapy.toml"
ESKETAMINE = "esketamine-monitoring.toml"
SHIPPED = (PSILOCYBIN, MDMA, KAP, ESKETAMINE)
VALUE_SECTIONS = {
    "[gates]",
    "[timing]",
    "[session]",
    "[dose]",
    "[vitals]",
    "[vitals.limits]",
    "[measures]",
}


@pytest.fixture(scope="module")
def shipped():
    return load_protocols(default_protocol_dir())


def shipped_text(name: str) -> str:
    return (default_protocol_dir() / name).read_text(encoding="utf-8")


def variant(tmp_path: Path, name: str, pattern: str, replacement: str) -> Path:
    """A copy of a shipped file with the first line matching `pattern` replaced."""
    text, count = re.subn(pattern, replacement, shipped_text(name), count=1, flags=re.M)
    assert count == 1, f"{pattern!r} not found in {name}"
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped protocols -----------------------------------------------------------------


def test_all_shipped_protocols_load_keyed_by_id_and_version(shipped):
    assert set(shipped) == {
        "psilocybin-single-dose@1.0",
        "mdma-three-session@1.0",
        "ketamine-assisted-psychotherapy@1.0",
        "esketamine-monitoring@1.0",
    }
    for key, protocol in shipped.items():
        assert protocol.key == key


def test_mdma_runs_three_preparation_three_dosing_three_integration_with_a_pair(shipped):
    mdma = shipped["mdma-three-session@1.0"]
    assert (
        mdma.min_preparation_sessions,
        mdma.dosing_sessions,
        mdma.integration_sessions_per_dosing,
    ) == (3, 3, 3)
    assert mdma.facilitators_required == 2
    assert mdma.first_integration_within_hours == 24  # next morning, after the overnight stay
    assert (mdma.dose.min, mdma.dose.max, mdma.dose.unit, mdma.dose.route) == (
        80,
        120,
        "mg",
        "oral",
    )
    assert mdma.dose.supplemental_allowed
    assert (mdma.dose.supplemental_min, mdma.dose.supplemental_max) == (40, 60)
    assert mdma.dose.supplemental_after_minutes == (90, 120)
    assert {90, 120} <= set(mdma.vitals_schedule_minutes)  # vitals around the supplemental dose
    assert mdma.preparation_min_hours_before_dosing is None
    assert mdma.preparation_max_days_before_dosing is None
    assert "pcl5" in mdma.baseline_measures


def test_psilocybin_follows_oregon_timing_with_one_facilitator(shipped):
    psilocybin = shipped["psilocybin-single-dose@1.0"]
    assert psilocybin.preparation_min_hours_before_dosing == 24
    assert psilocybin.preparation_max_days_before_dosing == 90
    assert psilocybin.facilitators_required == 1
    assert psilocybin.dosing_sessions == 1
    assert (psilocybin.dose.min, psilocybin.dose.max, psilocybin.dose.unit) == (25, 25, "mg")
    assert not psilocybin.dose.supplemental_allowed
    assert psilocybin.dose.supplemental_after_minutes is None
    assert {"meq30", "ebi", "ceq"} <= set(psilocybin.after_dosing_measures)
    limits = [rule.up_to_dose for rule in psilocybin.min_length_by_dose]
    assert limits == sorted(limits)


@pytest.mark.parametrize(
    ("total_dose", "minutes"),
    [
        (2.0, 240),  # Oregon's 1 hour is below the clinic's 4-hour floor
        (24.9, 240),  # OAR 333-333-5250(1)(d): 10 to < 25 mg, 4 hours
        (25.0, 300),  # (e): 25 mg is already the 5-hour band
        (20.0 + 10.0, 300),  # a secondary dose counts towards the total
        (35.0, 360),  # in both (e) and (f): the longer one
        (25.0 + 25.0, 360),  # (f): up to 50 mg, 6 hours
        (60.0, 360),  # above the last band: the last band's minimum
    ],
)
def test_psilocybin_minimum_session_follows_the_total_dose(shipped, total_dose, minutes):
    psilocybin = shipped["psilocybin-single-dose@1.0"]
    assert psilocybin.min_session_minutes_for_dose(total_dose) == minutes


@pytest.mark.parametrize(
    ("total_dose", "minutes"),
    [(2.4, 60), (4.99, 60), (5.0, 120), (9.99, 120), (10.0, 240), (25.0, 300), (50.0, 360)],
)
def test_oregon_bands_below_the_clinic_floor(tmp_path, total_dose, minutes):
    path = variant(
        tmp_path, PSILOCYBIN, r"^min_monitoring_minutes = .*$", "min_monitoring_minutes = 30"
    )
    assert load_protocol(path).min_session_minutes_for_dose(total_dose) == minutes


def test_without_dose_rules_the_minimum_is_the_monitoring_time(shipped):
    mdma = shipped["mdma-three-session@1.0"]
    assert mdma.min_length_by_dose == ()
    assert mdma.min_session_minutes_for_dose(120 + 60) == mdma.min_monitoring_minutes == 480
    assert mdma.min_session_minutes_for_dose(80) == 480


def test_esketamine_follows_the_rems_monitoring(shipped):
    esketamine = shipped["esketamine-monitoring@1.0"]
    assert {0, 40} <= set(esketamine.vitals_schedule_minutes)
    assert esketamine.min_monitoring_minutes >= 120
    assert esketamine.min_session_minutes_for_dose(84) >= 120
    assert (esketamine.vital_limits.systolic_max, esketamine.vital_limits.diastolic_max) == (
        140,
        90,
    )
    assert esketamine.facilitators_required == 1
    assert (esketamine.dose.min, esketamine.dose.max, esketamine.dose.route) == (
        56,
        84,
        "intranasal",
    )
    ids = {choice.id for choice in esketamine.contraindications}
    assert {
        "aneurysmal_vascular_disease",
        "arteriovenous_malformation",
        "intracerebral_hemorrhage_history",
        "esketamine_hypersensitivity",
        "rems_sedating_medications",
    } <= ids


def test_ketamine_series_is_six_sessions_of_one_route_and_unit(shipped):
    kap = shipped["ketamine-assisted-psychotherapy@1.0"]
    assert kap.dosing_sessions == 6
    assert (kap.dose.unit, kap.dose.route) == ("mg", "sublingual")
    assert kap.dose.min <= kap.dose.max
    assert 0 in kap.vitals_schedule_minutes
    assert kap.min_monitoring_minutes >= 120


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_protocol_is_complete(name):
    protocol = load_protocol(default_protocol_dir() / name)
    for when in ("before", "during", "after"):
        assert any(i.required for i in protocol.checklist if i.when == when), when
    assert protocol.contraindications and protocol.discharge_criteria and protocol.adherence_items
    assert protocol.preparation_topics
    measures = protocol.baseline_measures + protocol.after_dosing_measures
    assert set(measures + protocol.follow_up_measures) <= INSTRUMENT_IDS
    assert list(protocol.vitals_schedule_minutes) == sorted(set(protocol.vitals_schedule_minutes))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_value_cites_its_source(name):
    """STYLE 11: a protocol value carries its source (or "clinic default") beside it."""
    section = ""
    for number, line in enumerate(shipped_text(name).splitlines(), start=1):
        if line.startswith("["):
            section = line
        elif section in VALUE_SECTIONS and re.match(r"^[a-z_]+ = ", line):
            assert " # " in line, f"{name}:{number}: {line}"


def test_checklist_item_is_found_by_id(shipped):
    esketamine = shipped["esketamine-monitoring@1.0"]
    item = esketamine.checklist_item("blood_pressure_40_min")
    assert item is not None and item.when == "during" and item.required
    assert esketamine.checklist_item("no_such_item") is None


def test_protocols_are_immutable(shipped):
    with pytest.raises(dataclasses.FrozenInstanceError):
        shipped["mdma-three-session@1.0"].dosing_sessions = 4


# --- malformed files -----------------------------------------------------------------------

INVALID = [
    # (file, line pattern, replacement, dotted key in the message)
    (MDMA, r"^name = .*\n", "", "name"),
    (MDMA, r"^dosing_sessions = .*$", "", "gates.dosing_sessions"),
    (MDMA, r"^dosing_sessions = .*$", "dosing_sessions = 0", "gates.dosing_sessions"),
    (MDMA, r"^dosing_sessions = .*$", "dosing_sessions = true", "gates.dosing_sessions"),
    (MDMA, r"^dosing_sessions = .*$", 'dosing_sessions = "3"', "gates.dosing_sessions"),
    (
        MDMA,
        r"^min_preparation_sessions = .*$",
        "min_preparation_sessions = 3.0",
        "gates.min_preparation_sessions",
    ),
    (
        MDMA,
        r"^facilitators_required = .*$",
        "facilitators_required = 3",
        "gates.facilitators_required",
    ),
    (MDMA, r"^id = .*$", 'id = "MDMA three"', "id"),
    (MDMA, r"^version = .*$", 'version = "v1"', "version"),
    (MDMA, r"^summary = ", 'colour = "blue"\nsummary = ', "colour"),
    (MDMA, r"^\[gates\]$", "[gates]\ndosing_session = 3", "gates.dosing_session"),
    (
        MDMA,
        r"^\[vitals.limits\]$",
        "[vitals.limits]\nrespiratory_rate_max = 20",
        "vitals.limits.respiratory_rate_max",
    ),
    (MDMA, r"^when = \"before\"$", 'when = "pre"', "checklist[0].when"),
    (MDMA, r"^required = true$", 'required = "yes"', "checklist[0].required"),
    (
        MDMA,
        r'^id = "medication_changes_reviewed"',
        'id = "identity_consent_confirmed"',
        "checklist[1].id",
    ),
    (MDMA, r'^id = "identity_consent_confirmed"', 'id = "Identity-Consent"', "checklist[0].id"),
    (MDMA, r'^label = "Bipolar I disorder"$', 'label = ""', "contraindications[1].label"),
    (
        MDMA,
        r"^\[\[discharge_criteria\]\]$",
        "[[discharge_criteria]]\nnote = 1",
        "discharge_criteria[0].note",
    ),
    (MDMA, r"^systolic_max = .*$", "systolic_max = 80", "vitals.limits.systolic_max"),
    (
        MDMA,
        r"^temperature_max_c = .*$",
        'temperature_max_c = "38"',
        "vitals.limits.temperature_max_c",
    ),
    (MDMA, r"^spo2_min = .*$", "spo2_min = 140", "vitals.limits.spo2_min"),
    (MDMA, r"^max = .*$", "max = 60.0", "dose.max"),
    (MDMA, r"^supplemental_max = .*$", "supplemental_max = 30.0", "dose.supplemental_max"),
    (
        MDMA,
        r"^supplemental_after_minutes = .*$",
        "supplemental_after_minutes = [90]",
        "dose.supplemental_after_minutes",
    ),
    (
        MDMA,
        r"^supplemental_after_minutes = .*$",
        "supplemental_after_minutes = [120, 90]",
        "dose.supplemental_after_minutes",
    ),
    (MDMA, r"^supplemental_min = .*\n", "", "dose.supplemental_min"),
    (MDMA, r"^unit = .*$", "unit = 5", "dose.unit"),
    (MDMA, r"^baseline = .*$", 'baseline = ["pcl5", "bdi2"]', "measures.baseline"),
    (MDMA, r"^baseline = .*$", 'baseline = ["pcl5", "pcl5"]', "measures.baseline"),
    (MDMA, r"^baseline = .*$", "baseline = []", "measures.baseline"),
    (MDMA, r"^follow_up_weeks = .*$", "follow_up_weeks = [0, 8]", "measures.follow_up_weeks"),
    (
        MDMA,
        r"^risk_screen_at_integration = .*$",
        "risk_screen_at_integration = 1",
        "measures.risk_screen_at_integration",
    ),
    (MDMA, r"^expected_minutes = .*$", "expected_minutes = 60", "session.expected_minutes"),
    (MDMA, r"^\[\[adherence_items\]\]$", "[[adherence_item]]", "adherence_item"),
    (
        ESKETAMINE,
        r"^schedule_minutes = .*$",
        "schedule_minutes = [0, 120, 40]",
        "vitals.schedule_minutes",
    ),
    (
        ESKETAMINE,
        r"^schedule_minutes = .*$",
        "schedule_minutes = [0, 40, 40, 120]",
        "vitals.schedule_minutes",
    ),
    (
        ESKETAMINE,
        r"^schedule_minutes = .*$",
        "schedule_minutes = [-5, 40, 120]",
        "vitals.schedule_minutes",
    ),
    (ESKETAMINE, r"^schedule_minutes = .*$", "schedule_minutes = []", "vitals.schedule_minutes"),
    (
        ESKETAMINE,
        r"^min_monitoring_minutes = .*$",
        "min_monitoring_minutes = 0",
        "session.min_monitoring_minutes",
    ),
    (
        PSILOCYBIN,
        r"^supplemental_allowed = .*$",
        "supplemental_allowed = true",
        "dose.supplemental_min",
    ),
    (
        PSILOCYBIN,
        r"^supplemental_allowed = .*$",
        "supplemental_allowed = false\nsupplemental_min = 5.0",
        "dose.supplemental_min",
    ),
    (
        PSILOCYBIN,
        r"^below_dose = 10\.0",
        "below_dose = 3.0",
        "session.min_length_by_dose[1].below_dose",
    ),
    (
        PSILOCYBIN,
        r"^below_dose = 10\.0",
        "up_to_dose = 10.0\nbelow_dose = 10.0",
        "session.min_length_by_dose[1].up_to_dose",
    ),
    (PSILOCYBIN, r"^minutes = 120$", "minutes = 0", "session.min_length_by_dose[1].minutes"),
    (
        PSILOCYBIN,
        r"^preparation_max_days_before_dosing = .*$",
        "preparation_max_days_before_dosing = 0",
        "timing.preparation_max_days_before_dosing",
    ),
    (
        PSILOCYBIN,
        r"^preparation_min_hours_before_dosing = .*$",
        "preparation_min_hours_before_dosing = 2400",
        "timing.preparation_max_days_before_dosing",
    ),
    (KAP, r"^\[timing\]$", "[timings]", "timing"),
    (KAP, r"^\[vitals.limits\]$", "[vitals.limit]", "vitals.limits"),
]


@pytest.mark.parametrize(("name", "pattern", "replacement", "key"), INVALID)
def test_malformed_file_is_refused_naming_file_and_key(tmp_path, name, pattern, replacement, key):
    path = variant(tmp_path, name, pattern, replacement)
    with pytest.raises(ProtocolError, match="^" + re.escape(f"{name}: {key}: ")):
        load_protocol(path)


def test_zero_dosing_sessions_message_reads_clearly(tmp_path):
    path = variant(tmp_path, MDMA, r"^dosing_sessions = .*$", "dosing_sessions = 0")
    with pytest.raises(ProtocolError) as error:
        load_protocol(path)
    assert str(error.value) == f"{MDMA}: gates.dosing_sessions: must be a positive integer"


def test_unknown_key_message_says_so(tmp_path):
    path = variant(tmp_path, MDMA, r"^\[gates\]$", "[gates]\ndosing_session = 3")
    with pytest.raises(ProtocolError, match="gates.dosing_session: unknown key"):
        load_protocol(path)


def test_invalid_toml_is_refused_naming_the_file(tmp_path):
    path = tmp_path / MDMA
    path.write_text(shipped_text(MDMA) + "\nthis is not toml\n", encoding="utf-8")
    with pytest.raises(ProtocolError, match="^" + re.escape(f"{MDMA}: not valid TOML")):
        load_protocol(path)


def test_missing_file_is_a_protocol_error(tmp_path):
    with pytest.raises(ProtocolError, match="^absent.toml: "):
        load_protocol(tmp_path / "absent.toml")


def test_a_value_where_a_table_belongs_is_refused(tmp_path):
    text = re.sub(r"^\[vitals\.limits\]\n(?:.+\n)+", "", shipped_text(KAP), count=1, flags=re.M)
    text = text.replace("[vitals]\n", '[vitals]\nlimits = "normal"\n', 1)
    path = tmp_path / KAP
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        ProtocolError, match="^" + re.escape(f"{KAP}: vitals.limits: must be a table")
    ):
        load_protocol(path)


def test_duplicate_id_and_version_names_both_files(tmp_path):
    shutil.copy(default_protocol_dir() / MDMA, tmp_path / "a-mdma.toml")
    shutil.copy(default_protocol_dir() / MDMA, tmp_path / "b-mdma.toml")
    with pytest.raises(ProtocolError) as error:
        load_protocols(tmp_path)
    message = str(error.value)
    assert message.startswith("b-mdma.toml: id: mdma-three-session@1.0")
    assert "a-mdma.toml" in message


def test_a_new_version_loads_beside_the_old_one(tmp_path):
    shutil.copy(default_protocol_dir() / MDMA, tmp_path / MDMA)
    newer = re.sub(r"^version = .*$", 'version = "1.1"', shipped_text(MDMA), count=1, flags=re.M)
    (tmp_path / "mdma-three-session-1.1.toml").write_text(newer, encoding="utf-8")
    assert set(load_protocols(tmp_path)) == {"mdma-three-session@1.0", "mdma-three-session@1.1"}


def test_one_bad_file_stops_the_whole_directory(tmp_path):
    shutil.copy(default_protocol_dir() / ESKETAMINE, tmp_path / ESKETAMINE)
    variant(tmp_path, MDMA, r"^dosing_sessions = .*$", "dosing_sessions = -1")
    with pytest.raises(ProtocolError, match=f"^{re.escape(MDMA)}: gates.dosing_sessions: "):
        load_protocols(tmp_path)


# --- session questions and printed forms -----------------------------------------------------


def test_esketamine_asks_the_rems_monitoring_questions_and_prints_the_rems_form(shipped):
    esketamine = shipped["esketamine-monitoring@1.0"]
    assert esketamine.print_forms == ("spravato_rems_monitoring",)
    asked = {q.id: q.when for q in esketamine.session_questions}
    assert asked["benzodiazepines"] == "before" and asked["respiratory_depression"] == "after"
    assert esketamine.session_question("sedation").label.startswith("The patient experienced")
    assert esketamine.session_question("no_such_question") is None


def test_protocols_without_questions_ask_none(shipped):
    psilocybin = shipped["psilocybin-single-dose@1.0"]
    assert psilocybin.session_questions == () and psilocybin.print_forms == ()


def test_a_print_form_needs_the_questions_it_reads(tmp_path):
    path = variant(tmp_path, ESKETAMINE, r'^id = "dissociation".*$', 'id = "dissociated"')
    with pytest.raises(ProtocolError, match=r"print_forms: .*needs session_questions dissociation"):
        load_protocol(path)


def test_an_unknown_print_form_is_refused(tmp_path):
    path = variant(tmp_path, PSILOCYBIN, r"^\[gates\]$", 'print_forms = ["fax"]\n[gates]')
    with pytest.raises(ProtocolError, match=r"psilocybin-single-dose.toml: print_forms: unknown"):
        load_protocol(path)


def test_a_session_question_at_an_unknown_time_is_refused(tmp_path):
    path = variant(
        tmp_path,
        ESKETAMINE,
        r'^(id = "sedation".*\nlabel = .*\n)when = "after"',
        r'\1when = "later"',
    )
    with pytest.raises(ProtocolError, match=r"session_questions\[5\]\.when"):
        load_protocol(path)


def test_every_shipped_protocol_expects_the_dosing_day_away_from_normal_activities(shipped):
    for protocol in shipped.values():
        assert protocol.check_in_expected == {0: frozenset({"not_back_to_normal"})}


@pytest.mark.parametrize(
    "answers, message",
    [
        ('["suicidal_thoughts"]', "always alerts the supervisor"),
        ('["serious_events"]', "always alerts the supervisor"),
        ('["feeling_off"]', "is not a check-in answer"),
    ],
)
def test_a_protocol_cannot_silence_a_danger(tmp_path, answers, message):
    path = variant(
        tmp_path, PSILOCYBIN, r'^answers = \["not_back_to_normal"\]$', f"answers = {answers}"
    )
    with pytest.raises(ProtocolError, match=f"check_in_expected\\[0\\].answers: .*{message}"):
        load_protocol(path)
