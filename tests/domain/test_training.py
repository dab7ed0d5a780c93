"""Training scenarios, the session clock and the adherence score, without an app.

Every shipped scenario is scored for a perfect run (every item met) and, for each response it
expects, for a run that misses just that response (that item is not met, with its evidence)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from psiflow.domain import adherence
from psiflow.domain.adherence import (
    MONITOR_SOURCE,
    PracticeRecord,
    RecordedAdverseEvent,
    TakenVital,
    Tick,
    TimelineEntry,
)
from psiflow.domain.clock import WALL_CLOCK, ClockRefused, training_clock
from psiflow.domain.protocols import default_protocol_dir, load_protocols
from psiflow.domain.scenarios import (
    ScenarioError,
    default_scenario_dir,
    load_scenario,
    load_scenarios,
    newest_protocol,
)

PROTOCOLS = load_protocols(default_protocol_dir())
SCENARIOS = load_scenarios(default_scenario_dir(), PROTOCOLS)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# --- the clock -----------------------------------------------------------------------------


def test_a_real_session_reads_the_wall_clock():
    assert WALL_CLOCK.now(T0) == T0
    assert not WALL_CLOCK.is_training
    with pytest.raises(ClockRefused):
        WALL_CLOCK.jumped_to(T0 + timedelta(hours=1), T0)


WALL = T0 + timedelta(hours=8)  # the practice session starts eight hours in the past


def test_an_accelerated_clock_runs_a_six_hour_session_in_thirty_minutes():
    clock = training_clock(T0, 12, WALL)
    assert clock.now(WALL) == T0
    assert clock.now(WALL + timedelta(minutes=30)) == T0 + timedelta(hours=6)


def test_the_training_clock_catches_up_with_the_wall_clock_and_never_passes_it():
    clock = training_clock(T0, 12, WALL)
    later = WALL + timedelta(minutes=50)  # 10 hours of training time: past the present
    assert clock.now(later) == later
    assert clock.caught_up(later)
    with pytest.raises(ClockRefused, match="cannot pass the present"):
        clock.jumped_to(WALL + timedelta(hours=1), WALL)
    with pytest.raises(ClockRefused):
        training_clock(WALL + timedelta(minutes=1), 12, WALL)


def test_a_stepped_clock_jumps_forward_and_keeps_running_from_there():
    clock = training_clock(T0, 1, WALL).jumped_to(T0 + timedelta(minutes=120), WALL)
    assert clock.now(WALL) == T0 + timedelta(minutes=120)
    assert clock.now(WALL + timedelta(minutes=1)) == T0 + timedelta(minutes=121)


def test_the_training_clock_never_runs_backwards():
    clock = training_clock(T0, 12, WALL)
    with pytest.raises(ClockRefused, match="only moves forward"):
        clock.jumped_to(T0, WALL + timedelta(minutes=1))


def test_a_change_of_speed_keeps_the_time_already_run():
    clock = training_clock(T0, 12, WALL).at_speed(1, WALL + timedelta(minutes=10))
    assert clock.now(WALL + timedelta(minutes=10)) == T0 + timedelta(minutes=120)
    assert clock.now(WALL + timedelta(minutes=11)) == T0 + timedelta(minutes=121)
    with pytest.raises(ClockRefused):
        clock.at_speed(7, WALL)


# --- scenario files ------------------------------------------------------------------------


def test_four_scenarios_ship_across_the_four_substances():
    assert {s.protocol_id for s in SCENARIOS.values()} == {
        "psilocybin-single-dose",
        "mdma-three-session",
        "ketamine-assisted-psychotherapy",
        "esketamine-monitoring",
    }
    for scenario in SCENARIOS.values():
        assert scenario.flags, scenario.id
        assert scenario.intake and scenario.sources
        for event in scenario.events:
            assert event.source and all(r.source for r in event.responses)


def test_the_shipped_scenarios_cover_the_situations_the_issue_names():
    kinds = {(s.protocol_id, e.id) for s in SCENARIOS.values() for e in s.events}
    assert ("esketamine-monitoring", "low_spo2") in kinds
    esketamine = SCENARIOS["esketamine-low-oxygen"]
    protocol = newest_protocol(PROTOCOLS, esketamine.protocol_id)
    # the SpO2 is critical by the protocol's own limits, not only by the scenario's word
    from psiflow.domain.safety import critical_flags

    assert critical_flags(esketamine.event("low_spo2").reading, protocol.critical_vital_limits)
    names = {e.id for s in SCENARIOS.values() for e in s.events}
    assert {
        "high_blood_pressure",
        "anxiety_at_peak",
        "wants_to_leave",
        "nausea",
        "vomiting",
    } <= names
    assert {"disclosure", "trauma_memory"} & names


def _copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    path = tmp_path / name
    shutil.copy(default_scenario_dir() / name, path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'protocol = "esketamine-monitoring"',
            'protocol = "nope"',
            r"protocol: no protocol 'nope'",
        ),
        ("spo2 = 87", "spo2 = 97", r"events\[0\]\.responses\[0\]\.kind: the reading is inside"),
        ("clock_speed = 12", "clock_speed = 7", r"clock_speed: must be one of"),
        ('flag = "uncontrolled_hypertension"', 'flag = "lithium"', r"screening\[0\]\.flag"),
        ("minute = 90", "minute = 10", r"events: must be in the order"),
        (
            'kind = "note"\nwithin_minutes = 10',
            'kind = "nod"\nwithin_minutes = 10',
            r"kind: must be one of",
        ),
        ("age = 47", "age = 47\nshoe_size = 9", r"patient\.shoe_size: unknown key"),
        ("spo2 = 87", "spo2 = 20", r"events\[0\]\.reading\.spo2"),
    ],
)
def test_a_malformed_scenario_is_refused_naming_file_and_key(tmp_path, old, new, message):
    path = _copy(tmp_path, "esketamine-low-oxygen.toml", old, new)
    with pytest.raises(ScenarioError, match=r"esketamine-low-oxygen\.toml: .*" + message):
        load_scenario(path, PROTOCOLS)


def test_a_scenario_without_a_flag_to_resolve_is_refused(tmp_path):
    path = tmp_path / "s.toml"
    text = (default_scenario_dir() / "esketamine-low-oxygen.toml").read_text()
    text = text.replace('flag = "uncontrolled_hypertension"\n', "").replace(
        'flag = "rems_sedating_medications"\n', ""
    )
    path.write_text(text)
    with pytest.raises(ScenarioError, match="screening: needs at least one answer"):
        load_scenario(path, PROTOCOLS)


def test_two_scenarios_with_one_id_are_refused(tmp_path):
    for name in ("a.toml", "b.toml"):
        shutil.copy(default_scenario_dir() / "esketamine-low-oxygen.toml", tmp_path / name)
    with pytest.raises(ScenarioError, match="b.toml: id: .* already defined in a.toml"):
        load_scenarios(tmp_path, PROTOCOLS)


# --- adherence -----------------------------------------------------------------------------


def _rules(scenario):
    protocol = newest_protocol(PROTOCOLS, scenario.protocol_id)
    return adherence.protocol_rules(protocol, protocol.dose.min)


def _perfect(scenario) -> PracticeRecord:
    """A run that does everything the scenario and protocol ask, each in good time."""
    rules = _rules(scenario)
    ids = iter(range(1, 10_000))
    ticks = tuple(Tick(i, True, T0 - timedelta(minutes=5)) for i in rules.required_before)
    last_event = max(e.minute for e in scenario.events)
    discharge_minute = max(rules.minimum_minutes, last_event + 45)
    vitals, timeline, adverse_events, injected = [], [], [], {}
    for minute in rules.vitals_schedule:
        if minute <= discharge_minute:
            at = T0 + timedelta(minutes=minute)
            vitals.append(TakenVital(next(ids), at, at, "", False, None))
    for event in scenario.events:
        start = T0 + timedelta(minutes=event.minute)
        if event.kind == "reading":
            vital_id = next(ids)
            injected[event.id] = vital_id
            vitals.append(
                TakenVital(
                    vital_id, start, start, MONITOR_SOURCE, True, start + timedelta(minutes=1)
                )
            )
        for response in event.responses:
            at = start + timedelta(minutes=1)
            if response.kind == "recheck":
                vitals.append(TakenVital(next(ids), at, at, "", False, None))
            elif response.kind == "note":
                timeline.append(TimelineEntry(next(ids), "note", at))
            elif response.kind == "call_supervisor":
                timeline.append(TimelineEntry(next(ids), "supervisor_call", at))
            elif response.kind == "adverse_event":
                adverse_events.append(RecordedAdverseEvent(next(ids), at))
    return PracticeRecord(
        dose_at=T0,
        ticks=ticks,
        vitals=tuple(vitals),
        timeline=tuple(timeline),
        adverse_events=tuple(adverse_events),
        discharged_at=T0 + timedelta(minutes=discharge_minute),
        discharge_criteria_met=rules.discharge_criteria,
        signed=True,
        integration_note=True,
        injected=injected,
    )


def _missing(scenario, record: PracticeRecord, event, kind) -> PracticeRecord:
    """`record` without the trainee's answer `kind` to `event`."""
    start = T0 + timedelta(minutes=event.minute)
    window = next(r.within_minutes for r in event.responses if r.kind == kind)
    inside = lambda at: start <= at <= start + timedelta(minutes=window)  # noqa: E731
    if kind == "acknowledge":
        vital_id = record.injected[event.id]
        vitals = tuple(
            replace(v, acknowledged_at=None) if v.id == vital_id else v for v in record.vitals
        )
        return replace(record, vitals=vitals)
    if kind == "recheck":  # no reading of the trainee's at all in the time allowed
        return replace(
            record,
            vitals=tuple(
                v for v in record.vitals if v.source == MONITOR_SOURCE or not inside(v.taken_at)
            ),
        )
    if kind in ("note", "call_supervisor"):
        wanted = "note" if kind == "note" else "supervisor_call"
        return replace(
            record,
            timeline=tuple(
                e for e in record.timeline if e.kind != wanted or not inside(e.recorded_at)
            ),
        )
    if kind == "adverse_event":
        return replace(
            record,
            adverse_events=tuple(a for a in record.adverse_events if not inside(a.recorded_at)),
        )
    if kind == "stay_until_minimum":
        return replace(record, discharged_at=start + timedelta(minutes=5))
    assert kind == "integration_note"
    return replace(record, integration_note=False)


@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
def test_a_perfect_run_meets_every_item(scenario_id):
    scenario = SCENARIOS[scenario_id]
    report = adherence.score(scenario, _rules(scenario), _perfect(scenario))
    assert [i for i in report.items if not i.met] == []
    assert report.percent == 100
    # one item per expected response, plus checklist, vitals, documentation and discharge
    assert report.total == sum(len(e.responses) for e in scenario.events) + 4
    # each expected response says why it is expected: the scenario's citation
    expected = {f"{e.id}.{r.kind}": r.source for e in scenario.events for r in e.responses}
    assert {i.key: i.source for i in report.items if i.key in expected} == expected


@pytest.mark.parametrize(
    ("scenario_id", "event_id", "kind"),
    [(s.id, e.id, r.kind) for s in SCENARIOS.values() for e in s.events for r in e.responses],
)
def test_a_run_missing_one_response_fails_that_item(scenario_id, event_id, kind):
    scenario = SCENARIOS[scenario_id]
    event = scenario.event(event_id)
    record = _missing(scenario, _perfect(scenario), event, kind)
    report = adherence.score(scenario, _rules(scenario), record)
    item = next(i for i in report.items if i.key == f"{event_id}.{kind}")
    assert not item.met, item.evidence
    assert item.evidence
    assert report.percent < 100


def test_a_late_response_is_not_in_time_and_says_when_it_came():
    scenario = SCENARIOS["esketamine-low-oxygen"]
    record = _perfect(scenario)
    vital_id = record.injected["low_spo2"]
    late = T0 + timedelta(minutes=30 + 12)
    record = replace(
        record,
        vitals=tuple(
            replace(v, acknowledged_at=late) if v.id == vital_id else v for v in record.vitals
        ),
    )
    item = next(
        i
        for i in adherence.score(scenario, _rules(scenario), record).items
        if i.key == "low_spo2.acknowledge"
    )
    assert not item.met
    assert "minute 42" in item.evidence and "within 5 minutes" in item.evidence


def test_checklist_ticked_after_the_dose_does_not_count():
    scenario = SCENARIOS["ketamine-vomiting-leave"]
    record = _perfect(scenario)
    first = record.ticks[0]
    record = replace(
        record, ticks=(replace(first, at=T0 + timedelta(minutes=3)), *record.ticks[1:])
    )
    item = adherence.score(scenario, _rules(scenario), record).items[0]
    assert item.key == "checklist" and not item.met
    assert "Not ticked before the dose" in item.evidence


def test_a_missed_scheduled_reading_is_named():
    scenario = SCENARIOS["ketamine-vomiting-leave"]
    record = _perfect(scenario)
    ninety = T0 + timedelta(minutes=90)
    record = replace(record, vitals=tuple(v for v in record.vitals if v.taken_at != ninety))
    item = adherence.score(scenario, _rules(scenario), record).items[1]
    assert item.key == "vitals" and not item.met
    assert "Missed: minute 90" in item.evidence


def test_nothing_recorded_scores_nothing():
    scenario = SCENARIOS["psilocybin-anxiety-at-peak"]
    report = adherence.score(scenario, _rules(scenario), PracticeRecord(dose_at=None))
    assert report.met == 0
