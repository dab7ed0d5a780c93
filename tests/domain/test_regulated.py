"""Regulated values at their boundaries: the Oregon preparation window at the session's start,
the doses the Spravato devices and the MAPS protocols give, the REMS blood pressures and the
REMS monitoring form's due date; and the protocol files that carry them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from psiflow.domain.dosing import DoseKind
from psiflow.domain.phases import CourseFacts, GateNumbers, Phase, unmet_requirements
from psiflow.domain.protocols import ProtocolError, default_protocol_dir, load_protocol
from psiflow.domain.regulated import (
    FormStatus,
    blood_pressure_gaps,
    blood_pressure_status,
    discharge_blood_pressure_errors,
    dose_value_errors,
    monitoring_form_due_at,
    monitoring_form_status,
    preparation_window_error,
    timing_overridden,
    window_words,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ESKETAMINE = "esketamine-monitoring.toml"
MDMA = "mdma-three-session.toml"
PSILOCYBIN = "psilocybin-single-dose.toml"


def shipped(name):
    return load_protocol(default_protocol_dir() / name)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


# --- the shipped values ------------------------------------------------------------------------


def test_esketamine_gives_only_the_device_doses_and_56_mg_on_the_first_day():
    dose = shipped(ESKETAMINE).dose
    assert dose.allowed == (56.0, 84.0) and dose.first_session == 56.0
    assert dose.supplemental_fraction is None


def test_esketamine_checks_three_blood_pressures_and_tracks_the_rems_form():
    protocol = shipped(ESKETAMINE)
    windows = [
        (c.id, c.anchor, c.from_minutes, c.to_minutes) for c in protocol.blood_pressure_checks
    ]
    assert windows == [
        ("before_dose", "first_dose", -60, 0),
        ("after_40_minutes", "first_dose", 30, 50),
        ("before_discharge", "discharge", -30, 0),
    ]
    assert protocol.monitoring_form.id == "spravato_rems_monitoring"
    assert protocol.monitoring_form.due_days == 7


def test_mdma_gives_80_or_120_mg_then_half():
    dose = shipped(MDMA).dose
    assert dose.allowed == (80.0, 120.0) and dose.supplemental_fraction == 0.5
    assert dose.first_session is None


def test_protocols_without_such_rules_keep_none():
    protocol = shipped(PSILOCYBIN)
    assert protocol.dose.allowed == () and protocol.blood_pressure_checks == ()
    assert protocol.monitoring_form is None


def test_oregon_asks_about_lithium_in_the_last_30_days():
    lithium = next(c for c in shipped(PSILOCYBIN).contraindications if c.id == "lithium")
    assert "in the last 30 days" in lithium.label and "Currently" not in lithium.label
    line = next(
        line
        for line in (default_protocol_dir() / PSILOCYBIN).read_text().splitlines()
        if line.startswith('id = "lithium"')
    )
    assert "OAR 333-333-5050(3)(a)" in line


@pytest.mark.parametrize("name", [ESKETAMINE, MDMA])
def test_every_regulated_value_cites_its_source(name):
    keys = ("allowed", "first_session", "supplemental_fraction", "from_minutes", "to_minutes")
    keys += ("due_days",)
    for line in (default_protocol_dir() / name).read_text().splitlines():
        if line.startswith(tuple(f"{k} = " for k in keys)):
            assert " # " in line, line


# --- malformed files name the file and the key ------------------------------------------------


def variant(tmp_path: Path, name: str, pattern: str, replacement: str) -> Path:
    text = (default_protocol_dir() / name).read_text(encoding="utf-8")
    text, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
    assert count == 1, pattern
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


INVALID = [
    (ESKETAMINE, r"^allowed = .*$", "allowed = [28.0, 56.0]", "dose.allowed"),
    (ESKETAMINE, r"^allowed = .*$", "allowed = [84.0, 56.0]", "dose.allowed"),
    (ESKETAMINE, r"^allowed = .*$", 'allowed = ["56"]', "dose.allowed"),
    (ESKETAMINE, r"^first_session = .*$", "first_session = 70.0", "dose.first_session"),
    (
        ESKETAMINE,
        r"^first_session = .*$",
        "first_session = 56.0\nsupplemental_fraction = 0.5",
        "dose.supplemental_fraction",
    ),
    (
        MDMA,
        r"^supplemental_fraction = .*$",
        "supplemental_fraction = 0.9",
        "dose.supplemental_fraction",
    ),
    (
        MDMA,
        r"^supplemental_fraction = .*$",
        "supplemental_fraction = 0",
        "dose.supplemental_fraction",
    ),
    (ESKETAMINE, r'^anchor = "first_dose"$', 'anchor = "lunch"', "blood_pressure_checks[0].anchor"),
    (ESKETAMINE, r"^to_minutes = 50 ", "to_minutes = 20 ", "blood_pressure_checks[1].to_minutes"),
    (
        ESKETAMINE,
        r"^from_minutes = -60 ",
        "from_minutes = -5000 ",
        "blood_pressure_checks[0].from_minutes",
    ),
    (ESKETAMINE, r'^id = "before_discharge"$', 'id = "before_dose"', "blood_pressure_checks[2].id"),
    (ESKETAMINE, r"^due_days = 7 ", "due_days = 0 ", "monitoring_form.due_days"),
    (ESKETAMINE, r'^id = "spravato_rems_monitoring"$', 'id = "other_form"', "monitoring_form.id"),
    (ESKETAMINE, r"^due_days = 7 ", "due_days = 7\nfax = 1 ", "monitoring_form.fax"),
]


@pytest.mark.parametrize(("name", "pattern", "replacement", "key"), INVALID)
def test_malformed_regulated_value_is_refused_naming_file_and_key(
    tmp_path, name, pattern, replacement, key
):
    path = variant(tmp_path, name, pattern, replacement)
    with pytest.raises(ProtocolError, match="^" + re.escape(f"{name}: {key}: ")):
        load_protocol(path)


# --- the preparation window at the actual start (OAR 333-333-5000(1)) --------------------------


@pytest.mark.parametrize(
    ("gap", "refused"),
    [
        (timedelta(hours=24), False),
        (timedelta(hours=24) - timedelta(minutes=1), True),
        (timedelta(days=90), False),
        (timedelta(days=90, minutes=1), True),
        (timedelta(days=3), False),
    ],
)
def test_preparation_window_at_the_start_boundaries(gap, refused):
    problem = preparation_window_error(24, 90, last_preparation_at=T0, starts_at=T0 + gap)
    assert (problem is not None) == refused


def test_too_early_says_from_when_and_too_late_says_what_to_do():
    early = preparation_window_error(24, 90, last_preparation_at=T0, starts_at=minutes(60))
    assert "at least 24 hours" in early and "it can start from 2026-03-03 09:00 UTC" in early
    late = preparation_window_error(
        24, 90, last_preparation_at=T0, starts_at=T0 + timedelta(days=91)
    )
    assert "more than 90 days" in late and "new preparation session" in late


def test_no_window_without_the_protocol_keys_or_a_preparation_on_record():
    assert preparation_window_error(None, None, last_preparation_at=T0, starts_at=T0) is None
    assert preparation_window_error(24, 90, last_preparation_at=None, starts_at=T0) is None
    assert (
        preparation_window_error(
            24, None, last_preparation_at=T0, starts_at=T0 + timedelta(days=400)
        )
        is None
    )


def test_an_override_of_the_gates_timing_counts_as_the_recorded_deviation():
    numbers = GateNumbers(1, 1, 1, 24, 90)
    for planned in (T0 + timedelta(hours=2), T0 + timedelta(days=100)):
        facts = CourseFacts(last_preparation_at=T0, planned_dosing_at=planned)
        unmet = unmet_requirements(Phase.PREPARATION, Phase.DOSING, numbers, facts)
        assert timing_overridden(unmet)
    unplanned = unmet_requirements(Phase.PREPARATION, Phase.DOSING, numbers, CourseFacts())
    assert timing_overridden(unplanned)
    assert not timing_overridden(["Baseline measures recorded", "Transport home arranged"])
    assert not timing_overridden(None)


# --- doses -------------------------------------------------------------------------------------


def esketamine(amount, *, first=False, approved=()):
    rule = shipped(ESKETAMINE).dose
    return dose_value_errors(
        rule, DoseKind.INITIAL, amount, initial=None, first_session=first, approved=approved
    )


def test_esketamine_first_induction_day_is_56_mg():
    assert esketamine(56, first=True) == {}
    assert "first dosing session of the course gives 56 mg" in esketamine(84, first=True)["amount"]
    assert esketamine(84, first=True, approved=[84.0]) == {}


def test_esketamine_later_days_are_56_or_84_mg():
    assert esketamine(56) == {} and esketamine(84) == {}
    assert "gives 56 or 84 mg" in esketamine(70)["amount"]
    assert "A supervisor may record a deviation" in esketamine(70)["amount"]
    assert esketamine(70, approved=[70.0]) == {}
    assert "amount" in esketamine(70, approved=[84.0])


def mdma(kind, amount, initial=None, approved=()):
    rule = shipped(MDMA).dose
    return dose_value_errors(
        rule, kind, amount, initial=initial, first_session=False, approved=approved
    )


@pytest.mark.parametrize(("amount", "ok"), [(80, True), (120, True), (100, False), (79.9, False)])
def test_mdma_initial_dose_is_80_or_120_mg(amount, ok):
    assert (mdma(DoseKind.INITIAL, amount) == {}) == ok


@pytest.mark.parametrize(
    ("initial", "extra", "ok"), [(120, 60, True), (80, 40, True), (120, 40, False), (80, 60, False)]
)
def test_mdma_supplemental_dose_is_half_the_initial(initial, extra, ok):
    assert (mdma(DoseKind.SUPPLEMENTAL, extra, initial) == {}) == ok


def test_mdma_supplemental_message_and_deviation():
    errors = mdma(DoseKind.SUPPLEMENTAL, 40, 120)
    assert "half the initial one: 60 mg after 120 mg" in errors["amount"]
    assert mdma(DoseKind.SUPPLEMENTAL, 40, 120, approved=[40.0]) == {}


# --- REMS blood pressures ------------------------------------------------------------------------

CHECKS = shipped(ESKETAMINE).blood_pressure_checks
DOSE, LEAVE = minutes(0), minutes(135)


def status(readings, *, first_dose_at=DOSE, discharged_at=LEAVE):
    return blood_pressure_status(
        CHECKS, first_dose_at=first_dose_at, discharged_at=discharged_at, readings=readings
    )


def test_each_window_includes_its_ends():
    met = status([minutes(-60), minutes(30), minutes(105)])
    assert [s.met for s in met] == [True, True, True]
    met = status([minutes(0), minutes(50), minutes(135)])
    assert [s.met for s in met] == [True, True, True]


def test_a_reading_just_outside_a_window_does_not_count():
    met = status([minutes(-61), minutes(29), minutes(51), minutes(104), minutes(136)])
    assert [s.met for s in met] == [False, False, False]


def test_gaps_name_each_missing_reading_and_its_window():
    gaps = blood_pressure_gaps(
        CHECKS, first_dose_at=DOSE, discharged_at=None, readings=[minutes(-5), minutes(62)]
    )
    assert gaps == [
        "Blood pressure: Blood pressure about 40 minutes after the dose "
        "(30-50 minutes after the first dose)",
        "Blood pressure: Blood pressure before discharge (in the 30 minutes before discharge)",
    ]
    assert (
        blood_pressure_gaps(
            CHECKS,
            first_dose_at=DOSE,
            discharged_at=LEAVE,
            readings=[minutes(-5), minutes(40), minutes(130)],
        )
        == []
    )


def test_without_a_dose_every_dose_check_is_a_gap():
    gaps = blood_pressure_gaps(
        CHECKS, first_dose_at=None, discharged_at=None, readings=[minutes(5)]
    )
    assert len(gaps) == 3


def test_discharge_needs_the_reading_before_leaving():
    errors = discharge_blood_pressure_errors(CHECKS, discharged_at=LEAVE, readings=[minutes(100)])
    assert "before discharge" in errors["discharged_at"]
    assert (
        discharge_blood_pressure_errors(CHECKS, discharged_at=LEAVE, readings=[minutes(105)]) == {}
    )
    assert discharge_blood_pressure_errors((), discharged_at=LEAVE, readings=[]) == {}


def test_window_words():
    before, after, leaving = CHECKS
    assert window_words(before) == "in the 60 minutes before the first dose"
    assert window_words(after) == "30-50 minutes after the first dose"
    assert window_words(leaving) == "in the 30 minutes before discharge"


# --- the REMS monitoring form --------------------------------------------------------------------


def test_form_is_due_7_days_after_the_session_then_overdue_until_submitted():
    due = monitoring_form_due_at(T0, 7)
    assert due == T0 + timedelta(days=7)
    assert monitoring_form_status(due, None, T0) == FormStatus.DUE
    assert monitoring_form_status(due, None, due) == FormStatus.DUE
    assert monitoring_form_status(due, None, due + timedelta(seconds=1)) == FormStatus.OVERDUE
    assert monitoring_form_status(due, due + timedelta(days=2), due + timedelta(days=3)) == (
        FormStatus.SUBMITTED
    )
