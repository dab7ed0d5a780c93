"""Change from baseline, response and remission by each instrument's rule, without an app."""

from collections import namedtuple
from datetime import UTC, datetime, timedelta

import pytest

from psiflow.domain.instruments import default_instrument_dir, load_instruments
from psiflow.domain.outcomes import (
    Outcome,
    OutcomeJudge,
    course_outcomes,
    is_outcome_instrument,
    mean_change_by_group,
    mean_improvement_by_group,
    outcome,
)
from psiflow.domain.schedule import ScheduleNumbers

INSTRUMENTS = load_instruments(default_instrument_dir())
M = namedtuple("M", "instrument_id timepoint occurred_at total")
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
# Two dosing sessions with follow-up weeks 1, 4 and 12 after the last: the follow-up tests' course.
TWO_DOSES = ScheduleNumbers(
    dosing_sessions=2,
    integration_sessions_per_dosing=1,
    first_integration_within_hours=48,
    after_dosing_measures=("ebi",),
    safety_checkin_days=(1, 7),
    follow_up_weeks=(1, 4, 12),
    follow_up_measures=("phq9", "gad7"),
)


def test_phq9_halved_is_a_response_but_not_remission():
    result = outcome(INSTRUMENTS["phq9"], 20, 10, "follow_up_week_4", T0)
    assert result.change_percent == -50.0
    assert result.response is True and result.remission is False
    assert result.status_label() == "response"


def test_phq9_below_five_is_remission():
    result = outcome(INSTRUMENTS["phq9"], 20, 4, "follow_up_week_4", T0)
    assert result.remission is True and result.status_label() == "remission"


def test_pcl5_states_a_clinically_meaningful_change_never_remission():
    result = outcome(INSTRUMENTS["pcl5"], 60, 25, "follow_up_week_8", T0)
    assert result.response is True and result.remission is None
    assert result.status_label() == "clinically meaningful change"
    small = outcome(INSTRUMENTS["pcl5"], 60, 55, "follow_up_week_8", T0)
    assert small.status_label() == "no clinically meaningful change"
    assert small.status_kind() == "no-response"


def test_who5_improves_by_points_and_never_remits():
    result = outcome(INSTRUMENTS["who5"], 28, 56, "follow_up_week_4", T0)
    assert result.change_percent == 100.0
    assert result.response is True and result.remission is None
    assert result.status_label() == "meaningful improvement"


def test_phq9_remission_is_still_remission():
    result = outcome(INSTRUMENTS["phq9"], 20, 4, "follow_up_week_4", T0)
    assert result.status_label() == "remission" and result.status_kind() == "remission"


def test_a_zero_baseline_has_no_percentage():
    result = outcome(INSTRUMENTS["gad7"], 0, 3, "follow_up_week_4", T0)
    assert result.change_percent is None


def test_the_judge_of_many_outcomes_gives_each_the_answer_of_outcome():
    judge = OutcomeJudge(INSTRUMENTS)
    for iid, instrument in INSTRUMENTS.items():
        if not is_outcome_instrument(instrument):
            assert judge.outcome(iid, 10, 5, "follow_up_week_4", T0) is None
            continue
        low, high = int(instrument.total_min), int(instrument.total_max)
        step = max(1, (high - low) // 12)
        totals = [*range(low, high + 1, step), high]
        # Twice over, so the second pass reads every verdict the first one judged.
        for _ in range(2):
            for i, baseline in enumerate(totals):
                for latest in totals:
                    at = T0 + timedelta(days=i)
                    expected = outcome(instrument, baseline, latest, "integration", at)
                    assert judge.outcome(iid, baseline, latest, "integration", at) == expected
                    assert judge.change(iid, baseline, latest) == expected.change_percent
    assert judge.outcome("no-such-instrument", 10, 5, "integration", T0) is None
    assert judge.change("no-such-instrument", 10, 5) is None
    assert judge.change("cssrs", 10, 5) is None


@pytest.mark.parametrize(
    "iid,expected",
    [("phq9", True), ("who5", True), ("cssrs", False), ("meq30", False), ("ceq", False)],
)
def test_only_instruments_with_response_rules_are_outcomes(iid, expected):
    assert is_outcome_instrument(INSTRUMENTS[iid]) is expected


def test_course_outcome_compares_the_first_baseline_with_the_latest_later_score():
    measures = [
        M("phq9", "baseline", T0, 21),
        M("phq9", "baseline", T0 + timedelta(days=1), 19),  # a repeat: the first one stands
        M("phq9", "integration", T0 + timedelta(days=30), 12),
        M("phq9", "follow_up_week_4", T0 + timedelta(days=60), 6),
        M("cssrs", "baseline", T0, 1),
        M("cssrs", "integration", T0 + timedelta(days=30), 0),
        M("gad7", "baseline", T0, 12),
    ]
    found = course_outcomes(INSTRUMENTS, measures)
    assert set(found) == {"phq9"}  # gad7 has no later score; cssrs is not an outcome
    assert found["phq9"].baseline == 21 and found["phq9"].latest == 6
    assert found["phq9"].latest_timepoint == "follow_up_week_4"


def test_mean_improvement_turns_signs_so_up_is_better():
    rows = [
        ("MDMA", outcome(INSTRUMENTS["phq9"], 20, 10, "f", T0)),  # 50% better
        ("MDMA", outcome(INSTRUMENTS["phq9"], 10, 10, "f", T0)),  # no change
        ("MDMA", outcome(INSTRUMENTS["who5"], 40, 60, "f", T0)),  # 50% better
        ("MDMA", outcome(INSTRUMENTS["gad7"], 0, 2, "f", T0)),  # no percentage: left out
    ]
    means = mean_improvement_by_group(INSTRUMENTS, rows)
    assert [(g.instrument_id, g.mean_improvement, g.n) for g in means] == [
        ("phq9", 25.0, 2),
        ("who5", 50.0, 1),
    ]
    # The same means from the changes alone (the team chart's way).
    changes = [
        (g, o.instrument_id, o.change_percent) for g, o in rows if o.change_percent is not None
    ]
    assert mean_change_by_group(INSTRUMENTS, changes) == means


def test_overdue_follow_ups_are_the_follow_up_part_of_the_whole_schedule():
    from psiflow.domain.outcomes import overdue_follow_ups
    from psiflow.domain.schedule import Done, DueKind, DueStatus, outstanding

    numbers = TWO_DOSES
    names = {"phq9": "PHQ-9", "gad7": "GAD-7"}
    doses = (T0, T0 + timedelta(days=14))
    done = Done(
        dosing_times=doses,
        integration_times=(T0 + timedelta(days=2),),
        measures=frozenset({("phq9", "follow_up_week_1"), ("ebi", "after_dosing_1")}),
        check_ins=frozenset({(1, 1)}),
    )
    now = T0 + timedelta(days=14 + 7 * 5)
    items = outstanding(numbers, done, names)
    assert overdue_follow_ups(items, now) == [
        "GAD-7 at follow-up week 1",
        "GAD-7 at follow-up week 4",
        "PHQ-9 at follow-up week 4",
    ]
    # In whatever order the items come (as read back from storage), the schedule's order.
    assert overdue_follow_ups(reversed(items), now) == overdue_follow_ups(items, now)
    # Only follow-ups (the second dosing's first session is overdue too), and only overdue
    # ones (week 12 is due, not yet overdue, a day after it starts).
    assert any(
        i.kind != DueKind.FOLLOW_UP_MEASURE and i.status(now) == DueStatus.OVERDUE for i in items
    )
    week_12 = T0 + timedelta(days=14 + 7 * 12 + 1)
    assert overdue_follow_ups(items, week_12) == overdue_follow_ups(items, now)
    assert overdue_follow_ups(items, T0 + timedelta(days=14 + 7)) == []
    # Before the last dosing session, no follow-up is due at all.
    early = outstanding(numbers, Done(dosing_times=doses[:1], measures=done.measures), names)
    assert overdue_follow_ups(early, now) == []


@pytest.mark.parametrize(
    "baseline, latest", [(21, 9), (12.5, 13.5), (0.4, 99.6), (7.0, 7.49), (2.5, 3.5)]
)
def test_the_table_writes_scores_as_jinja_rounding_wrote_them(baseline, latest):
    from jinja2 import Environment

    result = Outcome(
        "phq9", baseline, latest, "after_dosing_1", datetime.now(UTC), None, None, None
    )
    drawn = Environment().from_string("{{ b|round(0)|int }} → {{ l|round(0)|int }}")
    assert result.scores_text() == drawn.render(b=baseline, l=latest)
