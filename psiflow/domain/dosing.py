"""The dosing-session rules: doses within the protocol, session length, discharge and signing.

Plain functions over the protocol and plain values, so every rule is tested without an app.
The models gather the values; the views only show what these functions return.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

# Two tablets' clocks and a facilitator's typing differ a little: a time this far ahead of the
# server's clock is still "now"; anything later is a time that has not happened yet.
CLOCK_TOLERANCE = timedelta(minutes=2)


class DoseKind(enum.StrEnum):
    INITIAL = "initial"
    SUPPLEMENTAL = "supplemental"

    @property
    def label(self) -> str:
        return {"initial": "Initial dose", "supplemental": "Supplemental dose"}[self.value]


class EventKind(enum.StrEnum):
    ONSET = "onset"
    PEAK = "peak"
    MUSIC_CHANGE = "music_change"
    BREAK = "break"
    NOTE = "note"
    SUPERVISOR_CALL = "supervisor_call"  # the supervisor was called to the room

    @property
    def label(self) -> str:
        return {
            "onset": "Onset",
            "peak": "Peak",
            "music_change": "Music change",
            "break": "Break",
            "note": "Note",
            "supervisor_call": "Supervisor called",
        }[self.value]


class Relatedness(enum.StrEnum):
    """Causality to the study medicine, in the categories trial sponsors report."""

    NOT_RELATED = "not_related"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Outcome(enum.StrEnum):
    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return {
            "recovered": "Recovered / resolved",
            "recovering": "Recovering / resolving",
            "not_recovered": "Not recovered / not resolved",
            "recovered_with_sequelae": "Recovered with sequelae",
            "fatal": "Fatal",
            "unknown": "Unknown",
        }[self.value]


# CTCAE v5.0 grades: the scale FDA-regulated trials report adverse-event severity on.
SEVERITY_GRADES = {
    1: "Grade 1 – mild",
    2: "Grade 2 – moderate",
    3: "Grade 3 – severe or medically significant",
    4: "Grade 4 – life-threatening",
    5: "Grade 5 – death related to the event",
}


@dataclass(frozen=True)
class DoseGiven:
    kind: DoseKind
    amount: float
    given_at: datetime


def time_error(at: datetime, started_at: datetime, now: datetime) -> str | None:
    """Why `at` cannot be the time of something recorded in this session (None: it can)."""
    if at < started_at:
        return "This is before the session started; check the time."
    if at > now + CLOCK_TOLERANCE:
        return "This time is in the future; check the time."
    return None


def dose_errors(
    rule, kind: DoseKind, amount: float, given_at: datetime, doses: Iterable[DoseGiven]
) -> dict[str, str]:
    """Field -> why this dose cannot be recorded under the protocol's `DoseRule`."""
    doses = list(doses)
    initial = next((d for d in doses if d.kind == DoseKind.INITIAL), None)
    if kind == DoseKind.INITIAL:
        if initial is not None:
            return {"kind": "The initial dose is already recorded."}
        if not rule.min <= amount <= rule.max:
            return {"amount": _range_message("The dose", rule.min, rule.max, rule.unit)}
        return {}
    if not rule.supplemental_allowed:
        return {"kind": "This protocol gives no supplemental dose."}
    if initial is None:
        return {"kind": "Record the initial dose first."}
    if any(d.kind == DoseKind.SUPPLEMENTAL for d in doses):
        return {"kind": "The supplemental dose is already recorded."}
    errors = {}
    if not rule.supplemental_min <= amount <= rule.supplemental_max:
        errors["amount"] = _range_message(
            "The supplemental dose", rule.supplemental_min, rule.supplemental_max, rule.unit
        )
    earliest, latest = rule.supplemental_after_minutes
    after = (given_at - initial.given_at) / timedelta(minutes=1)
    if not earliest <= after <= latest:
        errors["given_at"] = (
            f"The protocol gives the supplemental dose {earliest}-{latest} minutes after the "
            f"initial dose; this time is {after:.0f} minutes after it."
        )
    return errors


def _range_message(what: str, low: float, high: float, unit: str) -> str:
    if low == high:
        return f"{what} in this protocol is {low:g} {unit}."
    return f"{what} must be between {low:g} and {high:g} {unit} in this protocol."


def total_dose(doses: Iterable[DoseGiven]) -> float:
    return sum(d.amount for d in doses)


def first_dose_at(doses: Iterable[DoseGiven]) -> datetime | None:
    times = [d.given_at for d in doses]
    return min(times) if times else None


def minimum_minutes(protocol, doses: Iterable[DoseGiven]) -> int:
    """The shortest session for the doses given, supplemental included (OAR 333-333-5250)."""
    return protocol.min_session_minutes_for_dose(total_dose(doses))


def earliest_discharge(protocol, doses: Iterable[DoseGiven]) -> datetime | None:
    doses = list(doses)
    start = first_dose_at(doses)
    if start is None:
        return None
    return start + timedelta(minutes=minimum_minutes(protocol, doses))


def discharge_errors(
    protocol,
    doses: Iterable[DoseGiven],
    *,
    discharged_at: datetime,
    criteria_met: Iterable[str],
    accompanied_by: str,
    as_planned: bool,
    deviation: str,
) -> dict[str, str]:
    """Field -> why the patient may not be discharged as entered."""
    doses = list(doses)
    errors = {}
    earliest = earliest_discharge(protocol, doses)
    if earliest is None:
        errors["discharged_at"] = "No dose is recorded: record the dose before discharge."
    elif discharged_at < earliest:
        short = math.ceil((earliest - discharged_at) / timedelta(minutes=1))
        errors["discharged_at"] = (
            f"The minimum session for {total_dose(doses):g} {protocol.dose.unit} is "
            f"{minimum_minutes(protocol, doses)} minutes from the first dose; "
            f"{short} more minute{'s' if short != 1 else ''} to go."
        )
    unmet = [c.label for c in protocol.discharge_criteria if c.id not in set(criteria_met)]
    if unmet:
        errors["criteria"] = "Not yet confirmed: " + "; ".join(unmet)
    if not accompanied_by.strip():
        errors["accompanied_by"] = "Say who accompanies the patient home."
    if not as_planned and not deviation.strip():
        errors["deviation"] = "Describe how leaving differs from the agreed transport plan."
    return errors


def signing_gaps(
    protocol,
    *,
    done_items: Iterable[str],
    answered_questions: Iterable[str],
    doses: Iterable[DoseGiven],
    discharged_at: datetime | None,
    facilitators_present: int,
    unacknowledged_flags: int,
    ended_early: bool = False,
) -> list[str]:
    """What the session record still needs before its author may sign it.

    A session ended as an emergency is signed with the transfer in it: what only a completed
    session has (the checklist after it, discharge, the minimum time) is not asked.
    """
    doses = list(doses)
    done, answered = set(done_items), set(answered_questions)
    gaps = []
    for item in protocol.checklist:
        if ended_early and item.when == "after":
            continue
        if item.required and item.id not in done:
            gaps.append(f"Checklist ({item.when}): {item.label}")
    for question in protocol.session_questions:
        if ended_early and question.when == "after":
            continue
        if question.id not in answered:
            gaps.append(f"Answer: {question.label}")
    if facilitators_present < protocol.facilitators_required:
        gaps.append(f"Facilitators present: the protocol needs {protocol.facilitators_required}")
    if not ended_early and not any(d.kind == DoseKind.INITIAL for d in doses):
        # (An emergency may come before any dose: the record then says none was given.)
        gaps.append("The dose given (substance, amount, lot number, time)")
    earliest = earliest_discharge(protocol, doses)
    if ended_early:
        pass  # the emergency end stands in for discharge and the minimum time
    elif discharged_at is None:
        gaps.append("Discharge (criteria confirmed, time, who accompanies the patient)")
    elif earliest is not None and discharged_at < earliest:
        gaps.append(f"The minimum monitoring time of {minimum_minutes(protocol, doses)} minutes")
    if unacknowledged_flags:
        gaps.append(f"Acknowledge {unacknowledged_flags} out-of-range vital sign reading(s)")
    return gaps


# --- who signs ----------------------------------------------------------------------------


def needs_second_signature(facilitators_required: int, facilitators_present: int) -> bool:
    """Both facilitators sign whenever two were in the room, not only where the protocol runs
    a pair: each confirms what they witnessed (a record is signed once both have)."""
    return facilitators_required >= 2 or facilitators_present >= 2


def second_signature_due(decided: bool | None, facilitators_required: int) -> bool:
    """Whether a signed record needs its second facilitator's signature: as decided when its
    author signed, or (`decided` None: signed before that rule) where the protocol runs a pair."""
    if decided is not None:
        return decided
    return facilitators_required >= 2


# --- timeline events ----------------------------------------------------------------------


def event_errors(kind: EventKind, note: str, playlist: str, track: str) -> dict[str, str]:
    """Field -> why this timeline event cannot be recorded as entered."""
    if kind == EventKind.NOTE and not note.strip():
        return {"note": "A note needs text."}
    if kind == EventKind.MUSIC_CHANGE and not (playlist.strip() or track.strip() or note.strip()):
        # The record says what was played, so the music can be told alongside the session.
        return {"playlist": "Say what is playing now: a playlist, a track or a note."}
    if len(playlist) > 200:
        return {"playlist": "A playlist name is at most 200 characters."}
    if len(track) > 300:
        return {"track": "A track is at most 300 characters."}
    return {}


def event_detail(playlist: str, track: str, note: str) -> str:
    """One line of what an event carries, e.g. "Playlist: Johns Hopkins · Track: Lux Aeterna"."""
    parts = []
    if playlist:
        parts.append(f"Playlist: {playlist}")
    if track:
        parts.append(f"Track: {track}")
    if note:
        parts.append(note)
    return " · ".join(parts)


# --- the earliest discharge, and the rule that sets it ------------------------------------


@dataclass(frozen=True)
class DischargeRule:
    """When the patient may leave at the soonest, and why.

    Before any dose there is no time to state, only the rule: `minutes` (or a range when the
    protocol's dose is not fixed) after the dose once given. `by_dose` says whether the
    minimum comes from the protocol's table by total dose (e.g. OAR 333-333-5250) rather
    than its floor for every session.
    """

    minutes: int  # after the first dose (before any dose: for the smallest planned dose)
    most_minutes: int  # the same for the largest planned dose; equal to `minutes` once given
    by_dose: bool
    total_dose: float | None  # None before any dose
    first_dose_at: datetime | None
    earliest: datetime | None
    # What a supplemental dose still allowed would change: (low, high) amounts and the
    # minutes and earliest time with the largest of them; None when none can be given.
    supplemental: SupplementalEffect | None = None

    @property
    def varies(self) -> bool:
        return self.most_minutes != self.minutes


@dataclass(frozen=True)
class SupplementalEffect:
    low: float
    high: float
    minutes: int  # the minimum with the largest supplemental dose
    earliest: datetime | None

    def changes(self, current_minutes: int) -> bool:
        return self.minutes != current_minutes


def _by_dose(protocol, total: float) -> bool:
    return protocol.min_session_minutes_for_dose(total) > protocol.min_monitoring_minutes


def discharge_rule(protocol, doses: Iterable[DoseGiven]) -> DischargeRule:
    """The earliest discharge for the doses given so far, or the rule for the planned dose
    before any is given: never a time worked out from a dose that has not happened."""
    doses = list(doses)
    rule = protocol.dose
    start = first_dose_at(doses)
    if start is None:
        low = protocol.min_session_minutes_for_dose(rule.min)
        high = protocol.min_session_minutes_for_dose(rule.max)
        return DischargeRule(
            minutes=min(low, high),
            most_minutes=max(low, high),
            by_dose=_by_dose(protocol, rule.max),
            total_dose=None,
            first_dose_at=None,
            earliest=None,
        )
    total = total_dose(doses)
    minutes = minimum_minutes(protocol, doses)
    effect = None
    supplemented = any(d.kind == DoseKind.SUPPLEMENTAL for d in doses)
    if rule.supplemental_allowed and not supplemented:
        with_most = protocol.min_session_minutes_for_dose(total + rule.supplemental_max)
        effect = SupplementalEffect(
            low=rule.supplemental_min,
            high=rule.supplemental_max,
            minutes=with_most,
            earliest=start + timedelta(minutes=with_most),
        )
    return DischargeRule(
        minutes=minutes,
        most_minutes=minutes,
        by_dose=_by_dose(protocol, total),
        total_dose=total,
        first_dose_at=start,
        earliest=start + timedelta(minutes=minutes),
        supplemental=effect,
    )


def pickup_problem(pickup_at: datetime | None, earliest: datetime | None) -> str | None:
    """Why an agreed pickup time does not work: the patient cannot leave before the earliest
    discharge, so a pickup before it leaves them waiting without a ride, or leaving early."""
    if pickup_at is None or earliest is None or pickup_at >= earliest:
        return None
    short = math.ceil((earliest - pickup_at) / timedelta(minutes=1))
    return (
        f"The pickup is {short} minute{'s' if short != 1 else ''} before the earliest "
        "discharge: arrange a later pickup."
    )


def pickup_on_day(pickup: time, day_start: datetime, zone) -> datetime:
    """The agreed pickup time of day (clinic zone) on the day a dose is given, or the next
    day when that time of day comes before the dose (an overnight stay)."""
    local = day_start.astimezone(zone)
    candidate = datetime.combine(local.date(), pickup, tzinfo=zone)
    if candidate < local:
        candidate += timedelta(days=1)
    return candidate


@dataclass(frozen=True)
class PickupCheck:
    """The agreed pickup against the earliest discharge (`problem` None: it works)."""

    pickup_at: datetime
    earliest: datetime
    dose_at: datetime
    dose_given: bool  # False: worked out from when the dose is planned (or could be given)
    problem: str | None


def check_pickup(
    protocol, doses: Iterable[DoseGiven], pickup: time | None, *, dose_expected_at, zone
) -> PickupCheck | None:
    """The pickup time of day against the earliest discharge: from the dose once given, else
    from `dose_expected_at` (the planned time, or now on the day) with the longest minimum
    the planned dose may need. None when there is nothing to check against."""
    if pickup is None:
        return None
    rule = discharge_rule(protocol, doses)
    if rule.earliest is not None:
        dose_at, earliest, given = rule.first_dose_at, rule.earliest, True
    elif dose_expected_at is not None:
        dose_at, given = dose_expected_at, False
        earliest = dose_at + timedelta(minutes=rule.most_minutes)
    else:
        return None
    pickup_at = pickup_on_day(pickup, dose_at, zone)
    return PickupCheck(pickup_at, earliest, dose_at, given, pickup_problem(pickup_at, earliest))
