"""Practicum hours: what a trainee's log adds up to against the programme's requirement.

A programme (`psiflow/programmes/*.toml`, one chosen by `PRACTICUM_PROGRAMME`) states the
hours a training programme asks for overall and, where its rule says so, per group of kinds: a
minimum (Colorado: at least 30 hours of direct experience in administration sessions) or a
ceiling on what counts (Colorado: at most 10 hours of consultation). Hours count once a
supervisor has signed them off; what waits for sign-off is shown beside them as pending, never
added in. Plain values in, plain values out: no Flask, no database.
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# A clinic default, not a rule: one entry is one day's activity at most; longer spans (a
# retreat) are logged a day at a time, so each day is signed off on its own.
MAX_ENTRY_MINUTES = 24 * 60
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")


class PracticumKind(enum.StrEnum):
    PRACTICE_SESSION = "practice_session"  # facilitating a practice dosing session
    OBSERVED_SESSION = "observed_session"  # observing a real administration session
    SUPERVISION = "supervision"
    CONSULTATION = "consultation"

    @property
    def label(self) -> str:
        return {
            PracticumKind.PRACTICE_SESSION: "Practice session",
            PracticumKind.OBSERVED_SESSION: "Observed real session",
            PracticumKind.SUPERVISION: "Supervision",
            PracticumKind.CONSULTATION: "Consultation",
        }[self]

    @property
    def links_practice_sessions(self) -> bool:
        """Only a practice session names the dosing sessions it covers: they are the
        trainee's own practice records. An observed real session names none (see
        `entry_errors`)."""
        return self == PracticumKind.PRACTICE_SESSION


class ProgrammeError(ValueError):
    """A programme file that does not validate; the message names the file and the key."""


@dataclass(frozen=True)
class RequirementLine:
    """A part of the requirement over some kinds: at least `min_hours` of them, and/or at most
    `max_counted_hours` of them counted toward the total."""

    label: str
    kinds: frozenset[PracticumKind]
    min_hours: float | None
    max_counted_hours: float | None
    source: str

    @property
    def min_minutes(self) -> int | None:
        return None if self.min_hours is None else round(self.min_hours * 60)

    @property
    def max_counted_minutes(self) -> int | None:
        return None if self.max_counted_hours is None else round(self.max_counted_hours * 60)


@dataclass(frozen=True)
class Programme:
    id: str
    name: str
    total_hours: float
    source: str
    lines: tuple[RequirementLine, ...]

    @property
    def total_minutes(self) -> int:
        return round(self.total_hours * 60)


def default_programme_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "programmes"


def load_programmes(directory: Path) -> dict[str, Programme]:
    """Every `*.toml` programme in `directory`, keyed by id; a bad file stops the app."""
    programmes: dict[str, Programme] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            with path.open("rb") as f:
                raw = tomllib.load(f)
        except tomllib.TOMLDecodeError as error:
            raise ProgrammeError(f"{path.name}: not valid TOML ({error})") from error
        programme = parse_programme(raw, path.name)
        if programme.id in programmes:
            raise ProgrammeError(f"{path.name}: id {programme.id!r} is used by another file")
        programmes[programme.id] = programme
    return programmes


def parse_programme(raw: dict, where: str) -> Programme:
    _only(raw, {"id", "name", "total_hours", "source", "requirement"}, where, "")
    programme_id = _text(raw, "id", where, "")
    if not _ID.match(programme_id):
        raise ProgrammeError(f"{where}: id must be lowercase words joined by hyphens")
    total = _hours(raw, "total_hours", where, "", required=True)
    if total <= 0:
        raise ProgrammeError(f"{where}: total_hours must be more than 0")
    lines = []
    capped: set[PracticumKind] = set()
    for n, line in enumerate(raw.get("requirement", [])):
        at = f"requirement[{n}]."
        _only(line, {"label", "kinds", "min_hours", "max_counted_hours", "source"}, where, at)
        kinds_raw = line.get("kinds")
        if not isinstance(kinds_raw, list) or not kinds_raw:
            raise ProgrammeError(f"{where}: {at}kinds must be a non-empty list of kinds")
        try:
            kinds = frozenset(PracticumKind(k) for k in kinds_raw)
        except ValueError as error:
            known = ", ".join(k.value for k in PracticumKind)
            raise ProgrammeError(f"{where}: {at}kinds: {error} (known: {known})") from error
        low = _hours(line, "min_hours", where, at)
        high = _hours(line, "max_counted_hours", where, at)
        if low is None and high is None:
            raise ProgrammeError(f"{where}: {at} states neither min_hours nor max_counted_hours")
        if low is not None and high is not None and low > high:
            raise ProgrammeError(f"{where}: {at}min_hours is more than max_counted_hours")
        if high is not None:
            # A kind under two ceilings would count against both: ambiguous, so refused.
            if capped & kinds:
                raise ProgrammeError(f"{where}: {at}kinds are already under another ceiling")
            capped |= kinds
        lines.append(
            RequirementLine(
                label=_text(line, "label", where, at),
                kinds=kinds,
                min_hours=low,
                max_counted_hours=high,
                source=_text(line, "source", where, at),
            )
        )
    return Programme(
        id=programme_id,
        name=_text(raw, "name", where, ""),
        total_hours=total,
        source=_text(raw, "source", where, ""),
        lines=tuple(lines),
    )


def _only(table: dict, allowed: set[str], where: str, at: str) -> None:
    if not isinstance(table, dict):
        raise ProgrammeError(f"{where}: {at or 'the file'} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ProgrammeError(f"{where}: unknown key {at}{unknown[0]}")


def _text(table: dict, key: str, where: str, at: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ProgrammeError(f"{where}: {at}{key} is required (text)")
    return value.strip()


def _hours(table: dict, key: str, where: str, at: str, required: bool = False) -> float | None:
    value = table.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ProgrammeError(f"{where}: {at}{key} must be a number of hours, 0 or more")
    return float(value)


# --- entries --------------------------------------------------------------------------------


def entry_errors(
    *,
    kind: PracticumKind,
    occurred_on: date,
    duration_minutes: int,
    session_ids: Iterable[int],
    eligible_session_ids: Iterable[int],
    today: date,
) -> dict[str, str]:
    """What is wrong with an entry as typed, by field (empty: it may be saved).

    `eligible_session_ids` are the trainee's own practice dosing sessions: the only records an
    entry may name. An observed real session is recorded by date, protocol and duration alone,
    so a trainee's log never points at a real patient's record."""
    errors: dict[str, str] = {}
    if occurred_on > today:
        errors["occurred_on"] = "Hours are logged once they are done: the date is in the future."
    if not 0 < duration_minutes <= MAX_ENTRY_MINUTES:
        errors["duration_minutes"] = (
            f"Duration must be between 1 minute and {MAX_ENTRY_MINUTES // 60} hours; "
            "log a longer span one day at a time."
        )
    chosen = set(session_ids)
    if chosen and not kind.links_practice_sessions:
        errors["session_ids"] = (
            f"{kind.label} entries name no dosing session; only practice sessions do."
        )
    elif chosen - set(eligible_session_ids):
        errors["session_ids"] = "Only your own practice dosing sessions can be named."
    return errors


# --- totals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedEntry:
    """What an entry brings to the totals: its kind, minutes and whether it is signed off.
    Voided entries are left out by whoever gathers these."""

    kind: PracticumKind
    minutes: int
    signed_off: bool


@dataclass(frozen=True)
class KindTotal:
    kind: PracticumKind
    signed_minutes: int
    pending_minutes: int


@dataclass(frozen=True)
class LineProgress:
    line: RequirementLine
    signed_minutes: int  # signed-off minutes of the line's kinds, before any ceiling
    counted_minutes: int  # what counts toward the total after the ceiling
    pending_minutes: int

    @property
    def met(self) -> bool:
        low = self.line.min_minutes
        return low is None or self.signed_minutes >= low

    @property
    def remaining_minutes(self) -> int:
        low = self.line.min_minutes
        return 0 if low is None else max(0, low - self.signed_minutes)


@dataclass(frozen=True)
class PracticumTotals:
    programme: Programme
    by_kind: tuple[KindTotal, ...]
    lines: tuple[LineProgress, ...]
    counted_minutes: int  # signed off and within every ceiling
    signed_minutes: int  # signed off, before ceilings
    pending_minutes: int

    @property
    def required_minutes(self) -> int:
        return self.programme.total_minutes

    @property
    def remaining_minutes(self) -> int:
        return max(0, self.required_minutes - self.counted_minutes)

    @property
    def met(self) -> bool:
        return self.counted_minutes >= self.required_minutes and all(p.met for p in self.lines)

    @property
    def percent(self) -> int:
        """How far along the overall requirement, 0-100, for the progress bar."""
        return min(100, self.counted_minutes * 100 // self.required_minutes)


def practicum_totals(programme: Programme, entries: Iterable[LoggedEntry]) -> PracticumTotals:
    signed = dict.fromkeys(PracticumKind, 0)
    pending = dict.fromkeys(PracticumKind, 0)
    for entry in entries:
        (signed if entry.signed_off else pending)[entry.kind] += entry.minutes
    lines = []
    over_ceiling = 0
    for line in programme.lines:
        line_signed = sum(signed[k] for k in line.kinds)
        ceiling = line.max_counted_minutes
        counted = line_signed if ceiling is None else min(line_signed, ceiling)
        over_ceiling += line_signed - counted
        lines.append(
            LineProgress(
                line=line,
                signed_minutes=line_signed,
                counted_minutes=counted,
                pending_minutes=sum(pending[k] for k in line.kinds),
            )
        )
    total_signed = sum(signed.values())
    return PracticumTotals(
        programme=programme,
        by_kind=tuple(KindTotal(k, signed[k], pending[k]) for k in PracticumKind),
        lines=tuple(lines),
        counted_minutes=total_signed - over_ceiling,
        signed_minutes=total_signed,
        pending_minutes=sum(pending.values()),
    )


def hours_text(minutes: int) -> str:
    """Minutes as a trainee reads them on a log: "12 h 30 min", "45 min", "40 h"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest:02d} min"
