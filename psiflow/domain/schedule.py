"""What falls due after each dosing session, and when it becomes overdue.

Pure rules over the protocol's numbers and the times of what was done, so the clinician's
dashboard, the patient page and the team table agree on one answer. Each item has a window:
due from one moment, overdue from another; an item tied to a dosing session is *missed*
once the next dosing session has happened (a day-after experience scale given a month later
measures something else).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

# Clinic default: a follow-up measure is on time within a week of its due date.
FOLLOW_UP_WINDOW = timedelta(days=7)
# "The day after" a dosing session is the whole following day: from 24 to 48 hours after it.
AFTER_DOSING_DUE_FROM = timedelta(days=1)
AFTER_DOSING_WINDOW = timedelta(days=1)
# A scheduled safety call on day k is on time during that day.
CHECK_IN_WINDOW = timedelta(days=1)


class DueStatus(enum.StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    MISSED = "missed"

    @property
    def label(self) -> str:
        return {"upcoming": "Upcoming", "due": "Due", "overdue": "Overdue", "missed": "Missed"}[
            self.value
        ]


class DueKind(enum.StrEnum):
    FIRST_INTEGRATION = "first_integration"
    AFTER_DOSING_MEASURE = "after_dosing_measure"
    SAFETY_CHECK_IN = "safety_check_in"
    FOLLOW_UP_MEASURE = "follow_up_measure"


@dataclass(frozen=True)
class ScheduleNumbers:
    """The protocol values the schedule uses (a subset of a Protocol, testable alone)."""

    dosing_sessions: int
    integration_sessions_per_dosing: int
    first_integration_within_hours: int
    after_dosing_measures: tuple[str, ...] = ()
    safety_checkin_days: tuple[int, ...] = ()
    follow_up_weeks: tuple[int, ...] = ()
    follow_up_measures: tuple[str, ...] = ()


def schedule_numbers(protocol) -> ScheduleNumbers:
    return ScheduleNumbers(
        dosing_sessions=protocol.dosing_sessions,
        integration_sessions_per_dosing=protocol.integration_sessions_per_dosing,
        first_integration_within_hours=protocol.first_integration_within_hours,
        after_dosing_measures=tuple(protocol.after_dosing_measures),
        safety_checkin_days=tuple(protocol.safety_checkin_days),
        follow_up_weeks=tuple(protocol.follow_up_weeks),
        follow_up_measures=tuple(protocol.follow_up_measures),
    )


@dataclass(frozen=True)
class Done:
    """What a course has on record, as the schedule needs it."""

    dosing_times: tuple[datetime, ...] = ()  # oldest first
    integration_times: tuple[datetime, ...] = ()  # integration notes that were not voided
    # (instrument id, timepoint) given, at least at the schedule's own timepoints
    measures: frozenset[tuple[str, str]] = frozenset()
    check_ins: frozenset[tuple[int, int]] = frozenset()  # (dosing number, scheduled day) made


@dataclass(frozen=True)
class DueItem:
    kind: DueKind
    label: str
    due_from: datetime
    overdue_at: datetime
    dosing_number: int | None = None
    instrument_id: str | None = None
    timepoint: str | None = None
    day: int | None = None
    week: int | None = None  # a follow-up measure's week after the last dosing session
    superseded: bool = False  # a later dosing session has happened

    @property
    def key(self) -> str:
        """What the item is, unique within its course: "safety_check_in:1::7:" (kind, dosing
        number, instrument, day, week)."""
        parts = (self.kind.value, self.dosing_number, self.instrument_id, self.day, self.week)
        return ":".join("" if part is None else str(part) for part in parts)

    def status(self, now: datetime) -> DueStatus:
        if self.superseded:
            return DueStatus.MISSED
        if now < self.due_from:
            return DueStatus.UPCOMING
        if now < self.overdue_at:
            return DueStatus.DUE
        return DueStatus.OVERDUE


# The timepoints the schedule asks for begin with these: what `Done.measures` needs to hold.
AFTER_DOSING_PREFIX = "after_dosing_"
FOLLOW_UP_PREFIX = "follow_up_week_"


def after_dosing_timepoint(dosing_number: int) -> str:
    return f"{AFTER_DOSING_PREFIX}{dosing_number}"


def follow_up_timepoint(week: int) -> str:
    return f"{FOLLOW_UP_PREFIX}{week}"


def due_label(
    kind: DueKind,
    dosing_number: int | None = None,
    instrument_name: str | None = None,
    day: int | None = None,
    week: int | None = None,
) -> str:
    """What clinicians call an item: "MEQ-30 the day after dosing 1". One wording for the
    items worked out here and those read back from where they are stored."""
    if kind == DueKind.FIRST_INTEGRATION:
        return f"First integration session after dosing {dosing_number}"
    if kind == DueKind.AFTER_DOSING_MEASURE:
        return f"{instrument_name} the day after dosing {dosing_number}"
    if kind == DueKind.SAFETY_CHECK_IN:
        return f"Safety check-in call, day {day} after dosing {dosing_number}"
    return f"{instrument_name} at follow-up week {week}"


def outstanding(
    numbers: ScheduleNumbers, done: Done, names: dict[str, str] | None = None
) -> list[DueItem]:
    """Every scheduled item not yet done, earliest deadline first.

    `names` maps instrument ids to what clinicians call them (ids are shown otherwise).
    """
    names = names or {}
    items: list[DueItem] = []
    doses = done.dosing_times
    for i, dosed_at in enumerate(doses):
        number = i + 1
        next_dose = doses[i + 1] if i + 1 < len(doses) else None
        superseded = next_dose is not None
        if numbers.integration_sessions_per_dosing > 0 and not any(
            dosed_at <= t and (next_dose is None or t < next_dose) for t in done.integration_times
        ):
            items.append(
                DueItem(
                    DueKind.FIRST_INTEGRATION,
                    due_label(DueKind.FIRST_INTEGRATION, number),
                    dosed_at,
                    dosed_at + timedelta(hours=numbers.first_integration_within_hours),
                    dosing_number=number,
                    superseded=superseded,
                )
            )
        timepoint = after_dosing_timepoint(number)
        for instrument_id in numbers.after_dosing_measures:
            if (instrument_id, timepoint) in done.measures:
                continue
            due = dosed_at + AFTER_DOSING_DUE_FROM
            items.append(
                DueItem(
                    DueKind.AFTER_DOSING_MEASURE,
                    due_label(
                        DueKind.AFTER_DOSING_MEASURE,
                        number,
                        names.get(instrument_id, instrument_id),
                    ),
                    due,
                    due + AFTER_DOSING_WINDOW,
                    dosing_number=number,
                    instrument_id=instrument_id,
                    timepoint=timepoint,
                    superseded=superseded,
                )
            )
        for day in numbers.safety_checkin_days:
            if (number, day) in done.check_ins:
                continue
            due = dosed_at + timedelta(days=day)
            items.append(
                DueItem(
                    DueKind.SAFETY_CHECK_IN,
                    due_label(DueKind.SAFETY_CHECK_IN, number, day=day),
                    due,
                    due + CHECK_IN_WINDOW,
                    dosing_number=number,
                    day=day,
                    superseded=superseded,
                )
            )
    if doses and len(doses) >= numbers.dosing_sessions:
        # Follow-up weeks count from the last dosing session of the course.
        last = doses[-1]
        for week in numbers.follow_up_weeks:
            timepoint = follow_up_timepoint(week)
            for instrument_id in numbers.follow_up_measures:
                if (instrument_id, timepoint) in done.measures:
                    continue
                due = last + timedelta(weeks=week)
                items.append(
                    DueItem(
                        DueKind.FOLLOW_UP_MEASURE,
                        due_label(
                            DueKind.FOLLOW_UP_MEASURE,
                            instrument_name=names.get(instrument_id, instrument_id),
                            week=week,
                        ),
                        due,
                        due + FOLLOW_UP_WINDOW,
                        instrument_id=instrument_id,
                        timepoint=timepoint,
                        week=week,
                    )
                )
    return sorted(items, key=lambda item: (item.overdue_at, item.label))


def attention_from(numbers: ScheduleNumbers, done: Done) -> datetime | None:
    """From when the course has something due or overdue: the earliest start of an item still
    outstanding and not superseded, or None when nothing more falls due on what is on record.

    It depends on the record alone, not on the clock, so it can be stored and only changes
    when the record does: `needing_attention(outstanding(numbers, done), now)` is non-empty
    exactly when this is not None and `now` has reached it.
    """
    return min(
        (item.due_from for item in outstanding(numbers, done) if not item.superseded),
        default=None,
    )


def needing_attention(items: list[DueItem], now: datetime) -> list[tuple[DueItem, DueStatus]]:
    """The items a dashboard shows: due now or overdue, overdue first."""
    found = [(item, item.status(now)) for item in items]
    found = [(item, s) for item, s in found if s in (DueStatus.DUE, DueStatus.OVERDUE)]
    return sorted(found, key=lambda pair: (pair[1] != DueStatus.OVERDUE, pair[0].overdue_at))


def check_in_due_now(numbers: ScheduleNumbers, done: Done, now: datetime) -> tuple[int, int] | None:
    """The (dosing number, day) of the scheduled call a check-in made now most likely is."""
    calls = [
        item
        for item in outstanding(numbers, done)
        if item.kind == DueKind.SAFETY_CHECK_IN and not item.superseded
    ]
    started = [item for item in calls if item.due_from <= now]
    pick = started[-1] if started else (calls[0] if calls else None)
    return (pick.dosing_number, pick.day) if pick else None
