"""Safety alerts that reach the supervisor at once: serious adverse events, risk screens."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.extensions import db
from psiflow.models.courses import Course
from psiflow.models.types import UTCDateTime, enum_column, utcnow
from psiflow.models.users import User


class AlertKind(enum.StrEnum):
    SCREENING_FLAG = "screening_flag"
    SUICIDE_RISK = "suicide_risk"
    SERIOUS_ADVERSE_EVENT = "serious_adverse_event"
    SAFETY_CHECK_IN = "safety_check_in"
    VITALS = "vitals"

    @property
    def label(self) -> str:
        return {
            "screening_flag": "Contraindication flag",
            "suicide_risk": "Suicide risk screen",
            "serious_adverse_event": "Serious adverse event",
            "safety_check_in": "Safety check-in",
            "vitals": "Vital signs out of range",
        }[self.value]


class Alert(db.Model):
    __tablename__ = "alerts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    kind: so.Mapped[AlertKind] = so.mapped_column(enum_column(AlertKind, 32))
    # What happened, in clinical words; shown only inside the app to the care team.
    message: so.Mapped[str] = so.mapped_column(sa.Text)
    source_type: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    source_id: so.Mapped[int | None]
    raised_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    raised_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    acknowledged_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    acknowledged_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    acknowledgement: so.Mapped[str | None] = so.mapped_column(sa.Text)

    course: so.Mapped[Course] = so.relationship()
    acknowledged_by: so.Mapped[User | None] = so.relationship(foreign_keys=[acknowledged_by_id])


def raise_alert(
    course: Course,
    kind: AlertKind,
    message: str,
    *,
    source=None,
    by: User | None = None,
    now: datetime | None = None,
) -> Alert:
    alert = Alert(
        course=course,
        kind=kind,
        message=message,
        source_type=getattr(source, "record_type", None),
        source_id=getattr(source, "id", None),
        raised_at=now or utcnow(),
        raised_by_id=by.id if by else None,
    )
    db.session.add(alert)
    return alert


def acknowledge_alert(alert: Alert, by: User, note: str, now: datetime | None = None) -> None:
    if alert.acknowledged_at is not None:
        raise ValueError("The alert was already acknowledged.")
    alert.acknowledged_at = now or utcnow()
    alert.acknowledged_by_id = by.id
    alert.acknowledgement = note.strip()
