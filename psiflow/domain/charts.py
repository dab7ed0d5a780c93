"""Chart geometry for server-rendered SVG: measure trajectories and the team's outcomes.

Plain Python (no Flask): the numbers go in, pixel positions come out, and they are drawn with
classes only (the CSP forbids inline styles, and classes print). A trajectory draws itself
(`LineChart.svg`): a long history shows several, each of some sixty elements, and the Jinja
macro that drew them took a fifth of the page; the team's bars are drawn by the macro in
`templates/macros/charts.html`. Every chart is paired with a table of the same numbers for
screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from psiflow.domain.instruments import score_text

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
    date: str = ""  # `when` as the chart's dates are written (the clinic's zone)

    @property
    def value_text(self) -> str:
        """The score as every page writes it (`instruments.score_text`)."""
        return score_text(self.value)


@dataclass(frozen=True)
class ChartBand:
    y: float
    height: float
    label: str
    css: str  # sev-0 (least severe) .. sev-4


@dataclass(frozen=True)
class ChartMarker:
    x: float
    label: str  # "Dosing 3": the marker's title, for hover and assistive technology
    text: str = ""  # what is written under the axis: the label, "D3" when crowded, or nothing


# Dosing labels are written at 10px (psiflow.css .dosing-label): about 6 units a character
# in the chart's 640-unit view box, plus a gap, so that neighbours never touch.
LABEL_CHAR_WIDTH = 6.0
LABEL_GAP = 6.0


def _label_width(text: str) -> float:
    return len(text) * LABEL_CHAR_WIDTH + LABEL_GAP


def dosing_markers(xs: Sequence[float]) -> tuple[ChartMarker, ...]:
    """A marker per dosing session, labelled so that no two labels overlap.

    "Dosing 1", "Dosing 2"... where they fit; "D1", "D2"... where they do not (an eight-session
    esketamine course over a few weeks); and where even those crowd, every label that would
    touch the last one written is left out (the line and its title stay, and the table beside
    the chart lists every session).
    """
    full = [f"Dosing {i + 1}" for i in range(len(xs))]
    short = [f"D{i + 1}" for i in range(len(xs))]

    def fits(texts: list[str]) -> bool:
        return all(b - a >= _label_width(t) for a, b, t in zip(xs, xs[1:], texts, strict=False))

    texts = full if fits(full) else short
    shown, last_end = [], float("-inf")
    for x, text in zip(xs, texts, strict=True):
        if x >= last_end:
            shown.append(text)
            last_end = x + _label_width(text)
        else:
            shown.append("")
    return tuple(
        ChartMarker(x, label, text) for x, label, text in zip(xs, full, shown, strict=True)
    )


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

    def svg(self, id: str) -> Markup:
        """The chart as SVG, its title and description named by `id` for assistive technology;
        every text from the data escaped."""
        # Written as the Jinja macro it replaces wrote it, blank lines and all: the pages that
        # show it stay the same, byte for byte.
        id, title = escape(id), escape(self.title)
        left, right, top, bottom = self.left, self.right, self.top, self.bottom
        out = [
            f'\n<svg class="chart line-chart" viewBox="0 0 {self.width} {self.height}" role="img"'
            f' aria-labelledby="{id}-title {id}-desc" focusable="false">\n'
            f'  <title id="{id}-title">{title}</title>\n'
            f'  <desc id="{id}-desc">{escape(self.description)}</desc>\n'
            '  <g class="bands">\n    '
        ]
        for band in self.bands:
            label = escape(band.label)
            out.append(
                f'\n    <rect class="band {escape(band.css)}" x="{left}" y="{band.y:.1f}"'
                f' width="{right - left}" height="{band.height:.1f}"><title>{label}</title></rect>'
                f'\n    <text class="band-label" x="{right - 4}" y="{band.y + 12:.1f}"'
                f' text-anchor="end">{label}</text>\n    '
            )
        out.append(
            "\n  </g>\n"
            '  <g class="axis">\n'
            f'    <line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"'
            ' stroke="currentColor"/>\n'
            f'    <line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"'
            ' stroke="currentColor"/>\n    '
        )
        for tick in self.y_ticks:
            out.append(
                f'\n    <text x="{left - 6}" y="{tick.at + 4:.1f}" text-anchor="end">'
                f"{escape(tick.label)}</text>\n    "
            )
        out.append("\n    ")
        last = len(self.x_ticks) - 1
        for i, tick in enumerate(self.x_ticks):
            anchor = "start" if i == 0 else ("end" if i == last else "middle")
            out.append(
                f'\n    <text x="{tick.at:.1f}" y="{bottom + 16}" text-anchor="{anchor}">'
                f"{escape(tick.label)}</text>\n    "
            )
        out.append('\n  </g>\n  <g class="dosing-markers">\n    ')
        for marker in self.markers:
            if marker.text == marker.label:
                out.append(
                    f'\n    <line class="dosing-marker" x1="{marker.x:.1f}" y1="{top}"'
                    f' x2="{marker.x:.1f}" y2="{bottom}" stroke-dasharray="4 3"/>'
                )
            else:  # a shortened or hidden label: the line carries the whole one
                out.append(
                    f'\n    <line class="dosing-marker" x1="{marker.x:.1f}" y1="{top}"'
                    f' x2="{marker.x:.1f}" y2="{bottom}" stroke-dasharray="4 3">'
                    f"<title>{escape(marker.label)}</title></line>"
                )
            if marker.text:
                out.append(
                    f'\n    <text class="dosing-label" x="{marker.x + 3:.1f}" y="{bottom + 30}">'
                    f"{escape(marker.text)}</text>"
                )
            out.append("\n    ")
        out.append("\n  </g>\n  ")
        if len(self.points) > 1:
            out.append(
                f'\n  <polyline class="trajectory" fill="none" points="{self.polyline}"/>\n  '
            )
        out.append("\n  ")
        for point in self.points:
            value = point.value_text
            out.append(
                f'\n  <circle class="score" cx="{point.x:.1f}" cy="{point.y:.1f}" r="4"'
                f' data-value="{value}"><title>{value} · {escape(point.label)} ·'
                f" {escape(point.date)}</title></circle>\n  "
            )
        out.append("\n</svg>\n")
        return Markup("".join(out))


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
        ChartPoint(x(when), y(total), total, when, label, fmt(when))
        for when, total, label in sorted(scores, key=lambda s: s[0])
    )
    markers = dosing_markers([x(at) for at in sorted(dosing_times)])
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
    # Changes from baseline carry a sign (+12%); scores out of 100 (adherence) do not.
    signed: bool = True
    empty: str = "no course has a baseline and a later score yet"

    @property
    def value_format(self) -> str:
        return "%+.0f" if self.signed else "%.0f"

    @property
    def description(self) -> str:
        if not self.bars:
            return f"{self.title}: {self.empty}."
        parts = [
            f"{b.group}, {b.series_label}: {self.value_format % b.value}% (n={b.n})"
            for b in self.bars
        ]
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


PROGRESS_SERIES = (("adherence", "Adherence"), ("fidelity", "Fidelity"))


def progress_chart(title: str, runs: Sequence[tuple[str, int | None, int | None]]) -> BarChart:
    """A trainee's practice runs, oldest first: adherence (scored from the record) and the
    supervisor's fidelity rating, both out of 100, a pair of bars per run.

    `runs` are (label, adherence %, fidelity % or None when not rated yet)."""
    height = HEIGHT + 40
    bottom = height - BOTTOM - 20
    right = WIDTH - RIGHT

    def y(value: float) -> float:
        return bottom - value / 100 * (bottom - TOP)

    group_width = (right - LEFT) / max(len(runs), 1)
    bar_width = min(28.0, (group_width - 16) / 2)
    bars = []
    for gi, (label, *values) in enumerate(runs):
        group_left = LEFT + gi * group_width + (group_width - bar_width * 2) / 2
        for si, ((series, series_label), value) in enumerate(
            zip(PROGRESS_SERIES, values, strict=True)
        ):
            if value is None:
                continue
            top_y = y(value)
            bars.append(
                Bar(
                    group_left + si * bar_width,
                    top_y,
                    bar_width - 2,
                    max(y(0) - top_y, 1.0),
                    value,
                    1,
                    label,
                    series,
                    series_label,
                )
            )
    return BarChart(
        title=title,
        bars=tuple(bars),
        groups=tuple(Tick(LEFT + (i + 0.5) * group_width, r[0]) for i, r in enumerate(runs)),
        y_ticks=tuple(Tick(y(v), f"{v}%") for v in range(0, 101, 25)),
        zero_y=y(0),
        series=PROGRESS_SERIES,
        signed=False,
        empty="no scenario run yet",
    )
