"""The treatment course as a phase machine, with one gate per forward transition.

A gate is a pure function of a snapshot of the course's records (`CourseFacts`) and the
protocol it follows; it returns the unmet requirements, so an empty list means open. A
requirement whose records do not exist yet is reported as unmet: no gate opens by omission.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class Phase(enum.StrEnum):
    SCREENING = "screening"
    PREPARATION = "preparation"
    DOSING = "dosing"
    INTEGRATION = "integration"
    FOLLOW_UP = "follow_up"
    COMPLETED = "completed"
    ON_HOLD = "on_hold"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return PHASE_LABELS[self]


PHASE_LABELS = {
    Phase.SCREENING: "Screening",
    Phase.PREPARATION: "Preparation",
    Phase.DOSING: "Dosing",
    Phase.INTEGRATION: "Integration",
    Phase.FOLLOW_UP: "Follow-up",
    Phase.COMPLETED: "Completed",
    Phase.ON_HOLD: "On hold",
    Phase.WITHDRAWN: "Withdrawn",
}

ACTIVE_PHASES = (
    Phase.SCREENING,
    Phase.PREPARATION,
    Phase.DOSING,
    Phase.INTEGRATION,
    Phase.FOLLOW_UP,
)
CLOSED_PHASES = (Phase.COMPLETED, Phase.WITHDRAWN)

# The clinical path; integration -> dosing is the loop of multi-session protocols (MDMA: 3 doses).
GATED_TRANSITIONS = frozenset(
    {
        (Phase.SCREENING, Phase.PREPARATION),
        (Phase.PREPARATION, Phase.DOSING),
        (Phase.DOSING, Phase.INTEGRATION),
        (Phase.INTEGRATION, Phase.DOSING),
        (Phase.INTEGRATION, Phase.FOLLOW_UP),
        (Phase.FOLLOW_UP, Phase.COMPLETED),
    }
)


# The phases a course leaves through a gate: only these show what the next gate needs.
GATED_FROM = frozenset(frm for frm, _ in GATED_TRANSITIONS)


class PhaseError(ValueError):
    """A transition the phase machine does not allow."""


@dataclass(frozen=True)
class CourseFacts:
    """What the gates need to know about a course's records, gathered by the models.

    Defaults describe a course with no records at all, so every gate is closed.
    """

    screening_signed: bool = False
    uncleared_flags: int = 0
    consent_recorded: bool = False
    signed_preparation_sessions: int = 0
    set_intake_complete: bool = False
    intention_written: bool = False
    missing_baseline_measures: tuple[str, ...] = ()
    baseline_recorded: bool = False
    transport_arranged: bool = False
    # Oregon-style timing: the last signed preparation session and when dosing is planned.
    last_preparation_at: datetime | None = None
    planned_dosing_at: datetime | None = None
    unsigned_required_forms: tuple[str, ...] = ()
    dosing_session_signed: bool = False
    dosing_sessions_done: int = 0
    integration_sessions_since_last_dosing: int = 0
    # Suicide-risk alerts (C-SSRS moderate or high, PHQ-9 item 9) no supervisor has closed
    # with a safety plan or a clearance: they hold the gate to dosing (DESIGN 4).
    open_suicide_risk_alerts: int = 0
    final_follow_up_recorded: bool = False
    missing_follow_up_measures: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class GateNumbers:
    """The protocol values the gates use (a subset of a Protocol, so gates stay testable alone)."""

    min_preparation_sessions: int
    dosing_sessions: int
    integration_sessions_per_dosing: int
    preparation_min_hours_before_dosing: int | None = None
    preparation_max_days_before_dosing: int | None = None


def gate_numbers(protocol) -> GateNumbers:
    return GateNumbers(
        min_preparation_sessions=protocol.min_preparation_sessions,
        dosing_sessions=protocol.dosing_sessions,
        integration_sessions_per_dosing=protocol.integration_sessions_per_dosing,
        preparation_min_hours_before_dosing=protocol.preparation_min_hours_before_dosing,
        preparation_max_days_before_dosing=protocol.preparation_max_days_before_dosing,
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _screening_to_preparation(f: CourseFacts, n: GateNumbers) -> list[str]:
    unmet = []
    if not f.screening_signed:
        unmet.append("Medical and psychiatric screening signed")
    if f.uncleared_flags:
        unmet.append(
            f"{_plural(f.uncleared_flags, 'contraindication flag')} "
            f"{'waits' if f.uncleared_flags == 1 else 'wait'} for a supervisor to clear"
        )
    if not f.consent_recorded:
        unmet.append("Informed consent recorded")
    return unmet


def _preparation_timing(f: CourseFacts, n: GateNumbers) -> list[str]:
    if (
        n.preparation_min_hours_before_dosing is None
        and n.preparation_max_days_before_dosing is None
    ):
        return []
    if f.planned_dosing_at is None:
        return ["Dosing session date planned (the protocol times preparation against it)"]
    if f.last_preparation_at is None:
        return []  # the session count requirement already says a session is missing
    unmet = []
    gap = f.planned_dosing_at - f.last_preparation_at
    low = n.preparation_min_hours_before_dosing
    high = n.preparation_max_days_before_dosing
    if low is not None and gap < timedelta(hours=low):
        unmet.append(
            f"Preparation at least {low} hours before dosing "
            f"(last preparation {f.last_preparation_at:%Y-%m-%d %H:%M} UTC, "
            f"dosing planned {f.planned_dosing_at:%Y-%m-%d %H:%M} UTC)"
        )
    if high is not None and gap > timedelta(days=high):
        unmet.append(
            f"Preparation no more than {high} days before dosing "
            f"(last preparation {f.last_preparation_at:%Y-%m-%d}, "
            f"dosing planned {f.planned_dosing_at:%Y-%m-%d})"
        )
    return unmet


def _suicide_risk(f: CourseFacts) -> list[str]:
    if not f.open_suicide_risk_alerts:
        return []
    n = f.open_suicide_risk_alerts
    return [
        f"{_plural(n, 'suicide-risk alert')} {'waits' if n == 1 else 'wait'} for a supervisor's "
        "safety plan or clearance"
    ]


def _preparation_to_dosing(f: CourseFacts, n: GateNumbers) -> list[str]:
    unmet = _suicide_risk(f)
    if f.signed_preparation_sessions < n.min_preparation_sessions:
        unmet.append(
            f"{_plural(n.min_preparation_sessions, 'signed preparation session')} "
            f"({f.signed_preparation_sessions} so far)"
        )
    if not f.set_intake_complete:
        unmet.append("Set intake complete and signed")
    if not f.intention_written:
        unmet.append("Intention written in the patient's words")
    if not f.baseline_recorded:
        unmet.append("Baseline measures recorded")
    for instrument in f.missing_baseline_measures:
        unmet.append(f"Baseline {instrument} recorded")
    if not f.transport_arranged:
        unmet.append("Transport home arranged")
    for form in f.unsigned_required_forms:
        unmet.append(f"{form} signed before dosing")
    unmet.extend(_preparation_timing(f, n))
    return unmet


def _dosing_to_integration(f: CourseFacts, n: GateNumbers) -> list[str]:
    if f.dosing_session_signed:
        return []
    return ["Dosing session record signed (checklist, dose and discharge complete)"]


def _integration_minimum(f: CourseFacts, n: GateNumbers) -> list[str]:
    have, need = f.integration_sessions_since_last_dosing, n.integration_sessions_per_dosing
    if have >= need:
        return []
    return [f"{_plural(need, 'signed integration session')} since the last dosing ({have} so far)"]


def _integration_to_dosing(f: CourseFacts, n: GateNumbers) -> list[str]:
    unmet = _suicide_risk(f) + _integration_minimum(f, n)
    if f.dosing_sessions_done >= n.dosing_sessions:
        unmet.append(
            f"All {_plural(n.dosing_sessions, 'dosing session')} of the protocol are done: "
            "move on to follow-up"
        )
    return unmet


def _integration_to_follow_up(f: CourseFacts, n: GateNumbers) -> list[str]:
    unmet = []
    if f.dosing_sessions_done < n.dosing_sessions:
        unmet.append(
            f"{_plural(n.dosing_sessions, 'dosing session')} done ({f.dosing_sessions_done} so far)"
        )
    unmet.extend(_integration_minimum(f, n))
    return unmet


def _follow_up_to_completed(f: CourseFacts, n: GateNumbers) -> list[str]:
    unmet = []
    if not f.final_follow_up_recorded:
        unmet.append("Final follow-up measures recorded")
    for instrument in f.missing_follow_up_measures:
        unmet.append(f"Follow-up {instrument} recorded")
    return unmet


_GATES = {
    (Phase.SCREENING, Phase.PREPARATION): _screening_to_preparation,
    (Phase.PREPARATION, Phase.DOSING): _preparation_to_dosing,
    (Phase.DOSING, Phase.INTEGRATION): _dosing_to_integration,
    (Phase.INTEGRATION, Phase.DOSING): _integration_to_dosing,
    (Phase.INTEGRATION, Phase.FOLLOW_UP): _integration_to_follow_up,
    (Phase.FOLLOW_UP, Phase.COMPLETED): _follow_up_to_completed,
}
assert set(_GATES) == GATED_TRANSITIONS

# The facts the gates out of each phase read: a board gathers, per card, only these (a course
# in dosing needs no preparation records read). tests/domain/test_phases.py proves each gate
# gives the same answer whatever the facts not listed for its phase hold.
GATE_FACTS: dict[Phase, frozenset[str]] = {
    Phase.SCREENING: frozenset({"screening_signed", "uncleared_flags", "consent_recorded"}),
    Phase.PREPARATION: frozenset(
        {
            "signed_preparation_sessions",
            "set_intake_complete",
            "intention_written",
            "baseline_recorded",
            "missing_baseline_measures",
            "transport_arranged",
            "unsigned_required_forms",
            "last_preparation_at",
            "planned_dosing_at",
            "open_suicide_risk_alerts",
        }
    ),
    Phase.DOSING: frozenset({"dosing_session_signed"}),
    Phase.INTEGRATION: frozenset(
        {
            "integration_sessions_since_last_dosing",
            "dosing_sessions_done",
            "open_suicide_risk_alerts",
        }
    ),
    Phase.FOLLOW_UP: frozenset({"final_follow_up_recorded", "missing_follow_up_measures"}),
}
assert set(GATE_FACTS) == GATED_FROM


# Per phase, the forward phases its gates lead to, in clinical order: asked for every card of
# a board.
_NEXT: dict[Phase, tuple[Phase, ...]] = {
    phase: tuple(to for (frm, to) in _GATES if frm == phase) for phase in Phase
}


def next_phases(current: Phase) -> list[Phase]:
    """The forward (gated) phases reachable from `current`, in clinical order."""
    return list(_NEXT[current])


def unmet_requirements(
    current: Phase, to: Phase, numbers: GateNumbers, facts: CourseFacts
) -> list[str]:
    if (current, to) not in _GATES:
        raise PhaseError(f"A course cannot go from {current.label} to {to.label}.")
    return _GATES[(current, to)](facts, numbers)


def forward_gates(
    current: Phase, numbers: GateNumbers, facts: CourseFacts
) -> list[tuple[Phase, list[str]]]:
    """Each forward phase the protocol still allows from `current`, with what its gate needs.

    A protocol whose dosing sessions are all done offers no way back to dosing: a single-dose
    course in integration goes on to follow-up only."""
    return [
        (to, _GATES[(current, to)](facts, numbers))
        for to in next_phases(current)
        if _protocol_forbids(current, to, numbers, facts) is None
    ]


def _protocol_forbids(
    current: Phase, to: Phase, numbers: GateNumbers, facts: CourseFacts
) -> str | None:
    """Why the protocol itself allows no move from `current` to `to` now: not a gate a
    supervisor may override, but the protocol's own number of dosing sessions."""
    if (
        current == Phase.INTEGRATION
        and to == Phase.DOSING
        and facts.dosing_sessions_done >= numbers.dosing_sessions
    ):
        return (
            f"The protocol has {_plural(numbers.dosing_sessions, 'dosing session')} and "
            "all are done: the course goes on to follow-up, not back to dosing."
        )
    return None


def check_protocol_allows(
    current: Phase, to: Phase, numbers: GateNumbers, facts: CourseFacts
) -> None:
    """Raise PhaseError for a move the protocol does not allow, override or not."""
    refusal = _protocol_forbids(current, to, numbers, facts)
    if refusal is not None:
        raise PhaseError(refusal)


def check_transition(
    current: Phase, to: Phase, *, resume_to: Phase | None = None, reason: str = ""
) -> None:
    """Raise PhaseError unless the machine allows current -> to (gates aside)."""
    if current in CLOSED_PHASES:
        raise PhaseError(f"The course is {current.label.lower()}; it cannot change phase.")
    if to == Phase.WITHDRAWN:
        if not reason.strip():
            raise PhaseError("Withdrawing a course needs a reason.")
        return
    if to == Phase.ON_HOLD:
        if current == Phase.ON_HOLD:
            raise PhaseError("The course is already on hold.")
        if not reason.strip():
            raise PhaseError("Putting a course on hold needs a reason.")
        return
    if current == Phase.ON_HOLD:
        if resume_to is None or to != resume_to:
            raise PhaseError("A course on hold resumes only to the phase it left.")
        return
    if (current, to) not in _GATES:
        raise PhaseError(f"A course cannot go from {current.label} to {to.label}.")
