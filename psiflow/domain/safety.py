"""The safety rules: what a danger raises, who hears it, and what it stops (DESIGN 4).

One rule set that every write carrying danger asks: a vitals reading, an instrument's answers,
an adverse event, the end of a session. Thresholds are protocol and instrument data; this
module only reads them. Plain functions over plain values, so each rule is tested at its
boundaries without an app.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from psiflow.domain.dosing import time_error
from psiflow.domain.vitals import LABELS, UNITS, Reading


class Severity(enum.StrEnum):
    """How urgently an alert needs a person, most urgent first."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFORMATION = "information"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class AlertKind(enum.StrEnum):
    SCREENING_FLAG = "screening_flag"
    SUICIDE_RISK = "suicide_risk"
    SERIOUS_ADVERSE_EVENT = "serious_adverse_event"
    SAFETY_CHECK_IN = "safety_check_in"
    VITALS = "vitals"
    EMERGENCY_END = "emergency_end"

    @property
    def label(self) -> str:
        return {
            "screening_flag": "Contraindication flag",
            "suicide_risk": "Suicide risk",
            "serious_adverse_event": "Serious adverse event",
            "safety_check_in": "Safety check-in",
            "vitals": "Critical vital signs",
            "emergency_end": "Session ended as an emergency",
        }[self.value]

    @property
    def severity(self) -> Severity:
        return ALERT_SEVERITY[self]


# What each kind of danger is, to the person who hears it: a critical one needs someone now
# (and is emailed); a warning today; information is a task that already blocks a gate.
ALERT_SEVERITY = {
    AlertKind.SCREENING_FLAG: Severity.INFORMATION,
    AlertKind.SUICIDE_RISK: Severity.CRITICAL,
    AlertKind.SERIOUS_ADVERSE_EVENT: Severity.CRITICAL,
    AlertKind.SAFETY_CHECK_IN: Severity.WARNING,
    AlertKind.VITALS: Severity.CRITICAL,
    AlertKind.EMERGENCY_END: Severity.CRITICAL,
}


class Resolution(enum.StrEnum):
    """How an alert was closed."""

    ACKNOWLEDGED = "acknowledged"  # a supervisor says what was done
    SAFETY_PLAN = "safety_plan"  # suicide risk: a safety plan is documented
    CLEARED = "cleared"  # suicide risk: judged safe to go on, with a rationale
    CAUSE_RESOLVED = "cause_resolved"  # closed by itself: what raised it is resolved

    @property
    def label(self) -> str:
        return {
            "acknowledged": "Acknowledged",
            "safety_plan": "Safety plan documented",
            "cleared": "Cleared with a rationale",
            "cause_resolved": "Closed: the cause was resolved",
        }[self.value]


# A suicide-risk alert holds the gate to dosing until a supervisor closes it one of these ways.
RISK_RESOLUTIONS = (Resolution.SAFETY_PLAN, Resolution.CLEARED)


def resolution_errors(kind: AlertKind, resolution: Resolution, note: str) -> dict[str, str]:
    if kind == AlertKind.SUICIDE_RISK and resolution not in RISK_RESOLUTIONS:
        return {
            "resolution": "A suicide-risk alert closes with a documented safety plan or a "
            "clearance with its rationale."
        }
    if kind != AlertKind.SUICIDE_RISK and resolution in RISK_RESOLUTIONS:
        return {"resolution": "Only a suicide-risk alert closes with a safety plan."}
    if not note.strip():
        return {"note": "Say what was done (the plan, or why it is safe to go on)."}
    return {}


# --- vitals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriticalLimits:
    """Beyond these a reading is a danger now: a critical alert goes to the supervisor.

    Highs are "at least" and lows "below", as clinical early-warning thresholds are written
    (systolic >= 180, SpO2 < 90). Any limit may be None where the protocol sets none.
    """

    systolic_at_least: int | None = None
    systolic_below: int | None = None
    diastolic_at_least: int | None = None
    heart_rate_at_least: int | None = None
    heart_rate_below: int | None = None
    temperature_at_least_c: float | None = None
    spo2_below: int | None = None

    def bounds(self) -> dict[str, tuple[float | None, float | None]]:
        """Vital -> (below this is critical, at or above this is critical)."""
        return {
            "systolic": (self.systolic_below, self.systolic_at_least),
            "diastolic": (None, self.diastolic_at_least),
            "heart_rate": (self.heart_rate_below, self.heart_rate_at_least),
            "temperature_c": (None, self.temperature_at_least_c),
            "spo2": (self.spo2_below, None),
        }


@dataclass(frozen=True)
class CriticalFlag:
    field: str
    value: float
    limit: float
    high: bool

    @property
    def message(self) -> str:
        unit = UNITS[self.field]
        word = "at or above" if self.high else "below"
        return (
            f"CRITICAL: {LABELS[self.field]} {self.value:g} {unit} is {word} "
            f"the critical limit of {self.limit:g} {unit}"
        )


def critical_flags(reading: Reading, limits: CriticalLimits) -> list[CriticalFlag]:
    """The values of a reading beyond the protocol's critical limits."""
    flags = []
    bounds = limits.bounds()
    for name, value in reading.values().items():
        low, high = bounds[name]
        if low is not None and value < low:
            flags.append(CriticalFlag(name, value, low, high=False))
        elif high is not None and value >= high:
            flags.append(CriticalFlag(name, value, high, high=True))
    return flags


@dataclass(frozen=True)
class TakenReading:
    """What the discharge rule needs of one stored reading."""

    taken_at: datetime
    values: Mapping[str, float]  # the vitals this reading measured
    out_of_range: frozenset[str]  # which of them were outside the protocol's limits
    acknowledged: bool


def vitals_discharge_errors(readings: Iterable[TakenReading]) -> list[str]:
    """Why the readings forbid discharge (empty: the vitals are within the protocol's limits).

    Discharge waits while any out-of-range reading is unacknowledged, and while the latest
    reading of any vital is out of range: acknowledging a bad value says someone saw it, not
    that the patient is well enough to leave.
    """
    readings = sorted(readings, key=lambda r: r.taken_at)
    errors = []
    if not readings:
        return ["No vital signs are recorded: take a reading before discharge."]
    waiting = sum(1 for r in readings if r.out_of_range and not r.acknowledged)
    if waiting:
        errors.append(
            f"{waiting} out-of-range reading{'s' if waiting != 1 else ''} not yet acknowledged."
        )
    latest: dict[str, TakenReading] = {}
    for reading in readings:
        for name in reading.values:
            latest[name] = reading
    still_out = [LABELS[name] for name, r in latest.items() if name in r.out_of_range]
    if still_out:
        errors.append(
            "The latest reading is still outside the protocol's limits for "
            + ", ".join(still_out)
            + ": take a new reading once it has settled."
        )
    return errors


# --- adverse events ------------------------------------------------------------------------


class Seriousness(enum.StrEnum):
    """The criteria that make an adverse event serious (21 CFR 312.32(a))."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    CONGENITAL_ANOMALY = "congenital_anomaly"
    IMPORTANT_MEDICAL_EVENT = "important_medical_event"

    @property
    def label(self) -> str:
        return SERIOUSNESS_LABELS[self]


SERIOUSNESS_LABELS = {
    Seriousness.DEATH: "Death",
    Seriousness.LIFE_THREATENING: "Life-threatening (at immediate risk of death)",
    Seriousness.HOSPITALISATION: "Inpatient hospitalisation, or a longer existing stay",
    Seriousness.DISABILITY: "Persistent or significant incapacity, or disruption of normal life",
    Seriousness.CONGENITAL_ANOMALY: "Congenital anomaly or birth defect",
    Seriousness.IMPORTANT_MEDICAL_EVENT: (
        "Important medical event (may need intervention to prevent one of the above)"
    ),
}

# CTCAE grade 4 is life-threatening and grade 5 is death: serious by definition.
ALWAYS_SERIOUS_FROM_GRADE = 4


def seriousness_errors(grade: int, criteria: Iterable[str], fatal: bool) -> dict[str, str]:
    """Field -> why these seriousness criteria cannot stand for an event of this grade."""
    criteria = set(criteria)
    unknown = criteria - {c.value for c in Seriousness}
    if unknown:
        return {"seriousness": "Choose seriousness criteria from the list."}
    if grade == 5 and Seriousness.DEATH not in criteria:
        return {"seriousness": "A grade 5 event is a death: tick 'Death' (21 CFR 312.32)."}
    if fatal and Seriousness.DEATH not in criteria:
        return {"seriousness": "The outcome is fatal: tick 'Death' (21 CFR 312.32)."}
    if grade >= ALWAYS_SERIOUS_FROM_GRADE and not criteria:
        return {
            "seriousness": (
                f"A grade {grade} event is serious by definition (21 CFR 312.32): "
                "tick the criteria it meets."
            )
        }
    return {}


def is_serious(criteria: Iterable[str]) -> bool:
    return bool(set(criteria))


# --- instruments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRuleHit:
    """An instrument item rule met by the answers: it alerts whatever the total."""

    item: str
    value: int
    message: str
    asks_for: str | None  # an instrument to give next (e.g. the C-SSRS), if the rule names one


def item_rule_hits(rules, answers: Mapping[str, int | None]) -> list[ItemRuleHit]:
    """The instrument's item rules (`ItemRule`: item, at_least, message, asks_for) that these
    answers meet."""
    hits = []
    for rule in rules:
        value = answers.get(rule.item)
        if value is not None and value >= rule.at_least:
            hits.append(ItemRuleHit(rule.item, value, rule.message, rule.asks_for))
    return hits


# --- emergency end -------------------------------------------------------------------------


@dataclass(frozen=True)
class EmergencyEnd:
    ended_at: datetime
    reason: str
    transferred_to: str
    transferred_by: str
    notified: str


def emergency_end_errors(end: EmergencyEnd, started_at: datetime, now: datetime) -> dict[str, str]:
    """Field -> what an emergency end still needs. It never waits for a minimum duration."""
    errors = {}
    problem = time_error(end.ended_at, started_at, now)
    if problem:
        errors["ended_at"] = problem
    for name, value, message in (
        ("reason", end.reason, "Say why the session ends early."),
        (
            "transferred_to",
            end.transferred_to,
            "Say where the patient went (or 'not transferred').",
        ),
        ("transferred_by", end.transferred_by, "Say who took the patient there."),
        ("notified", end.notified, "Say who was notified (emergency services, supervisor…)."),
    ):
        if not value.strip():
            errors[name] = message
    return errors


# --- safety check-ins -----------------------------------------------------------------------

# The answers of a safety check-in that can raise concern, in the order a record lists them.
CHECK_IN_SIGNALS = {
    "serious_events": "serious event since last contact",
    "badly_disturbed_sleep": "badly disturbed sleep",
    "substance_use": "substance use",
    "not_back_to_normal": "not back to normal activities",
    "suicidal_thoughts": "current suicidal thoughts",
}
# What a protocol may call expected on a day after dosing. Never a serious event, substance
# use or suicidal thoughts: those alert the supervisor whatever the day.
MAY_BE_EXPECTED = frozenset({"badly_disturbed_sleep", "not_back_to_normal"})


@dataclass(frozen=True)
class CheckInVerdict:
    alert: tuple[str, ...]  # labels of the answers that alert the supervisor
    expected: tuple[str, ...]  # labels of the answers the protocol expects that day


def check_in_day(
    occurred_at: datetime, dosing_times: Iterable[datetime], scheduled_day: int | None
) -> int | None:
    """Which day after dosing a check-in falls on: the scheduled call's own day, else whole
    days since the latest dose before it (0: within 24 hours of the dose, the dosing day);
    None before any dose."""
    if scheduled_day is not None:
        return scheduled_day
    earlier = [at for at in dosing_times if at <= occurred_at]
    if not earlier:
        return None
    return (occurred_at - max(earlier)).days


def judge_check_in(
    signals: Iterable[str], day: int | None, expected_by_day: Mapping[int, frozenset[str]]
) -> CheckInVerdict:
    """Which positive answers alert the supervisor: all of them, except those the protocol
    expects on this day after dosing (on the dosing day itself, not yet back to normal
    activities is what the protocol asks for)."""
    expected_today = expected_by_day.get(day, frozenset()) if day is not None else frozenset()
    found = [s for s in CHECK_IN_SIGNALS if s in set(signals)]
    return CheckInVerdict(
        alert=tuple(CHECK_IN_SIGNALS[s] for s in found if s not in expected_today),
        expected=tuple(CHECK_IN_SIGNALS[s] for s in found if s in expected_today),
    )
