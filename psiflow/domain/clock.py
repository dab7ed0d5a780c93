"""The clock a dosing session reads: the wall clock, or a practice session's training clock.

Every rule that reads time for a session (vitals due, minimum duration, discharge, what falls
due after dosing) is handed `clock.now(wall)`: a real session's clock is the wall clock, so the
same code path serves both. A training clock runs from an anchor: at wall time `anchor_wall`
the session's time was `anchor_session`, and it runs `speed` times as fast since (a six-hour
session at x12 takes thirty minutes). A supervisor steps it ("jump to 120 minutes") by moving
the anchor forward; it never runs backwards, since entries already carry their times.

A practice session starts in the past (as long ago as the scenario needs) and its clock
catches up with the wall clock, never passing it: every entry stays in the past, as a real
one is, so the record's time checks hold unchanged, and what the trainee does after the
session (the integration note, measures) falls after it on the wall clock, as it should.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

# x1 (real time) up to x60 (an hour a minute): faster than that the live page cannot keep up.
SPEEDS = (1, 2, 6, 12, 30, 60)


class ClockRefused(ValueError):
    """A change the training clock cannot make (running backwards, an unknown speed)."""


@dataclass(frozen=True)
class SessionClock:
    """`anchor_wall` None: the wall clock itself (every real session)."""

    speed: int = 1
    anchor_wall: datetime | None = None
    anchor_session: datetime | None = None

    @property
    def is_training(self) -> bool:
        return self.anchor_wall is not None

    def now(self, wall: datetime) -> datetime:
        if self.anchor_wall is None or self.anchor_session is None:
            return wall
        return min(wall, self.anchor_session + (wall - self.anchor_wall) * self.speed)

    def caught_up(self, wall: datetime) -> bool:
        """Whether it has reached the wall clock (from then on it runs in real time)."""
        return self.now(wall) >= wall

    def jumped_to(self, session_time: datetime, wall: datetime) -> SessionClock:
        """The clock after a supervisor moves it forward to `session_time`."""
        if not self.is_training:
            raise ClockRefused("Only a practice session's clock can be moved.")
        if session_time < self.now(wall):
            raise ClockRefused("The training clock only moves forward: entries carry their times.")
        if session_time > wall:
            raise ClockRefused(
                "The training clock cannot pass the present: the scenario has not got that far."
            )
        return replace(self, anchor_wall=wall, anchor_session=session_time)

    def at_speed(self, speed: int, wall: datetime) -> SessionClock:
        """The clock running at `speed` from now on (what has passed stays as it ran)."""
        if not self.is_training:
            raise ClockRefused("Only a practice session's clock can change speed.")
        if speed not in SPEEDS:
            raise ClockRefused(f"Choose a speed among {', '.join(f'x{s}' for s in SPEEDS)}.")
        return SessionClock(speed=speed, anchor_wall=wall, anchor_session=self.now(wall))


WALL_CLOCK = SessionClock()


def training_clock(starts_at: datetime, speed: int, wall: datetime) -> SessionClock:
    """A training clock that reads `starts_at` (in the past) at wall time `wall` and runs at
    `speed` until it reaches the wall clock."""
    if speed not in SPEEDS:
        raise ClockRefused(f"Choose a speed among {', '.join(f'x{s}' for s in SPEEDS)}.")
    if starts_at > wall:
        raise ClockRefused("A training clock starts in the past, never ahead of the wall clock.")
    return SessionClock(speed=speed, anchor_wall=wall, anchor_session=starts_at)


def minutes_after(start: datetime, minutes: float) -> datetime:
    return start + timedelta(minutes=minutes)


def minute_of(start: datetime, at: datetime) -> float:
    """How many minutes after `start` `at` is (negative before it)."""
    return (at - start).total_seconds() / 60
