"""What falls due after dosing and when it is overdue: pure rules, no app."""

from datetime import UTC, datetime, timedelta

from psiflow.domain.schedule import (
    Done,
    DueKind,
    DueStatus,
    ScheduleNumbers,
    attention_from,
    check_in_due_now,
    needing_attention,
    outstanding,
)

DOSED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PSILOCYBIN = ScheduleNumbers(
    dosing_sessions=1,
    integration_sessions_per_dosing=1,
    first_integration_within_hours=48,
    after_dosing_measures=("meq30", "ebi"),
    safety_checkin_days=(1, 7),
    follow_up_weeks=(4, 12),
    follow_up_measures=("phq9", "gad7"),
)
MDMA = ScheduleNumbers(
    dosing_sessions=3,
    integration_sessions_per_dosing=3,
    first_integration_within_hours=24,
    after_dosing_measures=("ceq",),
    safety_checkin_days=(2, 7),
    follow_up_weeks=(8, 26),
    follow_up_measures=("pcl5",),
)
ESKETAMINE = ScheduleNumbers(
    dosing_sessions=8, integration_sessions_per_dosing=0, first_integration_within_hours=168
)


def _first_integration(items):
    return [i for i in items if i.kind == DueKind.FIRST_INTEGRATION]


def test_nothing_is_due_before_the_first_dosing():
    assert outstanding(PSILOCYBIN, Done()) == []


def test_first_integration_is_due_at_once_and_overdue_after_the_protocol_hours():
    [item] = _first_integration(outstanding(PSILOCYBIN, Done(dosing_times=(DOSED,))))
    assert item.status(DOSED + timedelta(hours=1)) == DueStatus.DUE
    assert item.status(DOSED + timedelta(hours=47, minutes=59)) == DueStatus.DUE
    assert item.status(DOSED + timedelta(hours=48)) == DueStatus.OVERDUE


def test_an_integration_note_after_the_dosing_discharges_the_first_integration():
    done = Done(dosing_times=(DOSED,), integration_times=(DOSED + timedelta(hours=20),))
    assert _first_integration(outstanding(PSILOCYBIN, done)) == []


def test_a_note_from_before_the_dosing_does_not_count():
    done = Done(dosing_times=(DOSED,), integration_times=(DOSED - timedelta(days=3),))
    assert len(_first_integration(outstanding(PSILOCYBIN, done))) == 1


def test_no_integration_falls_due_where_the_protocol_requires_none():
    assert _first_integration(outstanding(ESKETAMINE, Done(dosing_times=(DOSED,)))) == []


def test_experience_scales_fall_due_the_day_after_and_are_overdue_the_day_after_that():
    items = [
        i
        for i in outstanding(PSILOCYBIN, Done(dosing_times=(DOSED,)))
        if i.kind == DueKind.AFTER_DOSING_MEASURE
    ]
    assert {i.instrument_id for i in items} == {"meq30", "ebi"}
    assert {i.timepoint for i in items} == {"after_dosing_1"}
    item = items[0]
    assert item.status(DOSED + timedelta(hours=23)) == DueStatus.UPCOMING
    assert item.status(DOSED + timedelta(hours=24)) == DueStatus.DUE
    assert item.status(DOSED + timedelta(hours=48)) == DueStatus.OVERDUE


def test_a_given_experience_scale_is_no_longer_outstanding():
    done = Done(dosing_times=(DOSED,), measures=frozenset({("meq30", "after_dosing_1")}))
    left = {
        i.instrument_id
        for i in outstanding(PSILOCYBIN, done)
        if i.kind == DueKind.AFTER_DOSING_MEASURE
    }
    assert left == {"ebi"}


def test_safety_calls_fall_due_on_their_protocol_days():
    items = [
        i
        for i in outstanding(MDMA, Done(dosing_times=(DOSED,)))
        if i.kind == DueKind.SAFETY_CHECK_IN
    ]
    assert [(i.day, i.due_from) for i in items] == [
        (2, DOSED + timedelta(days=2)),
        (7, DOSED + timedelta(days=7)),
    ]
    assert items[0].status(DOSED + timedelta(days=3)) == DueStatus.OVERDUE
    done = Done(dosing_times=(DOSED,), check_ins=frozenset({(1, 2)}))
    assert [i.day for i in outstanding(MDMA, done) if i.kind == DueKind.SAFETY_CHECK_IN] == [7]


def test_items_of_an_earlier_dosing_are_missed_once_the_next_dosing_happened():
    second = DOSED + timedelta(days=30)
    items = outstanding(MDMA, Done(dosing_times=(DOSED, second)))
    first_round = [i for i in items if i.dosing_number == 1]
    assert first_round and all(i.status(second) == DueStatus.MISSED for i in first_round)
    assert all(i.status(second) != DueStatus.MISSED for i in items if i.dosing_number == 2)


def test_follow_up_falls_due_only_after_the_last_dosing_of_the_protocol():
    one = outstanding(MDMA, Done(dosing_times=(DOSED,)))
    assert not [i for i in one if i.kind == DueKind.FOLLOW_UP_MEASURE]
    last = DOSED + timedelta(days=60)
    doses = (DOSED, DOSED + timedelta(days=30), last)
    items = [
        i
        for i in outstanding(MDMA, Done(dosing_times=doses))
        if i.kind == DueKind.FOLLOW_UP_MEASURE
    ]
    assert [(i.timepoint, i.due_from) for i in items] == [
        ("follow_up_week_8", last + timedelta(weeks=8)),
        ("follow_up_week_26", last + timedelta(weeks=26)),
    ]
    week8 = items[0]
    assert week8.status(last + timedelta(weeks=8, days=6)) == DueStatus.DUE
    assert week8.status(last + timedelta(weeks=8, days=7)) == DueStatus.OVERDUE


def test_recorded_follow_up_measures_are_done():
    done = Done(
        dosing_times=(DOSED,),
        measures=frozenset({("phq9", "follow_up_week_4"), ("gad7", "follow_up_week_4")}),
    )
    left = {
        i.timepoint for i in outstanding(PSILOCYBIN, done) if i.kind == DueKind.FOLLOW_UP_MEASURE
    }
    assert left == {"follow_up_week_12"}


def test_dashboard_lists_overdue_before_due_and_leaves_out_upcoming_and_missed():
    now = DOSED + timedelta(hours=30)
    items = outstanding(
        PSILOCYBIN, Done(dosing_times=(DOSED,)), names={"meq30": "MEQ-30", "ebi": "EBI"}
    )
    shown = needing_attention(items, now)
    statuses = [s for _, s in shown]
    assert statuses == sorted(statuses, key=lambda s: s != DueStatus.OVERDUE)
    labels = [i.label for i, _ in shown]
    assert "MEQ-30 the day after dosing 1" in labels
    assert "First integration session after dosing 1" in labels
    assert not any("week 7" in label or "day 7" in label for label in labels)  # upcoming


def test_check_in_made_now_is_matched_to_the_call_that_is_due():
    done = Done(dosing_times=(DOSED,))
    assert check_in_due_now(MDMA, done, DOSED + timedelta(days=2, hours=3)) == (1, 2)
    assert check_in_due_now(MDMA, done, DOSED + timedelta(days=8)) == (1, 7)
    assert check_in_due_now(MDMA, Done(), DOSED) is None


# --- attention_from: the stored "needs attention from" of a course ---------------------------


def test_a_course_with_nothing_dosed_needs_no_attention():
    assert attention_from(PSILOCYBIN, Done()) is None


def test_attention_starts_with_the_dosing_itself_while_the_first_integration_waits():
    assert attention_from(PSILOCYBIN, Done(dosing_times=(DOSED,))) == DOSED


def test_attention_starts_with_the_day_after_once_the_first_integration_is_done():
    done = Done(dosing_times=(DOSED,), integration_times=(DOSED + timedelta(hours=5),))
    assert attention_from(PSILOCYBIN, done) == DOSED + timedelta(days=1)


def test_items_of_an_earlier_dosing_no_longer_count_once_superseded():
    second = DOSED + timedelta(days=30)
    done = Done(
        dosing_times=(DOSED, second),
        integration_times=(second + timedelta(hours=2),),
        measures=frozenset({("ceq", "after_dosing_2")}),
        check_ins=frozenset({(2, 2)}),
    )
    # Dosing 1 left everything undone, but it is missed, not due: the day-7 call of dosing 2.
    assert attention_from(MDMA, done) == second + timedelta(days=7)


def test_a_course_with_everything_done_needs_no_attention():
    done = Done(
        dosing_times=(DOSED,),
        integration_times=(DOSED + timedelta(hours=5),),
        measures=frozenset(
            {("meq30", "after_dosing_1"), ("ebi", "after_dosing_1")}
            | {(i, f"follow_up_week_{w}") for i in ("phq9", "gad7") for w in (4, 12)}
        ),
        check_ins=frozenset({(1, 1), (1, 7)}),
    )
    assert outstanding(PSILOCYBIN, done) == []
    assert attention_from(PSILOCYBIN, done) is None


def test_attention_from_agrees_with_needing_attention_at_every_moment():
    cases = [
        (PSILOCYBIN, Done()),
        (PSILOCYBIN, Done(dosing_times=(DOSED,))),
        (
            PSILOCYBIN,
            Done(
                dosing_times=(DOSED,),
                integration_times=(DOSED + timedelta(hours=3),),
                measures=frozenset({("meq30", "after_dosing_1"), ("ebi", "after_dosing_1")}),
                check_ins=frozenset({(1, 1), (1, 7)}),
            ),
        ),
        (MDMA, Done(dosing_times=(DOSED, DOSED + timedelta(days=30)))),
        (ESKETAMINE, Done(dosing_times=tuple(DOSED + timedelta(days=3 * i) for i in range(8)))),
        (ESKETAMINE, Done(dosing_times=(DOSED,))),
    ]
    moments = [DOSED + timedelta(hours=h) for h in range(-24, 24 * 7 * 30, 7)]
    for numbers, done in cases:
        start = attention_from(numbers, done)
        items = outstanding(numbers, done)
        for now in moments:
            wanted = bool(needing_attention(items, now))
            assert wanted == (start is not None and start <= now), (numbers, done, now)


def test_each_item_has_a_key_of_its_own_and_its_label_from_what_it_is():
    # A stored item is keyed by what it is and labelled again from its columns when read
    # back (`due_label`): both must hold for every kind of item, on every protocol.
    from psiflow.domain.schedule import due_label

    names = {"meq30": "MEQ-30", "ebi": "EBI", "phq9": "PHQ-9", "gad7": "GAD-7", "ceq": "CEQ"}
    for numbers in (PSILOCYBIN, MDMA, ESKETAMINE):
        doses = tuple(DOSED + timedelta(days=21 * n) for n in range(numbers.dosing_sessions))
        items = outstanding(numbers, Done(dosing_times=doses), names)
        assert len({item.key for item in items}) == len(items)
        for item in items:
            name = names.get(item.instrument_id, item.instrument_id)
            args = (item.kind, item.dosing_number, name, item.day, item.week)
            assert due_label(*args) == item.label
    [week_4] = [
        i
        for i in outstanding(PSILOCYBIN, Done(dosing_times=(DOSED,)))
        if i.week == 4 and i.instrument_id == "phq9"
    ]
    assert week_4.key == "follow_up_measure::phq9::4"
    assert week_4.label == "phq9 at follow-up week 4"  # an instrument without a name: its id
