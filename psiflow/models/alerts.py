"""Safety alerts: every danger the rules in `domain/safety.py` recognise reaches a person.

An alert carries the severity of its kind; open ones are counted in every supervisor's
navigation; a critical one is also emailed (no patient data) once its transaction commits;
an alert whose cause is resolved closes itself with that reason.
"""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.domain.safety import AlertKind, Resolution, Severity, resolution_errors
from psiflow.extensions import db
from psiflow.models.courses import (
    CARE_TEAM_MEMBERS,
    Course,
    care_team_conditions,
    fact_source,
)
from psiflow.models.patients import (
    Patient,
    caseload_filter,
    caseload_key,
    caseload_params,
)
from psiflow.models.statements import COURSE_IDS, fixed, likely, read_columns
from psiflow.models.types import UTCDateTime, enum_column, utcnow
from psiflow.models.users import User

__all__ = ["Alert", "AlertKind", "AlertRefused", "Resolution", "Severity", "raise_alert"]


class AlertRefused(ValueError):
    """A closing the alert cannot take; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(" ".join(errors.values()))


_OPEN = sa.text("acknowledged_at IS NULL")
# What a team's open alerts are read by, after the clinician (`team_open_alerts`).
TEAM_OPEN_INDEXED = ("is_practice", "severity", "raised_at", "id")


class Alert(db.Model):
    __tablename__ = "alerts"
    __table_args__ = (
        # A course's open alerts by severity (the gate facts' open suicide-risk alerts).
        sa.Index(
            "ix_alerts_open_course",
            "course_id",
            "severity",
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        # A team's open alerts: one range per clinician of the team, whatever the network.
        sa.Index(
            "ix_alerts_open_lead",
            "lead_clinician_id",
            *TEAM_OPEN_INDEXED,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        sa.Index(
            "ix_alerts_open_co",
            "co_facilitator_id",
            *TEAM_OPEN_INDEXED,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    kind: so.Mapped[AlertKind] = so.mapped_column(enum_column(AlertKind, 32))
    severity: so.Mapped[Severity] = so.mapped_column(enum_column(Severity, 16))
    # What happened, in clinical words; shown only inside the app to the care team.
    message: so.Mapped[str] = so.mapped_column(sa.Text)
    source_type: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    source_id: so.Mapped[int | None]
    raised_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    raised_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    acknowledged_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    acknowledged_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    acknowledgement: so.Mapped[str | None] = so.mapped_column(sa.Text)
    resolution: so.Mapped[Resolution | None] = so.mapped_column(enum_column(Resolution, 24))
    # A copy of the care team of the course's patient (`models.stored.care_team`), as each
    # course carries it: a team's open alerts are a range of an index per clinician.
    lead_clinician_id: so.Mapped[int | None]
    co_facilitator_id: so.Mapped[int | None]
    is_practice: so.Mapped[bool | None]

    course: so.Mapped[Course] = so.relationship()
    acknowledged_by: so.Mapped[User | None] = so.relationship(foreign_keys=[acknowledged_by_id])

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


# Critical alerts raised in a transaction, emailed once it commits (`psiflow.notifications`).
PENDING_EMAIL = "psiflow_critical_alerts"


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
        severity=kind.severity,
        message=message,
        source_type=getattr(source, "record_type", None),
        source_id=getattr(source, "id", None),
        raised_at=now or utcnow(),
        raised_by_id=by.id if by else None,
    )
    db.session.add(alert)
    if alert.severity == Severity.CRITICAL:
        db.session.info.setdefault(PENDING_EMAIL, []).append(alert)
    return alert


def acknowledge_alert(
    alert: Alert,
    by: User,
    note: str,
    now: datetime | None = None,
    resolution: Resolution = Resolution.ACKNOWLEDGED,
) -> None:
    if alert.acknowledged_at is not None:
        raise AlertRefused({"": "The alert was already closed."})
    errors = resolution_errors(alert.kind, resolution, note)
    if errors:
        raise AlertRefused(errors)
    _close(alert, by, note.strip(), resolution, now)


def close_resolved(course_id: int, kind: AlertKind, source, by: User, reason: str, now=None):
    """Close the open alerts of `kind` that `source` raised: their cause is resolved."""
    open_alerts = db.session.scalars(
        sa.select(Alert).where(
            Alert.course_id == course_id,
            Alert.kind == kind,
            Alert.source_type == source.record_type,
            Alert.source_id == source.id,
            Alert.acknowledged_at.is_(None),
        )
    )
    for alert in open_alerts:
        _close(alert, by, reason, Resolution.CAUSE_RESOLVED, now)


def _close(alert: Alert, by: User, note: str, resolution: Resolution, now) -> None:
    alert.acknowledged_at = now or utcnow()
    alert.acknowledged_by_id = by.id
    alert.acknowledgement = note
    alert.resolution = resolution


# --- what a supervisor sees of the team's alerts -------------------------------------------


SEVERITY_RANK = sa.case({s.value: s.rank for s in Severity}, value=Alert.severity)


def of_team(statement, supervisor, practice: bool = False):
    """`statement` over alerts, kept to those of the supervisor's caseload (their patients
    joined in, for the statement to read or load): real patients' alerts, or with `practice`
    those of the trainees' practice patients, never the two mixed."""
    return (
        statement.join(Alert.course)
        .join(Course.patient)
        .where(caseload_filter(supervisor), Patient.is_practice.is_(practice))
    )


def team_open_alerts(role, active: bool, critical_only: bool = False):
    """The open alerts of the caseload (any supervisor of the role, `CASELOAD_USER` bound at
    execution) of one kind of patient (`practice` bound), as a subquery of their id, severity
    and time: from the care team each alert carries, one range of `ix_alerts_open_lead` and of
    `ix_alerts_open_co` per member of the team.

    Counted from the team's courses (each asked for its open alerts), they cost 2 ms of every
    supervisor page on SQLite at 100,000 patients; from the network's open alerts (each asked
    the rule of its patient), a cost that grew with the network."""
    branches = []
    for column in CARE_TEAM_MEMBERS:
        alerts = Alert.__table__.alias(f"open_by_{column}")
        conditions = care_team_conditions(
            alerts, column, role, active, practice=sa.bindparam("practice")
        )
        # Still a term of its own for SQLite, which reads the partial index only where the
        # statement states the index's own condition.
        conditions.append(likely(alerts.c.acknowledged_at.is_(None), 0.9))
        if critical_only:
            # Written into the statement (`fixed`): sent as a parameter, PostgreSQL's shared
            # plan could not tell it would cut each range to a few rows.
            conditions.append(alerts.c.severity == fixed(Alert.severity, Severity.CRITICAL))
        branches.append(
            sa.select(alerts.c.id, alerts.c.severity, alerts.c.raised_at).where(*conditions)
        )
    # UNION, not UNION ALL: an alert its patient's lead and co-facilitator both bring counts once.
    return sa.union(*branches).subquery("team_open_alerts")


# Both run on every page a supervisor opens (the navigation's count) or on their board: built
# once per role, as the board's own statements are (building and keying one cost about as
# much as SQLite running it).
@functools.cache
def _open_counts_statement(role, active: bool):
    alerts = team_open_alerts(role, active)
    return sa.select(alerts.c.severity, sa.func.count()).group_by(alerts.c.severity)


@functools.cache
def _open_critical_statement(role, active: bool):
    critical = team_open_alerts(role, active, critical_only=True)
    return (
        sa.select(Alert)
        .join(critical, critical.c.id == Alert.id)
        .join(Alert.course)
        .join(Course.patient)
        .options(so.contains_eager(Alert.course).contains_eager(Course.patient))
        .order_by(critical.c.raised_at.desc(), critical.c.id.desc())
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


def open_alert_counts(supervisor, practice: bool = False) -> dict[Severity, int]:
    """Open alerts of the team by severity, every severity present (0 where none): of real
    patients, or with `practice` of the trainees' practice patients."""
    rows = read_columns(
        _open_counts_statement(*caseload_key(supervisor)),
        {**caseload_params(supervisor), "practice": practice},
    )
    counts = dict.fromkeys(Severity, 0)
    counts.update(dict(rows.tuples().all()))
    return counts


def open_critical_alerts(supervisor, limit: int) -> list[Alert]:
    """The team's open critical alerts of real patients, newest first: the top of the
    supervisor's board."""
    return list(
        db.session.scalars(
            _open_critical_statement(*caseload_key(supervisor)),
            {**caseload_params(supervisor), "limit": limit, "practice": False},
        )
    )


_OPEN_RISK_SQL = (
    sa.select(Alert.course_id, sa.func.count(Alert.id))
    .where(
        Alert.course_id.in_(COURSE_IDS),
        Alert.kind == AlertKind.SUICIDE_RISK,
        Alert.acknowledged_at.is_(None),
    )
    .group_by(Alert.course_id)
)


@fact_source("open_suicide_risk_alerts")
def risk_facts(courses: list[Course], connection=None) -> dict[int, dict]:
    """`open_suicide_risk_alerts`: suicide-risk alerts no supervisor has closed yet."""
    rows = (connection or db.session).execute(
        _OPEN_RISK_SQL, {"course_ids": [c.id for c in courses]}
    )
    return {course_id: {"open_suicide_risk_alerts": n} for course_id, n in rows}
