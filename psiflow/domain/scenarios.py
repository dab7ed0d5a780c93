"""Training scenarios as data: `psiflow/scenarios/*.toml`, validated at start like protocols.

A scenario is a fictional patient (background, screening answers with at least one flag to
resolve, intake answers), the protocol it runs on, and a scripted dosing session: events the
app injects at given minutes after the dose, each with the responses the protocol expects and
the time allowed for each. A malformed file stops the app at start-up with the file and the
dotted key; a scripted reading that should breach the protocol's limits is checked against the
protocol's own limits, so a scenario cannot teach a flag the protocol would not raise.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psiflow.domain import safety
from psiflow.domain import vitals as vital_rules
from psiflow.domain.clock import SPEEDS


class ScenarioError(ValueError):
    """A scenario file that does not validate; the message names the file and the key."""


# What a trainee may be expected to do, checked from the record (see domain/adherence.py).
RESPONSES = {
    "acknowledge": "Acknowledge the flagged reading",
    "recheck": "Re-check the vital signs",
    "call_supervisor": "Call the supervisor (recorded on the timeline)",
    "adverse_event": "Record the adverse event",
    "note": "Write what happened on the timeline",
    "stay_until_minimum": "Keep the patient until the protocol's minimum duration",
    "integration_note": "Write the integration note",
}
# Judged without a time allowed: the minimum duration is the protocol's, and the integration
# note is written after the session, on the wall clock, in the integration phase.
UNTIMED = frozenset({"stay_until_minimum", "integration_note"})
EVENT_KINDS = ("reading", "prompt")
# Responses that only make sense for a reading the monitor gives.
_READING_RESPONSES = frozenset({"acknowledge", "recheck"})

_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")
_ITEM_ID = re.compile(r"[a-z0-9_]+\Z")


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    flag: str = ""  # the protocol contraindication the answer raises
    resolution: str = ""  # what resolving the flag takes
    source: str = ""


@dataclass(frozen=True)
class ExpectedResponse:
    kind: str  # one of RESPONSES
    within_minutes: int
    source: str

    @property
    def label(self) -> str:
        return RESPONSES[self.kind]


@dataclass(frozen=True)
class ScriptedEvent:
    id: str
    minute: int  # after the first dose, on the session's clock
    kind: str  # "reading" (a monitor gives it) or "prompt" (what the patient says or does)
    says: str  # what the trainee is told when it arrives
    source: str
    reading: vital_rules.Reading | None
    responses: tuple[ExpectedResponse, ...]


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    summary: str
    protocol_id: str
    clock_speed: int
    vitals_tolerance_minutes: int
    patient_name: str
    patient_age: int
    background: str
    screening: tuple[Answer, ...]
    intake: tuple[Answer, ...]
    events: tuple[ScriptedEvent, ...]
    sources: tuple[str, ...]

    @property
    def flags(self) -> tuple[Answer, ...]:
        return tuple(a for a in self.screening if a.flag)

    def event(self, event_id: str) -> ScriptedEvent | None:
        return next((e for e in self.events if e.id == event_id), None)


# A run starts this long before the dose on the training clock: the checklist and a baseline
# reading (clinic default for a walk-through).
BEFORE_DOSE_MINUTES = 30
# And lasts this long after the later of its last event and the protocol's minimum duration:
# the responses, the discharge assessment and the discharge itself.
AFTER_MINUTES = 60


def minutes_needed(scenario: Scenario, protocol) -> int:
    """How long a run lasts on its training clock, from the start of the session: it starts
    that far in the past, so that its clock reaches the present as the session ends."""
    minimum = protocol.min_session_minutes_for_dose(protocol.dose.max)
    last_event = max(e.minute for e in scenario.events)
    return BEFORE_DOSE_MINUTES + max(minimum, last_event) + AFTER_MINUTES


def default_scenario_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "scenarios"


def load_scenarios(directory: Path, protocols: dict) -> dict[str, Scenario]:
    """Every scenario in `directory`, keyed by id, checked against the loaded `protocols`
    (keyed `id@version`; a scenario runs on the newest version of its protocol)."""
    scenarios: dict[str, Scenario] = {}
    origin: dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        scenario = load_scenario(path, protocols)
        if scenario.id in origin:
            raise ScenarioError(
                f"{path.name}: id: {scenario.id} is already defined in {origin[scenario.id]}"
            )
        scenarios[scenario.id], origin[scenario.id] = scenario, path.name
    return scenarios


def load_scenario(path: Path, protocols: dict) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path.name}: cannot read the file: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path.name}: not valid TOML: {exc}") from exc
    return _read(_Table(path.name, "", data), protocols)


def newest_protocol(protocols: dict, protocol_id: str):
    versions = [p for p in protocols.values() if p.id == protocol_id]
    if not versions:
        return None
    return max(versions, key=lambda p: tuple(int(x) for x in p.version.split(".")))


def _read(top: _Table, protocols: dict) -> Scenario:
    scenario_id = top.text("id")
    if not _ID.match(scenario_id):
        raise top.error("id", f"{scenario_id!r} must use only a-z, 0-9 and single hyphens")
    protocol_id = top.text("protocol")
    protocol = newest_protocol(protocols, protocol_id)
    if protocol is None:
        raise top.error("protocol", f"no protocol {protocol_id!r} is loaded")
    speed = top.integer("clock_speed", minimum=1)
    if speed not in SPEEDS:
        raise top.error("clock_speed", f"must be one of {', '.join(map(str, SPEEDS))}")
    patient = top.table("patient")
    name = patient.text("name")
    age = patient.integer("age", minimum=18)
    background = patient.text("background")
    patient.done()
    contraindications = {c.id for c in protocol.contraindications}
    screening = tuple(
        _answer(t, contraindications) for t in top.tables("screening", allow_empty=False)
    )
    if not any(a.flag for a in screening):
        raise top.error("screening", "needs at least one answer that raises a flag to resolve")
    intake = tuple(_answer(t, frozenset()) for t in top.tables("intake", allow_empty=False))
    events = tuple(_event(t, protocol) for t in top.tables("events", allow_empty=False))
    seen: set[str] = set()
    for i, event in enumerate(events):
        if event.id in seen:
            raise top.error(f"events[{i}].id", f"{event.id!r} is used twice")
        seen.add(event.id)
    if [e.minute for e in events] != sorted(e.minute for e in events):
        raise top.error("events", "must be in the order they happen (by minute)")
    scenario = Scenario(
        id=scenario_id,
        title=top.text("title"),
        summary=top.text("summary"),
        protocol_id=protocol_id,
        clock_speed=speed,
        vitals_tolerance_minutes=top.integer("vitals_tolerance_minutes", minimum=1),
        patient_name=name,
        patient_age=age,
        background=background,
        screening=screening,
        intake=intake,
        events=events,
        sources=top.texts("sources"),
    )
    top.done()
    return scenario


def _answer(table: _Table, contraindications) -> Answer:
    flag = table.optional_text("flag")
    if flag and flag not in contraindications:
        raise table.error("flag", f"{flag!r} is not a contraindication of the protocol")
    answer = Answer(
        question=table.text("question"),
        answer=table.text("answer"),
        flag=flag,
        resolution=table.text("resolution") if flag else table.optional_text("resolution"),
        source=table.optional_text("source"),
    )
    table.done()
    return answer


def _event(table: _Table, protocol) -> ScriptedEvent:
    event_id = table.text("id")
    if not _ITEM_ID.match(event_id):
        raise table.error("id", f"{event_id!r} must use only a-z, 0-9 and _")
    kind = table.text("kind")
    if kind not in EVENT_KINDS:
        raise table.error("kind", f"must be one of {', '.join(EVENT_KINDS)}")
    reading = None
    if kind == "reading":
        reading = _reading(table.table("reading"), protocol)
    responses = []
    for response_table in table.tables("responses", allow_empty=False):
        response_kind = response_table.text("kind")
        if response_kind not in RESPONSES:
            raise response_table.error("kind", f"must be one of {', '.join(RESPONSES)}")
        if response_kind in UNTIMED:
            # Judged by a rule of its own (the minimum duration, the course's record): no
            # time allowed to state, and one stated would be read as if it counted.
            if "within_minutes" in response_table.data:
                raise response_table.error("within_minutes", f"{response_kind!r} is not timed")
            within = 0
        else:
            within = response_table.integer("within_minutes", minimum=1)
        response = ExpectedResponse(
            kind=response_kind, within_minutes=within, source=response_table.text("source")
        )
        if response.kind in _READING_RESPONSES and kind != "reading":
            raise response_table.error("kind", f"{response.kind!r} needs a reading event")
        if response.kind == "acknowledge" and not vital_rules.out_of_range(
            reading, protocol.vital_limits
        ):
            raise response_table.error(
                "kind",
                "the reading is inside the protocol's limits: there is no flag to acknowledge",
            )
        response_table.done()
        responses.append(response)
    event = ScriptedEvent(
        id=event_id,
        minute=table.integer("minute", minimum=1),
        kind=kind,
        says=table.text("says"),
        source=table.text("source"),
        reading=reading,
        responses=tuple(responses),
    )
    table.done()
    return event


def _reading(table: _Table, protocol) -> vital_rules.Reading:
    values: dict[str, Any] = {}
    for name in vital_rules.PLAUSIBLE:
        if name in table.data:
            value = table.data[name]
            table.read.add(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise table.error(name, "must be a number")
            values[name] = float(value) if name == "temperature_c" else value
    table.done()
    if not values:
        raise table.error("", "a reading needs at least one value")
    reading = vital_rules.Reading(**values)
    errors = vital_rules.plausibility_errors(reading)
    if errors:
        field, message = next(iter(errors.items()))
        raise table.error(field, message)
    # Whether it is critical is the protocol's to say; read here so a bad limit fails at start.
    safety.critical_flags(reading, protocol.critical_vital_limits)
    return reading


class _Table:
    """One TOML table being read. Every key read is ticked off; `done` rejects the rest."""

    def __init__(self, file: str, key: str, data: object) -> None:
        self.file, self.key = file, key
        if not isinstance(data, dict):
            raise ScenarioError(f"{file}: {key or '(top level)'}: must be a table")
        self.data: dict[str, Any] = data
        self.read: set[str] = set()

    def error(self, name: str, message: str) -> ScenarioError:
        where = ".".join(part for part in (self.key, name) if part) or "(top level)"
        return ScenarioError(f"{self.file}: {where}: {message}")

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise self.error(unknown[0], "unknown key (misspelt, or not part of a scenario)")

    def _get(self, name: str) -> Any:
        self.read.add(name)
        if name not in self.data:
            raise self.error(name, "missing required key")
        return self.data[name]

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, "must be a non-empty string")
        return " ".join(value.split())

    def optional_text(self, name: str) -> str:
        if name not in self.data:
            self.read.add(name)
            return ""
        return self.text(name)

    def texts(self, name: str) -> tuple[str, ...]:
        value = self._get(name)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise self.error(name, "must be a non-empty list of strings")
        return tuple(v.strip() for v in value)

    def integer(self, name: str, *, minimum: int) -> int:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(name, f"must be an integer >= {minimum}")
        return value

    def table(self, name: str) -> _Table:
        key = ".".join(p for p in (self.key, name) if p)
        return _Table(self.file, key, self._get(name))

    def tables(self, name: str, *, allow_empty: bool) -> list[_Table]:
        value = self._get(name)
        if not isinstance(value, list) or (not value and not allow_empty):
            raise self.error(name, "must be a non-empty list of tables ([[...]])")
        key = ".".join(p for p in (self.key, name) if p)
        return [_Table(self.file, f"{key}[{i}]", item) for i, item in enumerate(value)]
