"""Change from baseline, response and remission for a course, by each instrument's own rule.

Works on anything with `instrument_id`, `timepoint`, `occurred_at` and `total` (measure
responses, or plain tuples in tests). The baseline is the course's earliest baseline
administration; the result compares it with the latest administration after it. Each course
stores the same two scores, picked in SQL (psiflow.models.stored.outcomes), so the team table
need not read every measure of a team; its tests hold both to one answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from psiflow.domain.instruments import (
    Instrument,
    change_from_baseline,
    is_remission,
    is_response,
)
from psiflow.domain.schedule import DueItem, DueKind, DueStatus

BASELINE = "baseline"
# The outcome instruments a course's trajectory and the team table follow, in display order.
OUTCOME_INSTRUMENTS = ("phq9", "gad7", "pcl5", "who5", "madrs")


def timepoint_label(timepoint: str) -> str:
    """A stored timepoint as a clinician says it: "follow-up week 4", "after dosing 1"."""
    if timepoint == BASELINE:
        return "baseline"
    kind, _, n = timepoint.rpartition("_")
    if kind == "after_dosing":
        return f"after dosing {n}"
    if kind == "follow_up_week":
        return f"follow-up week {n}"
    return timepoint.replace("_", " ")


@dataclass(frozen=True)
class Outcome:
    instrument_id: str
    baseline: float
    latest: float
    latest_timepoint: str
    latest_at: datetime
    change_percent: float | None  # signed; None when the baseline is 0
    response: bool | None  # None when the instrument defines no response rule
    remission: bool | None
    response_label: str = "response"  # the instrument's name for its response rule

    def scores_text(self) -> str:
        """Baseline to latest in whole points, rounded half to even as the table always was."""
        return f"{int(round(self.baseline, 0))} → {int(round(self.latest, 0))}"

    def status_label(self) -> str:
        """Only what the instrument defines: no "remission" where it has no remission rule."""
        if self.remission:
            return "remission"
        if self.response:
            return self.response_label
        return f"no {self.response_label}" if self.response is False else ""

    def status_kind(self) -> str:
        """The badge's shade: remission, response or no-response, whatever the words."""
        if self.remission:
            return "remission"
        if self.response:
            return "response"
        return "no-response" if self.response is False else ""


def is_outcome_instrument(instrument: Instrument) -> bool:
    """Instruments with a response or remission rule; risk screens and experience scales have
    none and are charted elsewhere."""
    return instrument.scoring == "sum" and any(
        rule is not None
        for rule in (
            instrument.response_percent,
            instrument.response_points,
            instrument.remission_below,
            instrument.remission_above,
        )
    )


def _verdicts(
    instrument: Instrument, baseline_total: float, latest_total: float
) -> tuple[float | None, bool | None, bool | None]:
    """Change from baseline, response and remission: all that the two totals decide."""
    change = None
    if baseline_total != 0:
        change = change_from_baseline(instrument, baseline_total, latest_total)
    return (
        change,
        is_response(instrument, baseline_total, latest_total),
        is_remission(instrument, latest_total),
    )


def outcome(
    instrument: Instrument,
    baseline_total: float,
    latest_total: float,
    latest_timepoint: str,
    latest_at: datetime,
) -> Outcome:
    verdicts = _verdicts(instrument, baseline_total, latest_total)
    return _outcome(
        instrument.id,
        baseline_total,
        latest_total,
        latest_timepoint,
        latest_at,
        verdicts,
        instrument.response_label,
    )


def _outcome(
    instrument_id, baseline, latest, latest_timepoint, latest_at, verdicts, response_label
) -> Outcome:
    change, response, remission = verdicts
    return Outcome(
        response_label=response_label,
        instrument_id=instrument_id,
        baseline=baseline,
        latest=latest,
        latest_timepoint=latest_timepoint,
        latest_at=latest_at,
        change_percent=change,
        response=response,
        remission=remission,
    )


class OutcomeJudge:
    """`outcome` for a team's many courses. Totals are small whole numbers, so a team's
    hundreds of outcomes repeat a few dozen (instrument, baseline, latest) triples: each is
    judged once."""

    def __init__(self, instruments: Mapping[str, Instrument]):
        self._instruments = instruments
        self._judged: dict[tuple[str, float, float], tuple] = {}

    def outcome(
        self,
        instrument_id: str,
        baseline_total: float,
        latest_total: float,
        latest_timepoint: str,
        latest_at: datetime,
    ) -> Outcome | None:
        """The outcome, or None for an instrument that is not an outcome instrument."""
        verdicts = self._verdicts(instrument_id, baseline_total, latest_total)
        if verdicts is None:
            return None
        return _outcome(
            instrument_id,
            baseline_total,
            latest_total,
            latest_timepoint,
            latest_at,
            verdicts,
            self._instruments[instrument_id].response_label,
        )

    def change(self, instrument_id: str, baseline_total: float, latest_total: float):
        """`Outcome.change_percent` alone (all a mean needs), or None where the outcome has
        none or the instrument is not an outcome instrument."""
        verdicts = self._verdicts(instrument_id, baseline_total, latest_total)
        return None if verdicts is None else verdicts[0]

    def _verdicts(self, instrument_id: str, baseline_total: float, latest_total: float):
        key = (instrument_id, baseline_total, latest_total)
        verdicts = self._judged.get(key)
        if verdicts is None:
            instrument = self._instruments.get(instrument_id)
            if instrument is None or not is_outcome_instrument(instrument):
                return None
            verdicts = self._judged[key] = _verdicts(instrument, baseline_total, latest_total)
        return verdicts


def improvement(instrument: Instrument, change_percent: float) -> float:
    """Percent change turned so that up is better: -60% on PHQ-9 is a 60% improvement."""
    return change_percent if instrument.higher_is_better else -change_percent


def course_outcomes(
    instruments: Mapping[str, Instrument], measures: Iterable
) -> dict[str, Outcome]:
    """{instrument id: Outcome} for every outcome instrument with a baseline and a later score."""
    by_instrument: dict[str, list] = {}
    for m in measures:
        instrument = instruments.get(m.instrument_id)
        if instrument is not None and is_outcome_instrument(instrument):
            by_instrument.setdefault(m.instrument_id, []).append(m)
    found = {}
    for instrument_id, given in by_instrument.items():
        given.sort(key=lambda m: m.occurred_at)
        baselines = [m for m in given if m.timepoint == BASELINE]
        if not baselines:
            continue
        base = baselines[0]
        later = [m for m in given if m.timepoint != BASELINE and m.occurred_at > base.occurred_at]
        if not later:
            continue
        last = later[-1]
        found[instrument_id] = outcome(
            instruments[instrument_id], base.total, last.total, last.timepoint, last.occurred_at
        )
    return found


def overdue_follow_ups(items: Iterable[DueItem], now: datetime) -> list[str]:
    """Labels of the follow-up measures overdue among a course's outstanding items (as
    `domain.schedule.outstanding` gives them, or as they are stored), in the schedule's order."""
    return [
        item.label
        for item in sorted(items, key=lambda item: (item.overdue_at, item.label))
        if item.kind == DueKind.FOLLOW_UP_MEASURE and item.status(now) == DueStatus.OVERDUE
    ]


@dataclass(frozen=True)
class GroupMean:
    group: str
    instrument_id: str
    mean_improvement: float  # percent, positive = better
    n: int


def mean_improvement_by_group(
    instruments: Mapping[str, Instrument], outcomes: Iterable[tuple[str, Outcome]]
) -> list[GroupMean]:
    """Mean improvement from baseline per (group, instrument), e.g. per protocol.

    Courses with a baseline of 0 (no percentage) are left out of the mean, not counted as 0.
    """
    return mean_change_by_group(
        instruments,
        (
            (group, result.instrument_id, result.change_percent)
            for group, result in outcomes
            if result.change_percent is not None
        ),
    )


def mean_change_by_group(
    instruments: Mapping[str, Instrument], changes: Iterable[tuple[str, str, float]]
) -> list[GroupMean]:
    """`mean_improvement_by_group` over (group, instrument id, percent change) alone."""
    sums: dict[tuple[str, str], list[float]] = {}
    for group, instrument_id, change in changes:
        value = improvement(instruments[instrument_id], change)
        sums.setdefault((group, instrument_id), []).append(value)
    order = {iid: i for i, iid in enumerate(OUTCOME_INSTRUMENTS)}
    return [
        GroupMean(group, iid, sum(values) / len(values), len(values))
        for (group, iid), values in sorted(
            sums.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99), kv[0][1])
        )
    ]
