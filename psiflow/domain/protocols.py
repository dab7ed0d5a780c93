"""Treatment protocols as data: `psiflow/protocols/*.toml`, validated on load.

The phase gates, the dosing-session checklist, the vitals flags and the measures schedule all
read their numbers from these files, so a malformed file must stop the app at start-up with the
file and the dotted key, never fall back to a silent default at the bedside. Unknown keys are
rejected at every level: a misspelt key would otherwise leave its value unused without a word.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psiflow.domain.safety import CHECK_IN_SIGNALS, MAY_BE_EXPECTED, CriticalLimits

INSTRUMENT_IDS = frozenset(
    {"phq9", "gad7", "pcl5", "who5", "cssrs", "meq30", "ebi", "ceq", "madrs"}
)
CHECKLIST_WHEN = ("before", "during", "after")
# What a blood-pressure check's window is measured from.
BLOOD_PRESSURE_ANCHORS = ("first_dose", "discharge")
# Extra printed layouts a session record can take, and the session questions each one reads.
PRINT_FORMS = {
    "spravato_rems_monitoring": frozenset(
        {
            "benzodiazepines",
            "sedative_hypnotics",
            "psychostimulants",
            "maois",
            "sedation",
            "dissociation",
            "respiratory_depression",
        }
    ),
}

_ID = re.compile(r"[a-z0-9_]+\Z")
_PROTOCOL_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")
_VERSION = re.compile(r"\d+(\.\d+)*\Z")
# Column sizes of Course.protocol_id / protocol_version: a longer value could not be pinned.
_PROTOCOL_ID_MAX, _VERSION_MAX = 64, 16
_REQUIRED = object()


class ProtocolError(ValueError):
    """A protocol file that does not validate; the message names the file and the key."""


@dataclass(frozen=True)
class Choice:
    id: str
    label: str


@dataclass(frozen=True)
class InteractingMedicine:
    """A class of medicines the protocol's substance interacts with: a current medicine whose
    name contains one of `names` is highlighted in the patient header, with `why`."""

    id: str
    label: str
    names: tuple[str, ...]  # lower-case generic and class names, matched as whole words
    why: str


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    label: str
    when: str  # "before" | "during" | "after"
    required: bool


@dataclass(frozen=True)
class SessionQuestion:
    """A yes/no question answered on every dosing session (e.g. the REMS monitoring items)."""

    id: str
    label: str
    when: str  # "before" | "during" | "after"


@dataclass(frozen=True)
class VitalLimits:
    """Values outside [min, max] raise a flag on the dosing-session record."""

    systolic_min: int
    systolic_max: int
    diastolic_min: int
    diastolic_max: int
    heart_rate_min: int
    heart_rate_max: int
    temperature_min_c: float
    temperature_max_c: float
    spo2_min: int


@dataclass(frozen=True)
class DoseRule:
    substance: str
    unit: str
    route: str
    min: float
    max: float
    supplemental_allowed: bool
    supplemental_min: float | None
    supplemental_max: float | None
    supplemental_after_minutes: tuple[int, int] | None  # earliest, latest after the first dose
    # The only initial doses the protocol gives (empty: any dose from min to max).
    allowed: tuple[float, ...] = ()
    # The initial dose of the course's first dosing session, where the protocol fixes it.
    first_session: float | None = None
    # The supplemental dose as a fraction of the initial one (MAPS: a half dose).
    supplemental_fraction: float | None = None


@dataclass(frozen=True)
class BloodPressureCheck:
    """A blood pressure the record must hold: one reading from `from_minutes` to `to_minutes`
    (both included) after the anchor (the first dose, or discharge; negative: before it)."""

    id: str
    label: str
    anchor: str  # one of BLOOD_PRESSURE_ANCHORS
    from_minutes: int
    to_minutes: int


@dataclass(frozen=True)
class MonitoringForm:
    """A form sent to a regulator after every dosing session (e.g. the Spravato REMS one)."""

    id: str  # one of PRINT_FORMS
    label: str
    due_days: int  # after the session


@dataclass(frozen=True)
class MinLengthRule:
    """A total dose up to `up_to_dose` needs a session of at least `minutes`.

    `inclusive=False` reads the limit as "less than": Oregon's bands run from "equal or greater
    than X" to "less than Y" (OAR 333-333-5250), so a dose exactly at Y belongs to the longer band.
    """

    up_to_dose: float
    minutes: int
    inclusive: bool = True

    def covers(self, total_dose: float) -> bool:
        if self.inclusive:
            return total_dose <= self.up_to_dose
        return total_dose < self.up_to_dose


@dataclass(frozen=True)
class Protocol:
    id: str
    version: str
    name: str
    substance: str
    summary: str
    source: str
    facilitators_required: int
    min_preparation_sessions: int
    dosing_sessions: int
    integration_sessions_per_dosing: int
    first_integration_within_hours: int
    preparation_min_hours_before_dosing: int | None
    preparation_max_days_before_dosing: int | None
    contraindications: tuple[Choice, ...]
    preparation_topics: tuple[Choice, ...]
    checklist: tuple[ChecklistItem, ...]
    session_questions: tuple[SessionQuestion, ...]  # empty when the protocol asks none
    print_forms: tuple[str, ...]  # extra printed layouts of the session record (PRINT_FORMS)
    vitals_schedule_minutes: tuple[int, ...]  # after dose; 0 = just before dosing
    vital_limits: VitalLimits
    critical_vital_limits: CriticalLimits
    expected_session_minutes: int
    min_monitoring_minutes: int
    min_length_by_dose: tuple[MinLengthRule, ...]  # empty when the protocol sets none
    dose: DoseRule
    discharge_criteria: tuple[Choice, ...]
    adherence_items: tuple[Choice, ...]
    baseline_measures: tuple[str, ...]
    after_dosing_measures: tuple[str, ...]
    follow_up_weeks: tuple[int, ...]
    follow_up_measures: tuple[str, ...]
    safety_checkin_days: tuple[int, ...]
    risk_screen_at_integration: bool
    blood_pressure_checks: tuple[BloodPressureCheck, ...] = ()  # empty when the protocol sets none
    monitoring_form: MonitoringForm | None = None
    # {day after dosing: check-in answers expected that day, which alert no one}; day 0 is
    # the dosing day (domain.safety.judge_check_in).
    check_in_expected: dict[int, frozenset[str]] = dataclasses.field(default_factory=dict)
    interacting_medicines: tuple[InteractingMedicine, ...] = ()  # empty when it lists none

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def checklist_item(self, item_id: str) -> ChecklistItem | None:
        return next((item for item in self.checklist if item.id == item_id), None)

    def session_question(self, question_id: str) -> SessionQuestion | None:
        return next((q for q in self.session_questions if q.id == question_id), None)

    def min_session_minutes_for_dose(self, total_dose: float) -> int:
        """The shortest session allowed for this total dose (supplemental doses included)."""
        rules = self.min_length_by_dose
        by_dose = next((r.minutes for r in rules if r.covers(total_dose)), None)
        if by_dose is None:
            # Above the last band the regulation sets nothing longer: keep the longest minimum.
            by_dose = rules[-1].minutes if rules else 0
        return max(self.min_monitoring_minutes, by_dose)


def default_protocol_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "protocols"


def load_protocols(directory: Path) -> dict[str, Protocol]:
    """Every protocol version in `directory`, keyed `id@version`."""
    protocols: dict[str, Protocol] = {}
    origin: dict[str, Path] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        protocol = load_protocol(path)
        if protocol.key in origin:
            raise ProtocolError(
                f"{path.name}: id: {protocol.key} is already defined in {origin[protocol.key].name}"
            )
        protocols[protocol.key], origin[protocol.key] = protocol, path
    return protocols


def load_protocol(path: Path) -> Protocol:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProtocolError(f"{path.name}: cannot read the file: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{path.name}: not valid TOML: {exc}") from exc
    return _read_protocol(_Table(path.name, "", data))


# --- reading -------------------------------------------------------------------------------


def _read_protocol(top: _Table) -> Protocol:
    protocol_id = top.text("id")
    if not _PROTOCOL_ID.match(protocol_id) or len(protocol_id) > _PROTOCOL_ID_MAX:
        raise top.error("id", f"{protocol_id!r} must be lower-case words joined by hyphens")
    version = top.text("version")
    if not _VERSION.match(version) or len(version) > _VERSION_MAX:
        raise top.error("version", f"{version!r} must be dotted numbers such as 1.0")
    substance = top.text("substance")

    gates = top.table("gates")
    facilitators = gates.integer("facilitators_required", minimum=1)
    if facilitators not in (1, 2):
        raise gates.error("facilitators_required", "must be 1 or 2")
    min_preparation = gates.integer("min_preparation_sessions", minimum=0)
    dosing_sessions = gates.integer("dosing_sessions", minimum=1)
    integration_per_dosing = gates.integer("integration_sessions_per_dosing", minimum=0)
    gates.done()

    timing = top.table("timing")
    first_integration = timing.integer("first_integration_within_hours", minimum=1)
    prep_min_hours = timing.integer("preparation_min_hours_before_dosing", minimum=0, default=None)
    prep_max_days = timing.integer("preparation_max_days_before_dosing", minimum=1, default=None)
    if prep_min_hours is not None and prep_max_days is not None:
        if prep_max_days * 24 <= prep_min_hours:
            raise timing.error(
                "preparation_max_days_before_dosing",
                "leaves no time after preparation_min_hours_before_dosing",
            )
    timing.done()

    session = top.table("session")
    expected_minutes = session.integer("expected_minutes", minimum=1)
    min_monitoring = session.integer("min_monitoring_minutes", minimum=1)
    if expected_minutes < min_monitoring:
        raise session.error("expected_minutes", "must not be shorter than min_monitoring_minutes")
    min_length = _min_length_rules(session)
    session.done()

    vitals = top.table("vitals")
    schedule = vitals.increasing_integers("schedule_minutes", minimum=0, allow_empty=False)
    limits = _vital_limits(vitals.table("limits"))
    critical = _critical_limits(vitals.table("critical"), limits)
    vitals.done()

    measures = top.table("measures")
    baseline = measures.instruments("baseline", allow_empty=False)
    after_dosing = measures.instruments("after_dosing", allow_empty=True)
    follow_up_weeks = measures.increasing_integers("follow_up_weeks", minimum=1, allow_empty=False)
    follow_up = measures.instruments("follow_up", allow_empty=False)
    checkin_days = measures.increasing_integers("safety_checkin_days", minimum=1, allow_empty=True)
    risk_screen = measures.boolean("risk_screen_at_integration")
    measures.done()
    print_forms = _print_forms(top)

    protocol = Protocol(
        id=protocol_id,
        version=version,
        name=top.text("name"),
        substance=substance,
        summary=top.text("summary"),
        source=top.text("source"),
        facilitators_required=facilitators,
        min_preparation_sessions=min_preparation,
        dosing_sessions=dosing_sessions,
        integration_sessions_per_dosing=integration_per_dosing,
        first_integration_within_hours=first_integration,
        preparation_min_hours_before_dosing=prep_min_hours,
        preparation_max_days_before_dosing=prep_max_days,
        contraindications=_choices(top, "contraindications"),
        preparation_topics=_choices(top, "preparation_topics"),
        checklist=_checklist(top),
        session_questions=_session_questions(top),
        print_forms=print_forms,
        vitals_schedule_minutes=schedule,
        vital_limits=limits,
        critical_vital_limits=critical,
        expected_session_minutes=expected_minutes,
        min_monitoring_minutes=min_monitoring,
        min_length_by_dose=min_length,
        dose=_dose(top.table("dose"), substance),
        discharge_criteria=_choices(top, "discharge_criteria"),
        adherence_items=_choices(top, "adherence_items"),
        baseline_measures=baseline,
        after_dosing_measures=after_dosing,
        follow_up_weeks=follow_up_weeks,
        follow_up_measures=follow_up,
        safety_checkin_days=checkin_days,
        risk_screen_at_integration=risk_screen,
        blood_pressure_checks=_blood_pressure_checks(top),
        monitoring_form=_monitoring_form(top, print_forms),
        check_in_expected=_check_in_expected(top),
        interacting_medicines=_interacting_medicines(top),
    )
    top.done()
    return protocol


def _choices(top: _Table, name: str) -> tuple[Choice, ...]:
    choices = []
    for entry in _unique_ids(top, name):
        choices.append(Choice(id=entry.identifier("id"), label=entry.text("label")))
        entry.done()
    return tuple(choices)


def _interacting_medicines(top: _Table) -> tuple[InteractingMedicine, ...]:
    classes = []
    for entry in _unique_ids(top, "interacting_medicines", allow_empty=True):
        names = entry._get("names")
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and n.strip() for n in names)
        ):
            raise entry.error("names", "must be a non-empty list of medicine names")
        classes.append(
            InteractingMedicine(
                id=entry.identifier("id"),
                label=entry.text("label"),
                names=tuple(n.strip().lower() for n in names),
                why=entry.text("why"),
            )
        )
        entry.done()
    return tuple(classes)


def _checklist(top: _Table) -> tuple[ChecklistItem, ...]:
    items = []
    for entry in _unique_ids(top, "checklist"):
        when = entry.text("when")
        if when not in CHECKLIST_WHEN:
            raise entry.error("when", f"{when!r} must be one of {', '.join(CHECKLIST_WHEN)}")
        items.append(
            ChecklistItem(
                id=entry.identifier("id"),
                label=entry.text("label"),
                when=when,
                required=entry.boolean("required"),
            )
        )
        entry.done()
    return tuple(items)


def _session_questions(top: _Table) -> tuple[SessionQuestion, ...]:
    questions = []
    for entry in _unique_ids(top, "session_questions", allow_empty=True):
        when = entry.text("when")
        if when not in CHECKLIST_WHEN:
            raise entry.error("when", f"{when!r} must be one of {', '.join(CHECKLIST_WHEN)}")
        questions.append(
            SessionQuestion(id=entry.identifier("id"), label=entry.text("label"), when=when)
        )
        entry.done()
    return tuple(questions)


def _print_forms(top: _Table) -> tuple[str, ...]:
    forms = top._get("print_forms", [])
    if not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
        raise top.error("print_forms", "must be a list of form names")
    asked = {q.id for q in _session_questions(top)} if forms else set()
    for form in forms:
        if form not in PRINT_FORMS:
            known = ", ".join(PRINT_FORMS)
            raise top.error("print_forms", f"unknown form {form!r} (known: {known})")
        unasked = sorted(PRINT_FORMS[form] - asked)
        if unasked:
            raise top.error("print_forms", f"{form} needs session_questions {', '.join(unasked)}")
    return tuple(forms)


def _check_in_expected(top: _Table) -> dict[int, frozenset[str]]:
    expected: dict[int, frozenset[str]] = {}
    for entry in top.tables("check_in_expected", allow_empty=True):
        day = entry.integer("day", minimum=0)
        if day in expected:
            raise entry.error("day", f"day {day} is given twice")
        answers = entry._get("answers")
        if not isinstance(answers, list) or not answers:
            raise entry.error("answers", "must be a non-empty list of check-in answers")
        for answer in answers:
            if answer not in CHECK_IN_SIGNALS:
                raise entry.error("answers", f"{answer!r} is not a check-in answer")
            if answer not in MAY_BE_EXPECTED:
                raise entry.error("answers", f"{answer!r} always alerts the supervisor")
        entry.text("why")  # the clinical reason, required beside the rule
        expected[day] = frozenset(answers)
        entry.done()
    return expected


def _blood_pressure_checks(top: _Table) -> tuple[BloodPressureCheck, ...]:
    checks = []
    for entry in _unique_ids(top, "blood_pressure_checks", allow_empty=True):
        anchor = entry.text("anchor")
        if anchor not in BLOOD_PRESSURE_ANCHORS:
            known = ", ".join(BLOOD_PRESSURE_ANCHORS)
            raise entry.error("anchor", f"{anchor!r} must be one of {known}")
        # A day either side of the anchor is as far as a session reaches.
        low = entry.integer("from_minutes", minimum=-1440)
        high = entry.integer("to_minutes", minimum=-1440)
        if low > high:
            raise entry.error("to_minutes", "must not be before from_minutes")
        checks.append(
            BloodPressureCheck(
                id=entry.identifier("id"),
                label=entry.text("label"),
                anchor=anchor,
                from_minutes=low,
                to_minutes=high,
            )
        )
        entry.done()
    return tuple(checks)


def _monitoring_form(top: _Table, print_forms: tuple[str, ...]) -> MonitoringForm | None:
    if "monitoring_form" not in top.data:
        top.read.add("monitoring_form")
        return None
    form = top.table("monitoring_form")
    form_id = form.text("id")
    if form_id not in print_forms:
        raise form.error("id", f"{form_id!r} must also be one of print_forms")
    due_days = form.integer("due_days", minimum=1)
    tracked = MonitoringForm(id=form_id, label=form.text("label"), due_days=due_days)
    form.done()
    return tracked


def _unique_ids(top: _Table, name: str, *, allow_empty: bool = False) -> list[_Table]:
    entries = top.tables(name, allow_empty=allow_empty)
    seen: set[str] = set()
    for entry in entries:
        entry_id = entry.identifier("id")
        if entry_id in seen:
            raise entry.error("id", f"duplicate id {entry_id!r}")
        seen.add(entry_id)
    return entries


def _vital_limits(limits: _Table) -> VitalLimits:
    values: dict[str, Any] = {}
    for low, high, read in (
        ("systolic_min", "systolic_max", limits.integer),
        ("diastolic_min", "diastolic_max", limits.integer),
        ("heart_rate_min", "heart_rate_max", limits.integer),
        ("temperature_min_c", "temperature_max_c", limits.number),
    ):
        values[low], values[high] = read(low, minimum=0), read(high, minimum=0)
        if values[low] >= values[high]:
            raise limits.error(high, f"must be greater than {low}")
    values["spo2_min"] = limits.integer("spo2_min", minimum=1)
    if values["spo2_min"] > 100:
        raise limits.error("spo2_min", "must be a percentage (at most 100)")
    limits.done()
    return VitalLimits(**values)


# Critical key -> the out-of-range limit it must lie beyond, and on which side: a critical
# reading is always also out of range, so it is flagged and holds discharge too.
_CRITICAL_BEYOND = {
    "systolic_at_least": ("systolic_max", "above"),
    "systolic_below": ("systolic_min", "below"),
    "diastolic_at_least": ("diastolic_max", "above"),
    "heart_rate_at_least": ("heart_rate_max", "above"),
    "heart_rate_below": ("heart_rate_min", "below"),
    "temperature_at_least_c": ("temperature_max_c", "above"),
    "spo2_below": ("spo2_min", "below"),
}


def _critical_limits(critical: _Table, limits: VitalLimits) -> CriticalLimits:
    values: dict[str, Any] = {}
    for key, (limit_key, side) in _CRITICAL_BEYOND.items():
        read = critical.number if key == "temperature_at_least_c" else critical.integer
        if key not in critical.data:
            critical.read.add(key)
            continue
        value = read(key, minimum=1)
        limit = getattr(limits, limit_key)
        if (side == "above" and value <= limit) or (side == "below" and value > limit):
            word = "greater than" if side == "above" else "at most"
            raise critical.error(key, f"must be {word} limits.{limit_key} ({limit:g})")
        values[key] = value
    if not values:
        raise critical.error("spo2_below", "name at least one critical limit")
    critical.done()
    return CriticalLimits(**values)


def _min_length_rules(session: _Table) -> tuple[MinLengthRule, ...]:
    rules: list[MinLengthRule] = []
    for entry in session.tables("min_length_by_dose", allow_empty=True):
        inclusive = "up_to_dose" in entry.data
        if inclusive == ("below_dose" in entry.data):
            raise entry.error("up_to_dose", "give exactly one of up_to_dose or below_dose")
        limit_key = "up_to_dose" if inclusive else "below_dose"
        limit = entry.number(limit_key, minimum=0)
        if rules and limit <= rules[-1].up_to_dose:
            raise entry.error(limit_key, "rules must be sorted by increasing dose")
        rules.append(MinLengthRule(limit, entry.integer("minutes", minimum=1), inclusive))
        entry.done()
    return tuple(rules)


def _dose(dose: _Table, substance: str) -> DoseRule:
    low = dose.number("min", minimum=0)
    high = dose.number("max", minimum=0)
    if low > high:
        raise dose.error("max", "must not be below min")
    allowed = dose.boolean("supplemental_allowed")
    supplemental_keys = ("supplemental_min", "supplemental_max", "supplemental_after_minutes")
    if not allowed:
        for key in supplemental_keys:
            if key in dose.data:
                raise dose.error(key, "set, but supplemental_allowed is false")
        supplemental = (None, None, None)
    else:
        extra_low = dose.number("supplemental_min", minimum=0)
        extra_high = dose.number("supplemental_max", minimum=0)
        if extra_low > extra_high:
            raise dose.error("supplemental_max", "must not be below supplemental_min")
        window = dose.increasing_integers("supplemental_after_minutes", minimum=0, strict=False)
        if len(window) != 2:
            raise dose.error("supplemental_after_minutes", "must be [earliest, latest]")
        supplemental = (extra_low, extra_high, (window[0], window[1]))
    allowed_doses = _allowed_doses(dose, low, high)
    first_session = None
    if "first_session" in dose.data:
        first_session = dose.number("first_session", minimum=0)
        if not low <= first_session <= high or (
            allowed_doses and first_session not in allowed_doses
        ):
            raise dose.error("first_session", "must be one of the doses the protocol allows")
    else:
        dose.read.add("first_session")
    fraction = None
    if "supplemental_fraction" in dose.data:
        if not allowed:
            raise dose.error("supplemental_fraction", "set, but supplemental_allowed is false")
        fraction = dose.number("supplemental_fraction", minimum=0)
        if not 0 < fraction <= 1:
            raise dose.error("supplemental_fraction", "must be more than 0 and at most 1")
        for initial in allowed_doses or (low, high):
            if not supplemental[0] <= initial * fraction <= supplemental[1]:
                raise dose.error(
                    "supplemental_fraction",
                    f"gives {initial * fraction:g} after {initial:g}, outside "
                    "supplemental_min to supplemental_max",
                )
    else:
        dose.read.add("supplemental_fraction")
    rule = DoseRule(
        substance=substance,
        unit=dose.text("unit"),
        route=dose.text("route"),
        min=low,
        max=high,
        supplemental_allowed=allowed,
        supplemental_min=supplemental[0],
        supplemental_max=supplemental[1],
        supplemental_after_minutes=supplemental[2],
        allowed=allowed_doses,
        first_session=first_session,
        supplemental_fraction=fraction,
    )
    dose.done()
    return rule


def _allowed_doses(dose: _Table, low: float, high: float) -> tuple[float, ...]:
    value = dose._get("allowed", [])
    if not isinstance(value, list) or any(
        isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in value
    ):
        raise dose.error("allowed", "must be a list of doses")
    doses = tuple(float(v) for v in value)
    if any(a >= b for a, b in zip(doses, doses[1:], strict=False)):
        raise dose.error("allowed", "must be in increasing order without repeats")
    outside = [d for d in doses if not low <= d <= high]
    if outside:
        raise dose.error("allowed", f"{outside[0]:g} is outside min to max")
    return doses


class _Table:
    """One TOML table being read. Every key read is ticked off; `done` rejects the rest."""

    def __init__(self, file: str, key: str, data: object) -> None:
        self.file, self.key = file, key
        if not isinstance(data, dict):
            raise ProtocolError(f"{file}: {key or '(top level)'}: must be a table")
        self.data: dict[str, Any] = data
        self.read: set[str] = set()

    def error(self, name: str, message: str) -> ProtocolError:
        where = ".".join(part for part in (self.key, name) if part) or "(top level)"
        return ProtocolError(f"{self.file}: {where}: {message}")

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise self.error(unknown[0], "unknown key (misspelt, or not part of a protocol)")

    def _get(self, name: str, default: object = _REQUIRED) -> Any:
        self.read.add(name)
        if name in self.data:
            return self.data[name]
        if default is _REQUIRED:
            raise self.error(name, "missing required key")
        return default

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, "must be a non-empty string")
        return value.strip()

    def identifier(self, name: str) -> str:
        value = self.text(name)
        if not _ID.match(value):
            raise self.error(name, f"{value!r} must use only a-z, 0-9 and _")
        return value

    def integer(self, name: str, *, minimum: int, default: object = _REQUIRED) -> Any:
        value = self._get(name, default)
        if name not in self.data:
            return value
        # bool is an int in Python: `true` must not pass for 1.
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise self.error(name, f"must be {kind}")
        return value

    def number(self, name: str, *, minimum: float) -> float:
        value = self._get(name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < minimum
        ):
            raise self.error(name, f"must be a number >= {minimum:g}")
        return float(value)

    def boolean(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise self.error(name, "must be true or false")
        return value

    def increasing_integers(
        self, name: str, *, minimum: int, allow_empty: bool = True, strict: bool = True
    ) -> tuple[int, ...]:
        value = self._get(name)
        if not isinstance(value, list) or any(
            isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in value
        ):
            raise self.error(name, f"must be a list of integers >= {minimum}")
        if not value and not allow_empty:
            raise self.error(name, "must not be empty")
        pairs = zip(value, value[1:], strict=False)
        if any(a >= b if strict else a > b for a, b in pairs):
            order = "in increasing order without repeats" if strict else "in increasing order"
            raise self.error(name, f"must be {order}")
        return tuple(value)

    def instruments(self, name: str, *, allow_empty: bool) -> tuple[str, ...]:
        value = self._get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(name, "must be a list of instrument ids")
        if not value and not allow_empty:
            raise self.error(name, "must not be empty")
        for instrument in value:
            if instrument not in INSTRUMENT_IDS:
                known = ", ".join(sorted(INSTRUMENT_IDS))
                raise self.error(name, f"unknown instrument {instrument!r} (known: {known})")
        if len(set(value)) != len(value):
            raise self.error(name, "lists an instrument twice")
        return tuple(value)

    def table(self, name: str) -> _Table:
        return _Table(self.file, self._at(name), self._get(name))

    def tables(self, name: str, *, allow_empty: bool = False) -> list[_Table]:
        value = self._get(name, [] if allow_empty else _REQUIRED)
        if not isinstance(value, list):
            raise self.error(name, "must be an array of tables ([[...]])")
        if not value and not allow_empty:
            raise self.error(name, "must have at least one entry")
        return [_Table(self.file, f"{self._at(name)}[{i}]", v) for i, v in enumerate(value)]

    def _at(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name
