"""Values a regulation or a trial protocol fixes, and the dosing-session writes they refuse.

- Oregon (OAR 333-333-5000(1)): preparation 24 hours to 90 days before the *commencement* of
  the first administration session, checked again when that session actually starts.
- Doses the protocol gives (the Spravato devices: 56 or 84 mg, 56 mg on the first induction day;
  MAPS MAPP1/MAPP2: 80 or 120 mg, then a half dose), unless a supervisor records a deviation.
- Blood pressures the record must hold, each inside its window (Spravato REMS: before the
  dose, about 40 minutes after it, before discharge).
- A monitoring form due to a regulator after each session (Spravato REMS: within 7 days).

The numbers are protocol data (`psiflow/protocols/*.toml`); these plain functions take them,
the times and the rows as arguments, and never read the clock.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from psiflow.domain.dosing import DoseKind

# The lines the preparation -> dosing gate writes for its timing requirements
# (`domain.phases._preparation_timing`); tests/domain/test_regulated.py keeps them in step.
_TIMING_REQUIREMENTS = (
    "Preparation at least ",
    "Preparation no more than ",
    "Dosing session date planned",
)


# --- the preparation window at the start of the dosing session ------------------------------


def timing_overridden(unmet_at_override: Iterable[str] | None) -> bool:
    """Whether a supervisor's override of the gate to dosing set aside its timing requirement:
    the recorded deviation that lets the session start outside the window."""
    return any(line.startswith(_TIMING_REQUIREMENTS) for line in unmet_at_override or ())


def preparation_window_error(
    min_hours: int | None,
    max_days: int | None,
    *,
    last_preparation_at: datetime | None,
    starts_at: datetime,
) -> str | None:
    """Why a first dosing session cannot start at `starts_at` (None: it can).

    Oregon counts from the commencement of the administration session (OAR 333-333-5000(1)),
    so the planned date the gate checked is not enough. With no signed preparation session on
    record the gate's session count already stood in the way (or a supervisor overrode it).
    """
    if last_preparation_at is None or (min_hours is None and max_days is None):
        return None
    gap = starts_at - last_preparation_at
    last = f"{last_preparation_at:%Y-%m-%d %H:%M} UTC"
    if min_hours is not None and gap < timedelta(hours=min_hours):
        opens = last_preparation_at + timedelta(hours=min_hours)
        return (
            f"The protocol needs at least {min_hours} hours between the last signed preparation "
            f"session ({last}) and the start of the dosing session: it can start from "
            f"{opens:%Y-%m-%d %H:%M} UTC."
        )
    if max_days is not None and gap > timedelta(days=max_days):
        return (
            f"The last signed preparation session ({last}) was more than {max_days} days "
            f"before this start: the protocol needs one within {max_days} days. Hold and sign "
            "a new preparation session first."
        )
    return None


# --- doses ----------------------------------------------------------------------------------

_DEVIATION_HINT = " A supervisor may record a deviation with a reason on this session."


def dose_value_errors(
    rule,
    kind: DoseKind,
    amount: float,
    *,
    initial: float | None,
    first_session: bool,
    approved: Iterable[float] = (),
) -> dict[str, str]:
    """Field -> why `amount` is not a dose the protocol gives here (its `DoseRule`).

    `initial`: the initial dose already given in this session; `first_session`: this is the
    course's first dosing session; `approved`: amounts a supervisor's recorded deviation allows
    for this kind of dose. The protocol's min and max stay limits a deviation does not move
    (`domain.dosing.dose_errors` checks them).
    """
    if any(_same(amount, a) for a in approved):
        return {}
    unit = rule.unit
    if kind == DoseKind.INITIAL:
        if first_session and rule.first_session is not None:
            if not _same(amount, rule.first_session):
                return {
                    "amount": f"The first dosing session of the course gives "
                    f"{rule.first_session:g} {unit}." + _DEVIATION_HINT
                }
            return {}
        if rule.allowed and not any(_same(amount, a) for a in rule.allowed):
            doses = " or ".join(f"{a:g}" for a in rule.allowed)
            return {"amount": f"This protocol gives {doses} {unit}." + _DEVIATION_HINT}
        return {}
    if rule.supplemental_fraction is not None and initial is not None:
        expected = initial * rule.supplemental_fraction
        if not _same(amount, expected):
            return {
                "amount": f"The supplemental dose is {_fraction(rule.supplemental_fraction)} "
                f"the initial one: {expected:g} {unit} after {initial:g} {unit}." + _DEVIATION_HINT
            }
    return {}


def _same(a: float, b: float) -> bool:
    # Doses are typed as decimals: 0.1 mg is far below any device or capsule step.
    return math.isclose(a, b, rel_tol=0, abs_tol=1e-6)


def _fraction(value: float) -> str:
    return "half" if _same(value, 0.5) else f"{value:g} times"


# --- blood pressures the record must hold ---------------------------------------------------


@dataclass(frozen=True)
class BloodPressureStatus:
    check: object  # a protocols.BloodPressureCheck
    window: tuple[datetime, datetime] | None  # None until its anchor (dose, discharge) exists
    taken_at: datetime | None  # the reading inside the window, if any

    @property
    def met(self) -> bool:
        return self.taken_at is not None

    @property
    def gap(self) -> str:
        return f"{self.check.label} ({window_words(self.check)})"


def window_words(check) -> str:
    """The window in words: 'in the 60 minutes before the first dose', '30-50 minutes after'."""
    anchor = "the first dose" if check.anchor == "first_dose" else "discharge"
    low, high = check.from_minutes, check.to_minutes
    if high <= 0:
        if high == 0:
            return f"in the {-low} minutes before {anchor}"
        return f"{-high}-{-low} minutes before {anchor}"
    if low >= 0:
        return f"{low}-{high} minutes after {anchor}"
    return f"from {-low} minutes before to {high} minutes after {anchor}"


def blood_pressure_status(
    checks,
    *,
    first_dose_at: datetime | None,
    discharged_at: datetime | None,
    readings: Iterable[datetime],
) -> list[BloodPressureStatus]:
    """Each check of the protocol and the blood-pressure reading (its time) that meets it.

    `readings`: when each reading with a blood pressure was taken.
    """
    times = sorted(readings)
    anchors = {"first_dose": first_dose_at, "discharge": discharged_at}
    found = []
    for check in checks:
        anchor = anchors[check.anchor]
        if anchor is None:
            found.append(BloodPressureStatus(check, None, None))
            continue
        start = anchor + timedelta(minutes=check.from_minutes)
        end = anchor + timedelta(minutes=check.to_minutes)
        # The latest reading in the window: the one nearest discharge is the one that counts.
        taken = next((t for t in reversed(times) if start <= t <= end), None)
        found.append(BloodPressureStatus(check, (start, end), taken))
    return found


def blood_pressure_gaps(checks, **times) -> list[str]:
    """What signing still needs: each check without a reading inside its window."""
    return ["Blood pressure: " + s.gap for s in blood_pressure_status(checks, **times) if not s.met]


def discharge_blood_pressure_errors(
    checks, *, discharged_at: datetime, readings: Iterable[datetime]
) -> dict[str, str]:
    """A check anchored on discharge must be met before the patient leaves: afterwards no
    reading can be taken inside its window, and the record could never be signed."""
    before_leaving = [c for c in checks if c.anchor == "discharge"]
    status = blood_pressure_status(
        before_leaving, first_dose_at=None, discharged_at=discharged_at, readings=readings
    )
    missing = [s.gap for s in status if not s.met]
    if not missing:
        return {}
    return {"discharged_at": "Record " + "; ".join(missing).lower() + " first."}


# --- the monitoring form due to a regulator -------------------------------------------------


class FormStatus(enum.StrEnum):
    DUE = "due"
    OVERDUE = "overdue"
    SUBMITTED = "submitted"

    @property
    def label(self) -> str:
        return {"due": "Due", "overdue": "Overdue", "submitted": "Submitted"}[self.value]


def monitoring_form_due_at(session_started_at: datetime, due_days: int) -> datetime:
    """REMS: submitted within `due_days` days of the treatment session."""
    return session_started_at + timedelta(days=due_days)


def monitoring_form_status(
    due_at: datetime, submitted_at: datetime | None, now: datetime
) -> FormStatus:
    """Due until the due time itself; overdue after it; submitted once recorded so."""
    if submitted_at is not None:
        return FormStatus.SUBMITTED
    return FormStatus.OVERDUE if now > due_at else FormStatus.DUE
