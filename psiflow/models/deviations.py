"""A supervisor's recorded deviation from the dose a protocol gives, on a live session.

The MAPS protocols give an initial 80 or 120 mg and a supplemental half dose; the Spravato
devices give 56 or 84 mg. A different dose is sometimes the right one for the patient in the
room, but it is the supervisor's decision, with a reason, recorded before the dose is given:
the dose entry then accepts that amount, and the record shows why.
"""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.domain.dosing import DoseKind
from psiflow.extensions import db
from psiflow.models.types import UTCDateTime, enum_column, utcnow
from psiflow.models.users import User


class DeviationRefused(ValueError):
    """A deviation that cannot be recorded; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str] | str):
        self.errors = errors if isinstance(errors, dict) else {"": errors}
        super().__init__("; ".join(self.errors.values()))


class DoseDeviation(db.Model):
    __tablename__ = "dose_deviations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    session_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("dosing_sessions.id"), index=True)
    kind: so.Mapped[DoseKind] = so.mapped_column(enum_column(DoseKind, 16))
    amount: so.Mapped[float]
    reason: so.Mapped[str] = so.mapped_column(sa.Text)
    recorded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)

    recorded_by: so.Mapped[User] = so.relationship()


def deviations_of(session_id: int) -> list[DoseDeviation]:
    """The session's deviations, oldest first, with who recorded each (one query)."""
    return list(db.session.scalars(_deviations_query(), {"session_id": session_id}))


@functools.cache  # built once: building it and its cache key took 0.078 ms a visit
def _deviations_query():
    return (
        sa.select(DoseDeviation)
        .where(DoseDeviation.session_id == sa.bindparam("session_id"))
        .options(so.joinedload(DoseDeviation.recorded_by))
        .order_by(DoseDeviation.recorded_at, DoseDeviation.id)
    )


def approved_amounts(session_id: int, kind: DoseKind) -> list[float]:
    """The amounts a supervisor's deviation allows for this session's `kind` of dose."""
    return [d.amount for d in deviations_of(session_id) if d.kind == kind]


def record_dose_deviation(
    session,
    *,
    kind: DoseKind,
    amount: float,
    reason: str,
    by: User,
    now: datetime | None = None,
) -> DoseDeviation:
    """Approve `amount` for the session's `kind` of dose. The caller has checked that `by` is a
    supervisor of this patient (access.py)."""
    if session.is_voided:
        raise DeviationRefused("This session was voided; nothing more is recorded in it.")
    if session.is_signed:
        raise DeviationRefused("This session is signed: add an addendum instead.")
    rule = session.protocol.dose
    if kind == DoseKind.SUPPLEMENTAL and not rule.supplemental_allowed:
        raise DeviationRefused({"kind": "This protocol gives no supplemental dose."})
    if any(d.kind == kind for d in session.doses()):
        raise DeviationRefused({"kind": f"The {kind.label.lower()} is already recorded."})
    low, high = (
        (rule.min, rule.max)
        if kind == DoseKind.INITIAL
        else (rule.supplemental_min, rule.supplemental_max)
    )
    if amount is None or not low <= amount <= high:
        # The limits are the protocol's safety range: a deviation picks within it.
        raise DeviationRefused(
            {
                "amount": f"A deviation stays within the protocol's range for the "
                f"{kind.label.lower()}: {low:g} to {high:g} {rule.unit}."
            }
        )
    if not reason.strip():
        raise DeviationRefused({"reason": "Give the reason for the deviation."})
    deviation = DoseDeviation(
        session_id=session.id,
        kind=kind,
        amount=amount,
        reason=reason.strip(),
        recorded_at=now or utcnow(),
        recorded_by_id=by.id,
    )
    db.session.add(deviation)
    return deviation
