"""Vital signs: believable entry, protocol flags and the reading schedule, without an app."""

from datetime import UTC, datetime, timedelta

import pytest

from psiflow.domain.protocols import default_protocol_dir, load_protocols
from psiflow.domain.vitals import Reading, next_due, out_of_range, plausibility_errors, schedule

PROTOCOLS = load_protocols(default_protocol_dir())
MDMA = PROTOCOLS["mdma-three-session@1.0"]
ESKETAMINE = PROTOCOLS["esketamine-monitoring@1.0"]
DOSE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes):
    return DOSE + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("reading", "field"),
    [
        (Reading(systolic=20, diastolic=10), "systolic"),
        (Reading(systolic=400, diastolic=80), "systolic"),
        (Reading(heart_rate=0), "heart_rate"),
        (Reading(spo2=101), "spo2"),
        (Reading(temperature_c=47.5), "temperature_c"),
        (Reading(systolic=120), "diastolic"),
        (Reading(systolic=80, diastolic=90), "diastolic"),
        (Reading(), "systolic"),
    ],
)
def test_impossible_readings_are_refused_at_the_field(reading, field):
    assert field in plausibility_errors(reading)


def test_an_emergency_value_is_believable_so_it_is_kept_and_flagged():
    reading = Reading(systolic=230, diastolic=125, heart_rate=140, temperature_c=39.4, spo2=86)
    assert plausibility_errors(reading) == {}
    flags = {f.field: f for f in out_of_range(reading, MDMA.vital_limits)}
    assert set(flags) == {"systolic", "diastolic", "heart_rate", "temperature_c", "spo2"}
    assert flags["systolic"].high and not flags["spo2"].high
    assert flags["heart_rate"].message == "Heart rate 140 bpm is above the limit of 100 bpm"


def test_values_at_the_limits_are_not_flagged():
    limits = ESKETAMINE.vital_limits
    reading = Reading(systolic=140, diastolic=90, heart_rate=50, spo2=94)
    assert out_of_range(reading, limits) == []
    assert [f.field for f in out_of_range(Reading(systolic=141, diastolic=90), limits)] == [
        "systolic"
    ]


def test_before_the_dose_only_the_baseline_is_due():
    points = schedule(ESKETAMINE.vitals_schedule_minutes, None, [], DOSE)
    assert [p.status for p in points] == ["due", "upcoming", "upcoming"]
    assert next_due(points).minute == 0


def test_readings_cover_the_scheduled_time_nearest_them():
    taken = [at(-10), at(38), at(125)]
    points = schedule(ESKETAMINE.vitals_schedule_minutes, DOSE, taken, at(130))
    assert [(p.minute, p.status, p.taken_at) for p in points] == [
        (0, "done", at(-10)),
        (40, "done", at(38)),
        (120, "done", at(125)),
    ]
    assert next_due(points) is None


def test_a_late_reading_is_overdue_then_missed_when_the_next_one_falls_due():
    minutes = ESKETAMINE.vitals_schedule_minutes  # 0, 40, 120
    assert next_due(schedule(minutes, DOSE, [at(-5)], at(44))).status == "due"
    overdue = next_due(schedule(minutes, DOSE, [at(-5)], at(46)))
    assert (overdue.minute, overdue.status, overdue.due_at) == (40, "overdue", at(40))
    points = schedule(minutes, DOSE, [at(-5)], at(81))
    assert points[1].status == "missed"
    assert next_due(points).minute == 120 and next_due(points).status == "due"


def test_a_dose_without_a_baseline_reading_shows_the_baseline_missed():
    points = schedule(ESKETAMINE.vitals_schedule_minutes, DOSE, [at(3)], at(5))
    assert points[0].status == "missed" and points[1].status == "upcoming"


def test_one_reading_never_counts_twice():
    points = schedule([0, 30, 60], DOSE, [at(-1), at(46)], at(50))
    assert [p.status for p in points] == ["done", "missed", "done"]
