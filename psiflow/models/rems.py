"""The monitoring form a regulator wants after each dosing session, tracked until submitted.

The Spravato REMS asks for its Patient Monitoring Form within 7 days of every treatment
session. The form itself is sent outside PsiFlow (the REMS portal or fax); what PsiFlow keeps
is that it is owed, by when, and who recorded it as submitted and when, so a late one shows as
overdue on the clinician's board and the patient page until someone records it.
"""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.domain import regulated as rules
from psiflow.domain.dosing import time_error
from psiflow.extensions import db
from psiflow.models.courses import Course
from psiflow.models.statements import COURSE_IDS
from psiflow.models.types import UTCDateTime, utcnow
from psiflow.models.users import User


class FormRefused(ValueError):
    """A submission the form cannot take; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str] | str):
        self.errors = errors if isinstance(errors, dict) else {"": errors}
        super().__init__("; ".join(self.errors.values()))


class RemsMonitoringForm(db.Model):
    """One dosing session's monitoring form: owed from the session's start, due `due_at`."""

    __tablename__ = "rems_monitoring_forms"
    # Boards ask, per course, for the earliest form still owed.
    __table_args__ = (sa.Index("ix_rems_monitoring_forms_open", "course_id", "submitted_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    session_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("dosing_sessions.id"), unique=True)
    form_id: so.Mapped[str] = so.mapped_column(sa.String(64))  # protocols.PRINT_FORMS key
    due_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    submitted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    submitted_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    # The REMS portal's confirmation or the fax reference, when there is one.
    reference: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    # Two people recording the same submission at once: the second is told, not recorded.
    version: so.Mapped[int] = so.mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    course: so.Mapped[Course] = so.relationship()
    session = so.relationship("DosingSession")
    submitted_by: so.Mapped[User | None] = so.relationship(foreign_keys=[submitted_by_id])

    def status(self, now: datetime) -> rules.FormStatus:
        return rules.monitoring_form_status(self.due_at, self.submitted_at, now)


# --- operations (the caller has checked access and commits once) ---------------------------


def open_monitoring_form(session, now: datetime) -> RemsMonitoringForm | None:
    """The form a new dosing session owes, when its protocol tracks one."""
    tracked = session.course.protocol.monitoring_form
    if tracked is None:
        return None
    form = RemsMonitoringForm(
        course_id=session.course.id,
        session=session,
        form_id=tracked.id,
        due_at=rules.monitoring_form_due_at(session.occurred_at, tracked.due_days),
        created_at=now,
    )
    db.session.add(form)
    return form


def record_submitted(
    form: RemsMonitoringForm,
    by: User,
    *,
    submitted_at: datetime | None,
    reference: str,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    if form.session.is_voided:
        raise FormRefused("The session was voided: no monitoring form is owed for it.")
    if form.submitted_at is not None:
        who = form.submitted_by.name if form.submitted_by else "someone"
        raise FormRefused(
            f"Already recorded as submitted by {who} on {form.submitted_at:%Y-%m-%d %H:%M} UTC."
        )
    submitted_at = submitted_at or now
    problem = time_error(submitted_at, form.session.occurred_at, now)
    if problem:
        raise FormRefused({"submitted_at": problem})
    form.submitted_at = submitted_at
    form.submitted_by_id = by.id
    form.reference = reference.strip()


# --- reading them for pages ------------------------------------------------------------------


def forms_for(course_ids) -> dict[int, list[RemsMonitoringForm]]:
    """The forms of these courses' sessions that are not voided, oldest first (one query)."""
    found: dict[int, list[RemsMonitoringForm]] = {cid: [] for cid in course_ids}
    for form in db.session.scalars(_forms_query(), {"course_ids": list(course_ids)}):
        found[form.course_id].append(form)
    return found


@functools.cache  # built once: building it and its cache key took 0.12 ms a visit
def _forms_query():
    # Imported here: models.dosing opens a form when a session starts, so it imports this one.
    from psiflow.models.dosing import DosingSession

    return (
        sa.select(RemsMonitoringForm)
        .join(DosingSession, DosingSession.id == RemsMonitoringForm.session_id)
        .where(RemsMonitoringForm.course_id.in_(COURSE_IDS), DosingSession.voided_at.is_(None))
        .options(so.joinedload(RemsMonitoringForm.submitted_by))
        .order_by(RemsMonitoringForm.due_at, RemsMonitoringForm.id)
    )


def earliest_form_due(course_id_column):
    """A column for a course's statement: when its earliest unsubmitted form is due (or NULL),
    read with the course's own row, so a board of a hundred cards runs no query more."""
    from psiflow.models.dosing import DosingSession

    return (
        sa.select(sa.func.min(RemsMonitoringForm.due_at))
        .join(DosingSession, DosingSession.id == RemsMonitoringForm.session_id)
        .where(
            RemsMonitoringForm.course_id == course_id_column,
            RemsMonitoringForm.submitted_at.is_(None),
            DosingSession.voided_at.is_(None),
        )
        .scalar_subquery()
    )
