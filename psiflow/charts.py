"""Chart geometry for server-rendered SVG: measure trajectories and the team's outcomes.

Plain Python (no Flask): the numbers go in, pixel positions come out, and the Jinja macros in
`templates/macros/charts.html` draw them with classes only (the CSP forbids inline styles, and
classes print). Every chart is paired with a table of the same numbers for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 40


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position along its axis
    label: str


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    value: float
    when: datetime
    label: str  # the timepoint, as clinicians say it


@dataclass(frozen=True)
class ChartBand:
    y: float
    height: float
    label: str
    css: str  # sev-0 (least severe) .. sev-4


@dataclass(frozen=True)
class ChartMarker:
    x: float
    label: str


@dataclass(frozen=True)
class LineChart:
    title: str
    instrument_id: str
    points: tuple[ChartPoint, ...]
    bands: tuple[ChartBand, ...]
    markers: tuple[ChartMarker, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def description(self) -> str:
        if not self.points:
            return f"{self.title}: no scores yet."
        values = ", ".join(f"{p.value:g} ({p.label})" for p in self.points)
        return f"{self.title} over the course: {values}."


def severity_class(level: int | None, levels: int) -> str:
    """Map a band level onto five shades, whatever the instrument's number of bands."""
    if level is None or levels <= 1:
        return "sev-0"
    return f"sev-{round(4 * level / (levels - 1))}"


def _time_scale(start: datetime, end: datetime, left: float, right: float):
    span = (end - start).total_seconds() or 1.0

    def x(when: datetime) -> float:
        return left + (when - start).total_seconds() / span * (right - left)

    return x


def _time_ticks(
    start: datetime, end: datetime, x, fmt: Callable[[datetime], str], count: int = 5
) -> tuple[Tick, ...]:
    step = (end - start) / (count - 1) if end > start else timedelta(0)
    return tuple(Tick(x(start + step * i), fmt(start + step * i)) for i in range(count))


def trajectory_chart(
    instrument,
    scores: Sequence[tuple[datetime, float, str]],
    dosing_times: Sequence[datetime],
    start: datetime,
    end: datetime,
    fmt: Callable[[datetime], str],
) -> LineChart:
    """One instrument's scores over the course, dosing sessions marked, severity bands shaded.

    `scores` are (when, total, timepoint label); `fmt` formats axis dates in the clinic's zone.
    """
    moments = [when for when, _, _ in scores] + list(dosing_times)
    start = min([start, *moments])
    end = max([end, *moments])
    if end <= start:
        end = start + timedelta(days=1)
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    x = _time_scale(start, end, LEFT, right)
    low, high = instrument.total_min, instrument.total_max

    def y(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - TOP)

    levels = len(instrument.bands)
    bands = tuple(
        # A band covers its whole-number totals, so it reaches half a point beyond each end.
        ChartBand(
            y(min(band.max + 0.5, high)),
            y(max(band.min - 0.5, low)) - y(min(band.max + 0.5, high)),
            band.label,
            severity_class(band.level, levels),
        )
        for band in instrument.bands
    )
    points = tuple(
        ChartPoint(x(when), y(total), total, when, label)
        for when, total, label in sorted(scores, key=lambda s: s[0])
    )
    markers = tuple(ChartMarker(x(at), f"Dosing {i + 1}") for i, at in enumerate(dosing_times))
    y_ticks = tuple(Tick(y(v), f"{v:g}") for v in _nice_values(low, high))
    return LineChart(
        title=instrument.short_name,
        instrument_id=instrument.id,
        points=points,
        bands=bands,
        markers=markers,
        x_ticks=_time_ticks(start, end, x, fmt),
        y_ticks=y_ticks,
    )


def _nice_values(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low
    for step in (1, 2, 4, 5, 10, 20, 25, 50, 100):
        if span / step <= count - 1:
            break
    values, v = [], low
    while v <= high + 1e-9:
        values.append(v)
        v += step
    return values


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    n: int
    group: str
    series: str  # instrument id, also the bar's class
    series_label: str


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    groups: tuple[Tick, ...]  # group labels under their bars
    y_ticks: tuple[Tick, ...]
    zero_y: float
    series: tuple[tuple[str, str], ...]  # (id, label) for the legend
    width: int = WIDTH
    height: int = HEIGHT + 40
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP

    @property
    def description(self) -> str:
        if not self.bars:
            return f"{self.title}: no course has a baseline and a later score yet."
        parts = [f"{b.group}, {b.series_label}: {b.value:+.0f}% (n={b.n})" for b in self.bars]
        return f"{self.title}. " + "; ".join(parts) + "."


def improvement_chart(title: str, means: Sequence, labels: dict[str, str]) -> BarChart:
    """Grouped bars of mean improvement from baseline (percent, up is better) per group.

    `means` are outcomes.GroupMean rows; `labels` name the instruments.
    """
    height = HEIGHT + 40
    bottom = height - BOTTOM - 20
    right = WIDTH - RIGHT
    groups = list(dict.fromkeys(m.group for m in means))
    series = list(dict.fromkeys(m.instrument_id for m in means))
    values = [m.mean_improvement for m in means]
    top_value = max([100.0, *values])
    low_value = min([-25.0, *values])

    def y(value: float) -> float:
        return bottom - (value - low_value) / (top_value - low_value) * (bottom - TOP)

    group_width = (right - LEFT) / max(len(groups), 1)
    bar_width = min(28.0, (group_width - 16) / max(len(series), 1))
    bars = []
    for m in means:
        gi, si = groups.index(m.group), series.index(m.instrument_id)
        group_left = LEFT + gi * group_width + (group_width - bar_width * len(series)) / 2
        top_y, base_y = sorted((y(m.mean_improvement), y(0)))
        bars.append(
            Bar(
                group_left + si * bar_width,
                top_y,
                bar_width - 2,
                max(base_y - top_y, 1.0),
                m.mean_improvement,
                m.n,
                m.group,
                m.instrument_id,
                labels.get(m.instrument_id, m.instrument_id),
            )
        )
    step = 25 if top_value - low_value <= 150 else 50
    first = int(low_value // step) * step
    ticks = tuple(
        Tick(y(v), f"{v:+g}%" if v else "0%")
        for v in range(first, int(top_value) + 1, step)
        if v >= low_value
    )
    return BarChart(
        title=title,
        bars=tuple(bars),
        groups=tuple(Tick(LEFT + (i + 0.5) * group_width, g) for i, g in enumerate(groups)),
        y_ticks=ticks,
        zero_y=y(0),
        series=tuple((s, labels.get(s, s)) for s in series),
    )
