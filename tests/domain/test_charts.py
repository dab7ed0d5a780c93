"""Chart geometry: the points, the bands and the dosing markers land where they should."""

from datetime import UTC, datetime, timedelta

from psiflow.domain.charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, improvement_chart
from psiflow.domain.charts import trajectory_chart as chart
from psiflow.domain.instruments import default_instrument_dir, load_instruments
from psiflow.domain.outcomes import GroupMean

INSTRUMENTS = load_instruments(default_instrument_dir())
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fmt(when):
    return when.strftime("%d %b")


def test_points_are_placed_by_time_and_score():
    scores = [(T0, 27, "baseline"), (T0 + timedelta(days=10), 0, "follow-up week 1")]
    c = chart(INSTRUMENTS["phq9"], scores, [], T0, T0 + timedelta(days=10), fmt)
    first, last = c.points
    assert (first.x, first.y) == (LEFT, TOP)  # earliest time, highest score
    assert (last.x, last.y) == (WIDTH - RIGHT, HEIGHT - BOTTOM)
    assert c.polyline == f"{LEFT:.1f},{TOP:.1f} {WIDTH - RIGHT:.1f},{HEIGHT - BOTTOM:.1f}"
    assert "27 (baseline), 0 (follow-up week 1)" in c.description


def test_dosing_sessions_are_marked_on_the_time_axis():
    dosed = T0 + timedelta(days=5)
    c = chart(
        INSTRUMENTS["phq9"], [(T0, 20, "baseline")], [dosed], T0, T0 + timedelta(days=10), fmt
    )
    [marker] = c.markers
    assert marker.label == "Dosing 1"
    assert marker.x == LEFT + (WIDTH - RIGHT - LEFT) / 2


def test_severity_bands_tile_the_scale_least_severe_lightest():
    c = chart(INSTRUMENTS["phq9"], [], [], T0, T0 + timedelta(days=1), fmt)
    assert [b.label for b in c.bands] == [
        "minimal",
        "mild",
        "moderate",
        "moderately severe",
        "severe",
    ]
    assert [b.css for b in c.bands] == ["sev-0", "sev-1", "sev-2", "sev-3", "sev-4"]
    total = sum(b.height for b in c.bands)
    assert abs(total - (HEIGHT - BOTTOM - TOP)) < 0.01


def test_where_higher_is_better_the_top_band_is_the_least_severe():
    c = chart(INSTRUMENTS["who5"], [], [], T0, T0 + timedelta(days=1), fmt)
    top = min(c.bands, key=lambda b: b.y)
    assert top.label == "above screening cut-off" and top.css == "sev-0"


def test_improvement_bars_rise_for_improvement_and_fall_for_worsening():
    means = [GroupMean("Psilocybin", "phq9", 50.0, 4), GroupMean("Psilocybin", "who5", -20.0, 3)]
    c = improvement_chart("Mean improvement", means, {"phq9": "PHQ-9", "who5": "WHO-5"})
    better, worse = c.bars
    assert better.y + better.height == c.zero_y  # drawn up from zero
    assert worse.y == c.zero_y  # drawn down from zero
    assert "Psilocybin, PHQ-9: +50% (n=4)" in c.description


def test_a_trajectory_draws_each_point_marker_band_and_tick_once():
    scores = [(T0, 21, "baseline"), (T0 + timedelta(days=9), 9.5, "follow-up week 1")]
    c = chart(
        INSTRUMENTS["phq9"], scores, [T0 + timedelta(days=3)], T0, T0 + timedelta(days=10), fmt
    )
    svg = str(c.svg("course-7-phq9"))
    assert svg.count('<circle class="score"') == 2
    assert 'data-value="21"' in svg and 'data-value="9.5"' in svg
    assert "<title>9.5 · follow-up week 1 · 10 Jan</title>" in svg
    assert svg.count('class="dosing-marker"') == 1 and ">Dosing 1</text>" in svg
    assert svg.count('<rect class="band ') == len(c.bands)
    assert svg.count('text-anchor="start"') == 1 and svg.count('text-anchor="middle"') == 3
    assert 'aria-labelledby="course-7-phq9-title course-7-phq9-desc"' in svg
    assert f'points="{c.polyline}"' in svg


def test_a_trajectory_of_one_score_draws_no_line():
    c = chart(INSTRUMENTS["phq9"], [(T0, 20, "baseline")], [], T0, T0 + timedelta(days=1), fmt)
    svg = str(c.svg("c"))
    assert "<polyline" not in svg and svg.count("<circle") == 1


def test_a_trajectory_escapes_every_text_it_draws():
    scores = [(T0, 3, 'week "1" <b>&')]
    c = chart(INSTRUMENTS["phq9"], scores, [], T0, T0 + timedelta(days=1), lambda d: "<d>")
    svg = str(c.svg('x"><script>'))
    assert "<script>" not in svg and "<b>" not in svg and "<d>" not in svg
    assert "week &#34;1&#34; &lt;b&gt;&amp;" in svg and 'id="x&#34;&gt;&lt;script&gt;-title"' in svg


def _label_spans(c):
    from psiflow.domain.charts import _label_width

    return [(m.x, m.x + _label_width(m.text)) for m in c.markers if m.text]


def test_an_eight_session_course_writes_dosing_labels_that_do_not_overlap():
    # Esketamine induction: twice a week for four weeks, on a chart running to week 12.
    dosings = [T0 + timedelta(days=d) for d in (7, 10, 14, 17, 21, 24, 28, 31)]
    c = chart(INSTRUMENTS["madrs"], [(T0, 30, "baseline")], dosings, T0, T0 + timedelta(84), fmt)
    assert [m.label for m in c.markers] == [f"Dosing {i}" for i in range(1, 9)]
    spans = _label_spans(c)
    assert all(
        end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False)
    )
    assert c.markers[0].text == "D1"  # shortened, never silently dropped first
    svg = str(c.svg("madrs"))
    assert svg.count('class="dosing-marker"') == 8
    # Every marker still names its session, written or in its title.
    for i in range(1, 9):
        assert f">Dosing {i}</title>" in svg or f">Dosing {i}</text>" in svg


def test_dosing_sessions_a_day_apart_leave_out_labels_that_would_touch():
    dosings = [T0 + timedelta(days=40 + d) for d in range(6)]
    c = chart(INSTRUMENTS["phq9"], [(T0, 20, "baseline")], dosings, T0, T0 + timedelta(180), fmt)
    spans = _label_spans(c)
    assert 1 <= len(spans) < 6
    assert all(
        end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False)
    )


def test_dosing_labels_are_written_in_full_where_they_fit():
    dosings = [T0 + timedelta(days=d) for d in (10, 40, 70)]
    c = chart(INSTRUMENTS["phq9"], [(T0, 20, "baseline")], dosings, T0, T0 + timedelta(90), fmt)
    assert [m.text for m in c.markers] == ["Dosing 1", "Dosing 2", "Dosing 3"]
