"""Vital signs in the session room: plausible entry, out-of-range flags, and what is due next.

Two kinds of bound, kept apart on purpose. The protocol's limits (`VitalLimits`) say when a
real reading needs a clinician's attention: it is saved and flagged. The plausibility bounds
below say when a number cannot be a reading of a living, conscious patient at all (a systolic
of 20 or 400, a pulse of 0, SpO2 above 100 %): that is a typing or device error, refused at
entry so it never reaches the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Outside these no reading is believable in an awake outpatient; chosen wide so that a true
# emergency value (a systolic of 50 or 250) is always accepted and flagged, never refused.
PLAUSIBLE = {
    "systolic": (50, 300),
    "diastolic": (20, 200),
    "heart_rate": (20, 250),
    "temperature_c": (30.0, 43.0),
    "spo2": (50, 100),
}

LABELS = {
    "systolic": "Systolic blood pressure",
    "diastolic": "Diastolic blood pressure",
    "heart_rate": "Heart rate",
    "temperature_c": "Temperature",
    "spo2": "SpO2",
}
UNITS = {
    "systolic": "mmHg",
    "diastolic": "mmHg",
    "heart_rate": "bpm",
    "temperature_c": "°C",
    "spo2": "%",
}

# A reading taken this long after its scheduled time is overdue: the clinic's tolerance for a
# busy room (clinic default), short enough that a missed reading shows within one cycle.
OVERDUE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Reading:
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    temperature_c: float | None = None
    spo2: int | None = None

    def values(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in PLAUSIBLE if getattr(self, k) is not None}


@dataclass(frozen=True)
class Flag:
    """One value outside the protocol's limits."""

    field: str
    value: float
    limit: float
    high: bool

    @property
    def message(self) -> str:
        word = "above" if self.high else "below"
        unit = UNITS[self.field]
        value, limit = f"{self.value:g} {unit}", f"{self.limit:g} {unit}"
        return f"{LABELS[self.field]} {value} is {word} the limit of {limit}"


def plausibility_errors(reading: Reading) -> dict[str, str]:
    """Field -> why the value cannot be a real reading (empty: every value is believable)."""
    errors: dict[str, str] = {}
    values = reading.values()
    if not values:
        errors["systolic"] = "Enter at least one vital sign."
        return errors
    for name, value in values.items():
        low, high = PLAUSIBLE[name]
        if not low <= value <= high:
            errors[name] = (
                f"{value:g} {UNITS[name]} is not a possible reading "
                f"(expected {low:g} to {high:g}); check the device and re-enter."
            )
    if (reading.systolic is None) != (reading.diastolic is None):
        missing = "diastolic" if reading.diastolic is None else "systolic"
        errors.setdefault(missing, "Blood pressure needs both systolic and diastolic values.")
    elif reading.systolic is not None and "systolic" not in errors and "diastolic" not in errors:
        if reading.diastolic >= reading.systolic:
            errors["diastolic"] = "The diastolic value must be below the systolic value."
    return errors


def out_of_range(reading: Reading, limits) -> list[Flag]:
    """The values a clinician must look at now, by the protocol's `VitalLimits`."""
    bounds = {
        "systolic": (limits.systolic_min, limits.systolic_max),
        "diastolic": (limits.diastolic_min, limits.diastolic_max),
        "heart_rate": (limits.heart_rate_min, limits.heart_rate_max),
        "temperature_c": (limits.temperature_min_c, limits.temperature_max_c),
        "spo2": (limits.spo2_min, None),
    }
    flags = []
    for name, value in reading.values().items():
        low, high = bounds[name]
        if low is not None and value < low:
            flags.append(Flag(name, value, low, high=False))
        elif high is not None and value > high:
            flags.append(Flag(name, value, high, high=True))
    return flags


# --- the schedule ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledReading:
    minute: int  # after the dose; 0 = the baseline, taken before dosing
    due_at: datetime | None  # None for the baseline before the dose is given
    taken_at: datetime | None
    status: str  # "done" | "missed" | "overdue" | "due" | "upcoming"

    @property
    def label(self) -> str:
        return "Baseline (before the dose)" if self.minute == 0 else f"{self.minute} min after dose"

    @property
    def planned_offset(self) -> str:
        """When it falls due while the dose is not yet given: its place in the schedule."""
        return "Before the dose" if self.minute == 0 else f"+{self.minute} min after the dose"


def schedule(
    minutes: Iterable[int], dose_at: datetime | None, taken: Iterable[datetime], now: datetime
) -> list[ScheduledReading]:
    """Each scheduled reading with the reading that covers it, if any.

    A reading covers the scheduled time nearest to it: its window runs from halfway after the
    previous scheduled time to halfway before the next, so one reading never counts twice and a
    reading a little early or late still counts. The baseline (minute 0) is covered by any
    reading up to the dose, or, with no dose yet, by any reading at all.
    """
    minutes = sorted(minutes)
    times = sorted(taken)
    result: list[ScheduledReading] = []
    if dose_at is None:
        for minute in minutes:
            if minute == 0:
                first = times[0] if times else None
                result.append(ScheduledReading(0, None, first, "done" if first else "due"))
            else:
                result.append(ScheduledReading(minute, None, None, "upcoming"))
        return result
    due = [dose_at + timedelta(minutes=m) for m in minutes]
    for i, minute in enumerate(minutes):
        start = None if i == 0 else due[i] - (due[i] - due[i - 1]) / 2
        end = None if i == len(due) - 1 else due[i] + (due[i + 1] - due[i]) / 2
        if minute == 0:
            start, end = None, dose_at + timedelta(seconds=1)  # a baseline precedes the dose
        covering = next(
            (t for t in times if (start is None or t >= start) and (end is None or t < end)), None
        )
        if covering is not None:
            status = "done"
        elif minute == 0:
            status = "missed"  # the dose was given without a baseline
        elif end is not None and now >= end:
            status = "missed"
        elif now > due[i] + OVERDUE_AFTER:
            status = "overdue"
        elif start is None or now >= start:
            status = "due"
        else:
            status = "upcoming"
        result.append(ScheduledReading(minute, due[i], covering, status))
    return result


def next_due(points: list[ScheduledReading]) -> ScheduledReading | None:
    """The reading to take next: the first one neither taken nor past its window."""
    return next((p for p in points if p.status in ("overdue", "due", "upcoming")), None)
