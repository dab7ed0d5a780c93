"""Adherence of a practice run to its scenario and protocol, scored from the record alone.

Plain values in (what the trainee entered, with the session-clock times it was entered at),
items out: each with whether it was met, the evidence (which entry, at what minute after the
dose) and a total. The supervisor's fidelity rating is a judgement; this is the part a machine
can count, shown beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from psiflow.domain.clock import minute_of
from psiflow.domain.review import Fidelity
from psiflow.domain.scenarios import RESPONSES, Scenario

MONITOR_SOURCE = "monitor (scenario)"
SUPERVISOR_CALL = "supervisor_call"


@dataclass(frozen=True)
class Tick:
    item_id: str
    value: bool
    at: datetime


@dataclass(frozen=True)
class TakenVital:
    id: int
    taken_at: datetime
    recorded_at: datetime
    source: str  # MONITOR_SOURCE for a reading the scenario injected
    flagged: bool
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    kind: str  # an EventKind value
    recorded_at: datetime


@dataclass(frozen=True)
class RecordedAdverseEvent:
    id: int
    recorded_at: datetime


@dataclass(frozen=True)
class PracticeRecord:
    """What the trainee's record holds, in session-clock time."""

    dose_at: datetime | None
    ticks: tuple[Tick, ...] = ()
    vitals: tuple[TakenVital, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    adverse_events: tuple[RecordedAdverseEvent, ...] = ()
    discharged_at: datetime | None = None
    discharge_criteria_met: tuple[str, ...] = ()
    ended_early: bool = False
    signed: bool = False
    integration_note: bool = False
    # scripted event id -> the injected reading's id (readings only)
    injected: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ProtocolRules:
    """What adherence reads of the protocol."""

    required_before: tuple[str, ...]  # required checklist items done before the dose
    labels: dict[str, str]
    vitals_schedule: tuple[int, ...]
    minimum_minutes: int
    discharge_criteria: tuple[str, ...]


@dataclass(frozen=True)
class Item:
    key: str  # stable: the supervisor's comments are filed under it
    label: str
    met: bool
    evidence: str
    source: str = ""  # why it is expected: the scenario's citation for an expected response


@dataclass(frozen=True)
class Report:
    items: tuple[Item, ...]

    @property
    def met(self) -> int:
        return sum(1 for i in self.items if i.met)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> int:
        return round(100 * self.met / self.total) if self.total else 0


def fidelity_percent(fidelity: Mapping[str, str] | None) -> int | None:
    """The supervisor's rating as a share of the applicable items (partly counts half), to
    chart beside adherence; None when not rated or nothing applied."""
    if not fidelity:
        return None
    values = [Fidelity(v) for v in fidelity.values()]
    applicable = [v for v in values if v != Fidelity.NOT_APPLICABLE]
    if not applicable:
        return None
    points = sum(1 if v == Fidelity.MET else 0.5 if v == Fidelity.PARTLY else 0 for v in applicable)
    return round(100 * points / len(applicable))


def protocol_rules(protocol, total_dose: float) -> ProtocolRules:
    return ProtocolRules(
        required_before=tuple(
            i.id for i in protocol.checklist if i.required and i.when == "before"
        ),
        labels={i.id: i.label for i in protocol.checklist},
        vitals_schedule=protocol.vitals_schedule_minutes,
        minimum_minutes=protocol.min_session_minutes_for_dose(total_dose),
        discharge_criteria=tuple(c.id for c in protocol.discharge_criteria),
    )


def _minute(dose_at: datetime | None, at: datetime) -> str:
    if dose_at is None:
        return "before any dose"
    m = round(minute_of(dose_at, at))
    return f"minute {m}" if m >= 0 else f"{-m} min before the dose"


def score(scenario: Scenario, rules: ProtocolRules, record: PracticeRecord) -> Report:
    items = [_checklist(rules, record), _vitals(scenario, rules, record)]
    for event in scenario.events:
        for response in event.responses:
            items.append(replace(_response(event, response, rules, record), source=response.source))
    items.append(_documentation(record))
    items.append(_discharge(rules, record))
    return Report(tuple(items))


def _checklist(rules: ProtocolRules, record: PracticeRecord) -> Item:
    label = "Setting checklist complete before the dose"
    if record.dose_at is None:
        return Item("checklist", label, False, "No dose was recorded.")
    state: dict[str, Tick] = {}
    for tick in sorted(record.ticks, key=lambda t: t.at):
        if tick.at <= record.dose_at:
            state[tick.item_id] = tick
    missing = [i for i in rules.required_before if not (i in state and state[i].value)]
    if missing:
        names = ", ".join(rules.labels.get(i, i) for i in missing)
        return Item("checklist", label, False, f"Not ticked before the dose: {names}.")
    last = max((state[i].at for i in rules.required_before), default=record.dose_at)
    return Item(
        "checklist",
        label,
        True,
        f"All {len(rules.required_before)} required items ticked, the last at "
        f"{_minute(record.dose_at, last)}.",
    )


def _vitals(scenario: Scenario, rules: ProtocolRules, record: PracticeRecord) -> Item:
    label = f"Vital signs on schedule (within {scenario.vitals_tolerance_minutes} minutes)"
    if record.dose_at is None:
        return Item("vitals", label, False, "No dose was recorded: no schedule to keep.")
    tolerance = timedelta(minutes=scenario.vitals_tolerance_minutes)
    taken = [v for v in record.vitals if v.source != MONITOR_SOURCE]
    end = record.discharged_at
    found, missed = [], []
    for minute in rules.vitals_schedule:
        due = record.dose_at + timedelta(minutes=minute)
        if end is not None and due > end + tolerance:
            continue  # due after the patient left: nothing to take
        match = next((v for v in taken if abs(v.taken_at - due) <= tolerance), None)
        if match is None:
            missed.append(minute)
        else:
            found.append(f"{minute} (taken at {_minute(record.dose_at, match.taken_at)})")
    if missed:
        return Item(
            "vitals",
            label,
            False,
            "Missed: minute "
            + ", ".join(map(str, missed))
            + ". "
            + ("Taken: minute " + "; ".join(found) + "." if found else ""),
        )
    return Item("vitals", label, True, "Taken: minute " + "; ".join(found) + ".")


def _response(event, response, rules: ProtocolRules, record: PracticeRecord) -> Item:
    key = f"{event.id}.{response.kind}"
    label = f"Minute {event.minute}, {event.says.split(':')[0][:60]}: {RESPONSES[response.kind]}"
    if response.kind == "stay_until_minimum":
        return _stay(key, label, rules, record)
    if response.kind == "integration_note":
        if record.integration_note:
            return Item(key, label, True, "An integration note is written for the course.")
        return Item(key, label, False, "No integration note is written for the course yet.")
    if record.dose_at is None:
        return Item(key, label, False, "No dose was recorded: the event never arrived.")
    start = record.dose_at + timedelta(minutes=event.minute)
    deadline = start + timedelta(minutes=response.within_minutes)
    by_minute = event.minute + response.within_minutes
    allowed = f"within {response.within_minutes} minutes (by minute {by_minute})"

    def in_time(at: datetime) -> bool:
        return start <= at <= deadline

    if response.kind == "acknowledge":
        vital = next((v for v in record.vitals if v.id == record.injected.get(event.id)), None)
        if vital is None:
            return Item(key, label, False, "The reading was not delivered.")
        if vital.acknowledged_at is None:
            return Item(key, label, False, f"Reading #{vital.id} was never acknowledged.")
        when = _minute(record.dose_at, vital.acknowledged_at)
        if in_time(vital.acknowledged_at):
            return Item(key, label, True, f"Reading #{vital.id} acknowledged at {when}, {allowed}.")
        return Item(
            key, label, False, f"Reading #{vital.id} acknowledged at {when}: not {allowed}."
        )
    if response.kind == "recheck":
        candidates = [v for v in record.vitals if v.source != MONITOR_SOURCE]
        return _first_in(
            key, label, candidates, lambda v: v.taken_at, "Reading", record, in_time, allowed
        )
    if response.kind in ("call_supervisor", "note"):
        wanted = SUPERVISOR_CALL if response.kind == "call_supervisor" else "note"
        entries = [e for e in record.timeline if e.kind == wanted]
        what = "Supervisor call" if wanted == SUPERVISOR_CALL else "Timeline note"
        return _first_in(
            key, label, entries, lambda e: e.recorded_at, what, record, in_time, allowed
        )
    # adverse_event
    return _first_in(
        key,
        label,
        record.adverse_events,
        lambda a: a.recorded_at,
        "Adverse event",
        record,
        in_time,
        allowed,
    )


def _first_in(key, label, rows, when, what, record, in_time, allowed) -> Item:
    hit = next((r for r in sorted(rows, key=when) if in_time(when(r))), None)
    if hit is not None:
        return Item(
            key,
            label,
            True,
            f"{what} #{hit.id} at {_minute(record.dose_at, when(hit))}, {allowed}.",
        )
    return Item(key, label, False, f"No {what.lower()} {allowed}.")


def _stay(key, label, rules: ProtocolRules, record: PracticeRecord) -> Item:
    if record.ended_early:
        return Item(key, label, True, "The session was ended as an emergency: no discharge.")
    if record.discharged_at is None or record.dose_at is None:
        return Item(key, label, False, "The patient has not been discharged yet.")
    minute = minute_of(record.dose_at, record.discharged_at)
    if minute >= rules.minimum_minutes:
        return Item(
            key,
            label,
            True,
            f"Discharged at minute {round(minute)}, after the minimum of {rules.minimum_minutes}.",
        )
    return Item(
        key,
        label,
        False,
        f"Discharged at minute {round(minute)}, before the minimum of {rules.minimum_minutes}.",
    )


def _documentation(record: PracticeRecord) -> Item:
    label = "Documentation complete (dose recorded, session record signed)"
    missing = []
    if record.dose_at is None:
        missing.append("no dose recorded")
    if not record.signed:
        missing.append("the session record is not signed")
    if missing:
        return Item("documentation", label, False, "; ".join(missing).capitalize() + ".")
    return Item("documentation", label, True, "Dose recorded and the session record signed.")


def _discharge(rules: ProtocolRules, record: PracticeRecord) -> Item:
    label = "Discharge rules respected (minimum duration, every criterion, no open flag)"
    if record.ended_early:
        return Item(
            "discharge", label, True, "Ended as an emergency: the transfer stands in for discharge."
        )
    if record.discharged_at is None or record.dose_at is None:
        return Item("discharge", label, False, "No discharge is recorded.")
    problems = []
    minute = minute_of(record.dose_at, record.discharged_at)
    if minute < rules.minimum_minutes:
        problems.append(f"discharged at minute {round(minute)}, before {rules.minimum_minutes}")
    unmet = [c for c in rules.discharge_criteria if c not in record.discharge_criteria_met]
    if unmet:
        problems.append("criteria not confirmed: " + ", ".join(unmet))
    open_flags = [
        v.id
        for v in record.vitals
        if v.flagged
        and v.taken_at <= record.discharged_at
        and (v.acknowledged_at is None or v.acknowledged_at > record.discharged_at)
    ]
    if open_flags:
        problems.append(
            "flagged readings unacknowledged at discharge: "
            + ", ".join(f"#{i}" for i in open_flags)
        )
    if problems:
        return Item("discharge", label, False, "; ".join(problems).capitalize() + ".")
    return Item(
        "discharge",
        label,
        True,
        f"Discharged at minute {round(minute)} with all "
        f"{len(rules.discharge_criteria)} criteria confirmed.",
    )
