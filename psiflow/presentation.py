"""Template filters: times in the clinic's zone, phase names."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context
from flask_login import current_user

from psiflow import access
from psiflow.domain.phases import Phase


def clinic_zone() -> ZoneInfo:
    # A page formats a time per row (hundreds on a session's page): the user Flask-Login has
    # already loaded for this request is read directly, not through the current_user proxy.
    user = g.get("_login_user") if has_request_context() else None
    if user is None:
        user = current_user
    tz = getattr(user, "timezone", None) if user else None
    return ZoneInfo(tz or current_app.config["CLINIC_TIMEZONE"])


def local_time(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(clinic_zone()).strftime(fmt)


def local_date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(clinic_zone()).date()
    return value.strftime("%d %b %Y")


def from_local_input(value: datetime) -> datetime:
    """A naive date-time typed in the clinic's zone, as aware UTC."""
    return value.replace(tzinfo=clinic_zone()).astimezone(UTC)


def to_local_input(value: datetime | None) -> datetime | None:
    """An aware UTC time as the naive clinic-local value a datetime-local input shows."""
    if value is None:
        return None
    return value.astimezone(clinic_zone()).replace(tzinfo=None)


def days_since(value: datetime | None) -> int:
    if value is None:
        return 0
    return (datetime.now(UTC) - value).days


def init_app(app) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(days_since, "days_since")
    app.add_template_global(Phase, "Phase")
    app.add_template_global(clinic_zone, "clinic_zone")
    # What the navigation and page texts show depends on the role: ask access.py, not the role.
    app.add_template_global(access.has_caseload, "has_caseload")
    app.add_template_global(access.works_on_practice_patients, "works_on_practice_patients")
    app.add_template_global(access.sees_supervisees_patients, "sees_supervisees_patients")
