"""The clock a dosing session reads: the wall clock, or a practice session's training clock.

Every rule that reads time for a session (vitals due, minimum duration, discharge, what falls
due after dosing) is handed `clock.now(wall)`: a real session's clock is the wall clock, so the
same code path serves both. A training clock runs from an anchor: at wall time `anchor_wall`
the session's time was `anchor_session`, and it runs `speed` times as fast since (a six-hour
session at x12 takes thirty minutes). A supervisor steps it ("jump to 120 minutes") by moving
the anchor forward; it never runs backwards, since entries already carry their times.
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
        return self.anchor_session + (wall - self.anchor_wall) * self.speed

    def jumped_to(self, session_time: datetime, wall: datetime) -> SessionClock:
        """The clock after a supervisor moves it forward to `session_time`."""
        if not self.is_training:
            raise ClockRefused("Only a practice session's clock can be moved.")
        if session_time < self.now(wall):
            raise ClockRefused("The training clock only moves forward: entries carry their times.")
        return replace(self, anchor_wall=wall, anchor_session=session_time)

    def at_speed(self, speed: int, wall: datetime) -> SessionClock:
        """The clock running at `speed` from now on (what has passed stays as it ran)."""
        if not self.is_training:
            raise ClockRefused("Only a practice session's clock can change speed.")
        if speed not in SPEEDS:
            raise ClockRefused(f"Choose a speed among {', '.join(f'x{s}' for s in SPEEDS)}.")
        return SessionClock(speed=speed, anchor_wall=wall, anchor_session=self.now(wall))


WALL_CLOCK = SessionClock()


def training_clock(started_at: datetime, speed: int) -> SessionClock:
    """A training clock that reads `started_at` at wall time `started_at` and runs at `speed`."""
    if speed not in SPEEDS:
        raise ClockRefused(f"Choose a speed among {', '.join(f'x{s}' for s in SPEEDS)}.")
    return SessionClock(speed=speed, anchor_wall=started_at, anchor_session=started_at)


def minutes_after(start: datetime, minutes: float) -> datetime:
    return start + timedelta(minutes=minutes)


def minute_of(start: datetime, at: datetime) -> float:
    """How many minutes after `start` `at` is (negative before it)."""
    return (at - start).total_seconds() / 60
