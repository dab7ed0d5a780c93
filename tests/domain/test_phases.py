"""The phase machine and its gates, without an app."""

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest

from psiflow.domain.phases import (
    ACTIVE_PHASES,
    GATE_FACTS,
    GATED_TRANSITIONS,
    CourseFacts,
    GateNumbers,
    Phase,
    PhaseError,
    check_protocol_allows,
    check_transition,
    forward_gates,
    next_phases,
    unmet_requirements,
)

MAPS = GateNumbers(min_preparation_sessions=3, dosing_sessions=3, integration_sessions_per_dosing=3)
OREGON = GateNumbers(
    min_preparation_sessions=1,
    dosing_sessions=1,
    integration_sessions_per_dosing=1,
    preparation_min_hours_before_dosing=24,
    preparation_max_days_before_dosing=90,
)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

READY_FOR_DOSING = CourseFacts(
    screening_signed=True,
    consent_recorded=True,
    signed_preparation_sessions=3,
    set_intake_complete=True,
    intention_written=True,
    baseline_recorded=True,
    transport_arranged=True,
)


@pytest.mark.parametrize("frm,to", sorted(GATED_TRANSITIONS))
def test_every_gate_is_closed_for_a_course_without_records(frm, to):
    assert unmet_requirements(frm, to, MAPS, CourseFacts()) != []


def test_screening_gate_lists_each_missing_requirement():
    unmet = unmet_requirements(
        Phase.SCREENING, Phase.PREPARATION, MAPS, CourseFacts(uncleared_flags=2)
    )
    assert unmet == [
        "Medical and psychiatric screening signed",
        "2 contraindication flags wait for a supervisor to clear",
        "Informed consent recorded",
    ]


def test_screening_gate_opens_when_signed_cleared_and_consented():
    facts = CourseFacts(screening_signed=True, consent_recorded=True)
    assert unmet_requirements(Phase.SCREENING, Phase.PREPARATION, MAPS, facts) == []


def test_uncleared_flag_alone_keeps_screening_gate_closed():
    facts = CourseFacts(screening_signed=True, consent_recorded=True, uncleared_flags=1)
    assert unmet_requirements(Phase.SCREENING, Phase.PREPARATION, MAPS, facts) == [
        "1 contraindication flag waits for a supervisor to clear"
    ]


def test_preparation_gate_counts_signed_sessions_against_the_protocol():
    facts = replace(READY_FOR_DOSING, signed_preparation_sessions=2)
    assert unmet_requirements(Phase.PREPARATION, Phase.DOSING, MAPS, facts) == [
        "3 signed preparation sessions (2 so far)"
    ]
    assert unmet_requirements(Phase.PREPARATION, Phase.DOSING, MAPS, READY_FOR_DOSING) == []


def test_preparation_gate_needs_intention_baseline_and_transport():
    facts = replace(
        READY_FOR_DOSING,
        intention_written=False,
        transport_arranged=False,
        missing_baseline_measures=("PHQ-9",),
    )
    unmet = unmet_requirements(Phase.PREPARATION, Phase.DOSING, MAPS, facts)
    assert "Intention written in the patient's words" in unmet
    assert "Transport home arranged" in unmet
    assert "Baseline PHQ-9 recorded" in unmet


def test_oregon_timing_needs_a_planned_dosing_date():
    facts = replace(READY_FOR_DOSING, last_preparation_at=T0)
    assert unmet_requirements(Phase.PREPARATION, Phase.DOSING, OREGON, facts) == [
        "Dosing session date planned (the protocol times preparation against it)"
    ]


@pytest.mark.parametrize(
    "gap,ok",
    [
        (timedelta(hours=23, minutes=59), False),
        (timedelta(hours=24), True),
        (timedelta(days=90), True),
        (timedelta(days=90, minutes=1), False),
    ],
)
def test_oregon_preparation_falls_between_24_hours_and_90_days_before_dosing(gap, ok):
    facts = replace(READY_FOR_DOSING, last_preparation_at=T0, planned_dosing_at=T0 + gap)
    unmet = unmet_requirements(Phase.PREPARATION, Phase.DOSING, OREGON, facts)
    assert (unmet == []) is ok
    if not ok:
        assert "2026-03-01" in unmet[0]  # the gate says so with dates


def test_dosing_gate_needs_the_signed_session_record():
    assert unmet_requirements(Phase.DOSING, Phase.INTEGRATION, MAPS, CourseFacts()) == [
        "Dosing session record signed (checklist, dose and discharge complete)"
    ]
    facts = CourseFacts(dosing_session_signed=True)
    assert unmet_requirements(Phase.DOSING, Phase.INTEGRATION, MAPS, facts) == []


def test_integration_back_to_dosing_needs_sessions_and_a_dose_left():
    facts = CourseFacts(dosing_sessions_done=1, integration_sessions_since_last_dosing=2)
    assert unmet_requirements(Phase.INTEGRATION, Phase.DOSING, MAPS, facts) == [
        "3 signed integration sessions since the last dosing (2 so far)"
    ]
    facts = CourseFacts(dosing_sessions_done=3, integration_sessions_since_last_dosing=3)
    assert unmet_requirements(Phase.INTEGRATION, Phase.DOSING, MAPS, facts) == [
        "All 3 dosing sessions of the protocol are done: move on to follow-up"
    ]
    facts = CourseFacts(dosing_sessions_done=2, integration_sessions_since_last_dosing=3)
    assert unmet_requirements(Phase.INTEGRATION, Phase.DOSING, MAPS, facts) == []


def test_a_course_whose_doses_are_all_done_is_offered_follow_up_only():
    single = replace(MAPS, dosing_sessions=1)
    done = CourseFacts(dosing_sessions_done=1, integration_sessions_since_last_dosing=3)
    assert [to for to, _ in forward_gates(Phase.INTEGRATION, single, done)] == [Phase.FOLLOW_UP]
    one_left = replace(done, dosing_sessions_done=2)
    assert [to for to, _ in forward_gates(Phase.INTEGRATION, MAPS, one_left)] == [
        Phase.DOSING,
        Phase.FOLLOW_UP,
    ]


def test_no_override_takes_a_course_past_the_protocols_dosing_sessions():
    single = replace(MAPS, dosing_sessions=1)
    done = CourseFacts(dosing_sessions_done=1, integration_sessions_since_last_dosing=3)
    with pytest.raises(PhaseError, match="The protocol has 1 dosing session and all are done"):
        check_protocol_allows(Phase.INTEGRATION, Phase.DOSING, single, done)
    check_protocol_allows(Phase.INTEGRATION, Phase.FOLLOW_UP, single, done)
    check_protocol_allows(
        Phase.INTEGRATION, Phase.DOSING, MAPS, replace(done, dosing_sessions_done=2)
    )


def test_integration_to_follow_up_needs_every_dose_and_the_minimum():
    facts = CourseFacts(dosing_sessions_done=2, integration_sessions_since_last_dosing=3)
    assert unmet_requirements(Phase.INTEGRATION, Phase.FOLLOW_UP, MAPS, facts) == [
        "3 dosing sessions done (2 so far)"
    ]
    facts = CourseFacts(dosing_sessions_done=3, integration_sessions_since_last_dosing=3)
    assert unmet_requirements(Phase.INTEGRATION, Phase.FOLLOW_UP, MAPS, facts) == []


def test_follow_up_to_completed_needs_final_measures():
    assert unmet_requirements(Phase.FOLLOW_UP, Phase.COMPLETED, MAPS, CourseFacts()) != []
    facts = CourseFacts(final_follow_up_recorded=True)
    assert unmet_requirements(Phase.FOLLOW_UP, Phase.COMPLETED, MAPS, facts) == []


ALL_PAIRS = [(a, b) for a in Phase for b in Phase]
LEGAL_FORWARD = GATED_TRANSITIONS


@pytest.mark.parametrize("frm,to", ALL_PAIRS)
def test_every_transition_is_either_allowed_or_refused(frm, to):
    """The whole machine, pair by pair (reason given, resuming to where the hold began)."""
    legal = (
        (frm in ACTIVE_PHASES and to in (Phase.ON_HOLD, Phase.WITHDRAWN))
        or (frm == Phase.ON_HOLD and to == Phase.WITHDRAWN)
        or (frm, to) in LEGAL_FORWARD
        or (frm == Phase.ON_HOLD and to == Phase.PREPARATION)
    )
    kwargs = {
        "reason": "clinical reason",
        "resume_to": Phase.PREPARATION if frm == Phase.ON_HOLD else None,
    }
    if legal:
        check_transition(frm, to, **kwargs)
    else:
        with pytest.raises(PhaseError):
            check_transition(frm, to, **kwargs)


def test_hold_and_withdraw_need_a_reason():
    with pytest.raises(PhaseError, match="reason"):
        check_transition(Phase.PREPARATION, Phase.ON_HOLD, reason="  ")
    with pytest.raises(PhaseError, match="reason"):
        check_transition(Phase.DOSING, Phase.WITHDRAWN)


def test_resume_only_to_the_phase_the_hold_left():
    check_transition(Phase.ON_HOLD, Phase.INTEGRATION, resume_to=Phase.INTEGRATION)
    with pytest.raises(PhaseError):
        check_transition(Phase.ON_HOLD, Phase.FOLLOW_UP, resume_to=Phase.INTEGRATION)


@pytest.mark.parametrize("closed", [Phase.COMPLETED, Phase.WITHDRAWN])
def test_closed_courses_never_move(closed):
    for to in Phase:
        with pytest.raises(PhaseError):
            check_transition(closed, to, reason="x", resume_to=to)


def test_next_phases_follow_clinical_order():
    assert next_phases(Phase.INTEGRATION) == [Phase.DOSING, Phase.FOLLOW_UP]
    assert next_phases(Phase.COMPLETED) == []
    with pytest.raises(PhaseError):
        unmet_requirements(Phase.SCREENING, Phase.DOSING, MAPS, CourseFacts())


# Values each kind of fact can take, from "nothing on record" to "more than enough".
_FACT_VALUES = {
    bool: (False, True),
    int: (0, 1, 5),
    tuple: ((), ("PHQ-9",)),
    datetime: (None, T0, T0 - timedelta(days=120), T0 + timedelta(hours=2)),
}
_FACT_KINDS = {
    "bool": bool,
    "int": int,
    "tuple[str, ...]": tuple,
    "datetime | None": datetime,
}


def _alternatives(name):
    kind = next(_FACT_KINDS[f.type] for f in fields(CourseFacts) if f.name == name)
    return _FACT_VALUES[kind]


ALL_MET = replace(
    READY_FOR_DOSING,
    last_preparation_at=T0 - timedelta(days=2),
    planned_dosing_at=T0,
    dosing_session_signed=True,
    dosing_sessions_done=1,
    integration_sessions_since_last_dosing=3,
    final_follow_up_recorded=True,
)


@pytest.mark.parametrize("frm,to", sorted(GATED_TRANSITIONS))
@pytest.mark.parametrize("numbers", [MAPS, OREGON], ids=["maps", "oregon"])
@pytest.mark.parametrize(
    "base", [CourseFacts(), READY_FOR_DOSING, ALL_MET], ids=["none", "ready", "all-met"]
)
def test_a_gate_reads_only_the_facts_declared_for_its_phase(frm, to, numbers, base):
    # The board gathers only GATE_FACTS[phase] for a card: any other fact must not matter.
    expected = unmet_requirements(frm, to, numbers, base)
    unread = {f.name for f in fields(CourseFacts)} - GATE_FACTS[frm]
    for name in sorted(unread):
        for value in _alternatives(name):
            changed = replace(base, **{name: value})
            assert unmet_requirements(frm, to, numbers, changed) == expected, (name, value)


def test_every_declared_fact_is_a_course_fact():
    names = {f.name for f in fields(CourseFacts)}
    for phase, declared in GATE_FACTS.items():
        assert declared <= names, phase
