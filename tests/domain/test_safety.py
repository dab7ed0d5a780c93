"""The safety rules at their boundaries: critical vitals, discharge from the readings,
adverse-event seriousness, item rules, emergency end and how alerts close."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from psiflow.domain.instruments import ItemRule
from psiflow.domain.protocols import ProtocolError, default_protocol_dir, load_protocol
from psiflow.domain.safety import (
    ALERT_SEVERITY,
    AlertKind,
    CriticalLimits,
    EmergencyEnd,
    ItemRuleHit,
    Resolution,
    Seriousness,
    Severity,
    TakenReading,
    check_in_day,
    critical_flags,
    emergency_end_errors,
    is_serious,
    item_rule_hits,
    judge_check_in,
    resolution_errors,
    seriousness_errors,
    vitals_discharge_errors,
)
from psiflow.domain.vitals import Reading

# The example thresholds, as every shipped protocol names them.
LIMITS = CriticalLimits(
    systolic_at_least=180,
    systolic_below=90,
    diastolic_at_least=110,
    heart_rate_at_least=130,
    heart_rate_below=45,
    temperature_at_least_c=39.0,
    spo2_below=90,
)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reading", "critical"),
    [
        (Reading(systolic=179, diastolic=109), set()),
        (Reading(systolic=180, diastolic=100), {"systolic"}),
        (Reading(systolic=170, diastolic=110), {"diastolic"}),
        (Reading(systolic=90, diastolic=60), set()),
        (Reading(systolic=89, diastolic=60), {"systolic"}),
        (Reading(heart_rate=129), set()),
        (Reading(heart_rate=130), {"heart_rate"}),
        (Reading(heart_rate=45), set()),
        (Reading(heart_rate=44), {"heart_rate"}),
        (Reading(temperature_c=38.9), set()),
        (Reading(temperature_c=39.0), {"temperature_c"}),
        (Reading(spo2=90), set()),
        (Reading(spo2=89), {"spo2"}),
        (
            Reading(systolic=230, diastolic=130, heart_rate=150, temperature_c=40.5, spo2=82),
            {"systolic", "diastolic", "heart_rate", "temperature_c", "spo2"},
        ),
    ],
)
def test_critical_limits_are_at_least_for_highs_and_below_for_lows(reading, critical):
    flags = critical_flags(reading, LIMITS)
    assert {f.field for f in flags} == critical
    assert all(f.message.startswith("CRITICAL: ") for f in flags)


def test_a_protocol_without_a_limit_never_calls_that_vital_critical():
    assert critical_flags(Reading(systolic=250, diastolic=100), CriticalLimits(spo2_below=90)) == []


def test_every_shipped_protocol_names_critical_limits_beyond_its_flag_limits():
    for path in sorted(default_protocol_dir().glob("*.toml")):
        protocol = load_protocol(path)
        limits, critical = protocol.vital_limits, protocol.critical_vital_limits
        assert critical.systolic_at_least > limits.systolic_max, path.name
        assert critical.spo2_below <= limits.spo2_min, path.name
        assert critical.heart_rate_at_least > limits.heart_rate_max, path.name


def test_a_critical_limit_inside_the_flag_limits_is_refused_naming_file_and_key(tmp_path):
    source = default_protocol_dir() / "psilocybin-single-dose.toml"
    text = source.read_text().replace("systolic_at_least = 180", "systolic_at_least = 150")
    path = Path(tmp_path) / source.name
    path.write_text(text)
    with pytest.raises(
        ProtocolError, match=r"vitals\.critical\.systolic_at_least: must be greater"
    ):
        load_protocol(path)


def _reading(minutes, out=(), acknowledged=False, **values):
    values = values or {"systolic": 120, "diastolic": 80}
    return TakenReading(T0 + timedelta(minutes=minutes), values, frozenset(out), acknowledged)


def test_discharge_needs_a_reading():
    assert vitals_discharge_errors([]) == [
        "No vital signs are recorded: take a reading before discharge."
    ]


def test_discharge_waits_for_every_out_of_range_reading_to_be_acknowledged():
    readings = [_reading(0, out={"systolic"}), _reading(30)]
    assert vitals_discharge_errors(readings) == ["1 out-of-range reading not yet acknowledged."]
    readings = [_reading(0, out={"systolic"}, acknowledged=True), _reading(30)]
    assert vitals_discharge_errors(readings) == []


def test_an_acknowledged_reading_still_holds_discharge_while_it_is_the_latest():
    readings = [_reading(0), _reading(30, out={"systolic"}, acknowledged=True)]
    errors = vitals_discharge_errors(readings)
    assert len(errors) == 1 and "Systolic blood pressure" in errors[0]


def test_the_latest_reading_is_judged_per_vital():
    # A later SpO2-only reading does not settle a blood pressure that is still high.
    readings = [
        _reading(0, out={"systolic"}, acknowledged=True, systolic=190, diastolic=90),
        _reading(10, spo2=97),
    ]
    assert "Systolic blood pressure" in vitals_discharge_errors(readings)[0]
    readings.append(_reading(20, systolic=140, diastolic=85))
    assert vitals_discharge_errors(readings) == []


@pytest.mark.parametrize(
    ("grade", "criteria", "fatal", "refused"),
    [
        (3, [], False, False),
        (3, ["hospitalisation"], False, False),
        (4, [], False, True),
        (4, ["life_threatening"], False, False),
        (5, [], False, True),
        (5, ["life_threatening"], False, True),
        (5, ["death"], True, False),
        (2, [], True, True),
        (2, ["made_up"], False, True),
    ],
)
def test_seriousness_follows_21_cfr_312_32(grade, criteria, fatal, refused):
    errors = seriousness_errors(grade, criteria, fatal)
    assert bool(errors) is refused
    assert is_serious(criteria) is bool(criteria)


def test_every_seriousness_criterion_has_a_label():
    assert {c.value for c in Seriousness} == {
        "death",
        "life_threatening",
        "hospitalisation",
        "disability",
        "congenital_anomaly",
        "important_medical_event",
    }
    assert all(c.label for c in Seriousness)


@pytest.mark.parametrize(("answer", "hits"), [(None, 0), (0, 0), (1, 1), (3, 1)])
def test_an_item_rule_alerts_at_its_threshold(answer, hits):
    rule = ItemRule("q9", 1, "Item 9 positive", "cssrs")
    found = item_rule_hits([rule], {"q9": answer})
    assert found == [ItemRuleHit("q9", answer, "Item 9 positive", "cssrs")] * hits


def test_an_emergency_end_needs_its_facts_but_never_a_minimum_duration():
    end = EmergencyEnd(T0 + timedelta(minutes=5), "Seizure", "County ED", "Ambulance", "911")
    assert emergency_end_errors(end, T0, T0 + timedelta(minutes=6)) == {}
    empty = EmergencyEnd(T0 - timedelta(minutes=1), " ", "", "", "")
    assert set(emergency_end_errors(empty, T0, T0 + timedelta(minutes=6))) == {
        "ended_at",
        "reason",
        "transferred_to",
        "transferred_by",
        "notified",
    }


def test_dangers_that_need_someone_now_are_critical():
    assert {k for k, s in ALERT_SEVERITY.items() if s == Severity.CRITICAL} == {
        AlertKind.SUICIDE_RISK,
        AlertKind.SERIOUS_ADVERSE_EVENT,
        AlertKind.VITALS,
        AlertKind.EMERGENCY_END,
    }
    assert set(ALERT_SEVERITY) == set(AlertKind)


def test_a_suicide_risk_alert_closes_only_with_a_safety_plan_or_a_clearance():
    risk = AlertKind.SUICIDE_RISK
    assert "resolution" in resolution_errors(risk, Resolution.ACKNOWLEDGED, "seen")
    assert resolution_errors(risk, Resolution.SAFETY_PLAN, "Plan agreed with the patient") == {}
    assert resolution_errors(risk, Resolution.CLEARED, "Passive ideation, long past") == {}
    assert "note" in resolution_errors(risk, Resolution.CLEARED, "  ")
    other = AlertKind.SAFETY_CHECK_IN
    assert "resolution" in resolution_errors(other, Resolution.SAFETY_PLAN, "x")
    assert resolution_errors(other, Resolution.ACKNOWLEDGED, "Called the patient") == {}


# --- safety check-ins: what the protocol expects on the day ---------------------------------

_DOSED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_DOSING_DAY = {0: frozenset({"not_back_to_normal"})}


def test_not_back_to_normal_on_the_dosing_day_is_expected_not_alerted():
    day = check_in_day(_DOSED + timedelta(hours=8), [_DOSED], None)
    verdict = judge_check_in(["not_back_to_normal"], day, _DOSING_DAY)
    assert day == 0
    assert verdict.alert == () and verdict.expected == ("not back to normal activities",)


def test_not_back_to_normal_a_week_later_alerts():
    day = check_in_day(_DOSED + timedelta(days=7), [_DOSED], None)
    verdict = judge_check_in(["not_back_to_normal"], day, _DOSING_DAY)
    assert day == 7 and verdict.alert == ("not back to normal activities",)


def test_a_scheduled_call_is_judged_on_its_own_day():
    # A day-1 call made 20 hours after the dose is still the day-1 call.
    assert check_in_day(_DOSED + timedelta(hours=20), [_DOSED], 1) == 1
    verdict = judge_check_in(["not_back_to_normal"], 1, _DOSING_DAY)
    assert verdict.alert == ("not back to normal activities",)


def test_dangers_alert_on_the_dosing_day_too():
    verdict = judge_check_in(
        ["suicidal_thoughts", "not_back_to_normal", "serious_events"], 0, _DOSING_DAY
    )
    assert verdict.alert == ("serious event since last contact", "current suicidal thoughts")
    assert verdict.expected == ("not back to normal activities",)


def test_before_any_dose_nothing_is_expected():
    assert check_in_day(_DOSED - timedelta(hours=1), [_DOSED], None) is None
    verdict = judge_check_in(["not_back_to_normal"], None, _DOSING_DAY)
    assert verdict.alert == ("not back to normal activities",)
