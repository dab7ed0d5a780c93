"""Template filters: times in the clinic's zone, phase names."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context
from flask_login import current_user
from jinja2 import pass_context

from psiflow import access
from psiflow.domain import instruments
from psiflow.domain.phases import Phase


def clinic_zone() -> ZoneInfo:
    # Worked out once per request and user: a page may ask for it for every row it formats.
    if has_request_context():
        known = g.get("_psiflow_clinic_zone")
        user = g.get("_login_user")
        if known is not None and known[0] is user:
            return known[1]
        zone = _zone_of(user if user is not None else current_user)
        g._psiflow_clinic_zone = (user, zone)
        return zone
    return _zone_of(current_user)


def _zone_of(user) -> ZoneInfo:
    tz = getattr(user, "timezone", None) if user else None
    return ZoneInfo(tz or current_app.config["CLINIC_TIMEZONE"])


# The month abbreviations `%b` writes in the C locale, which Python keeps unless a program
# changes LC_TIME (PsiFlow never does).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day(d) -> str:
    return f"{d.day:02d} {_MONTHS[d.month - 1]} {d.year}"


# The formats the pages use, written directly: strftime took twice as long, and a long
# history formats some hundred and fifty times. Any other format goes to strftime.
_WRITERS = {
    "%d %b %Y %H:%M": lambda d: f"{_day(d)} {d.hour:02d}:{d.minute:02d}",
    "%d %b %Y %H:%M:%S": lambda d: f"{_day(d)} {d.hour:02d}:{d.minute:02d}:{d.second:02d}",
    "%d %b %Y": _day,
    "%H:%M": lambda d: f"{d.hour:02d}:{d.minute:02d}",
}


def format_time(value: datetime | date, fmt: str) -> str:
    """`value.strftime(fmt)`, faster for the formats pages use."""
    writer = _WRITERS.get(fmt)
    # strftime writes a year before 1000 as the C library does: leave those to it.
    if writer is None or value.year < 1000:
        return value.strftime(fmt)
    return writer(value)


def local_time(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if value is None:
        return ""
    return format_time(value.astimezone(clinic_zone()), fmt)


def local_time_of(user, value: datetime, fmt: str = "%d %b %Y %H:%M") -> str:
    """`local_time` in `user`'s clinic's zone, for a page shown before anyone is logged in
    (the lockout message), with the zone's abbreviation so nobody reads it as UTC."""
    local = value.astimezone(_zone_of(user))
    return f"{format_time(local, fmt)} {local.strftime('%Z')}"


def local_date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(clinic_zone())
    return format_time(value, "%d %b %Y")


def local_date_writer() -> Callable[[datetime], str]:
    """`local_date` for many times at once, the zone worked out once (a chart's axis)."""
    zone = clinic_zone()
    return lambda value: format_time(value.astimezone(zone), "%d %b %Y")


# The filters read the zone the page was given (`_page_zone`): a long history formats some
# hundred and fifty times, and finding the zone through Flask's request globals each time
# cost more than the formatting. A macro imported without the page's context asks
# `clinic_zone` instead.
@pass_context
def _local_time_filter(context, value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if value is None:
        return ""
    return format_time(value.astimezone(context.get("_page_zone") or clinic_zone()), fmt)


@pass_context
def _local_date_filter(context, value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(context.get("_page_zone") or clinic_zone())
    return format_time(value, "%d %b %Y")


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


def days_ago(days: int | None) -> str:
    """How long ago, in words; a time a few minutes ahead (a device's clock) reads "today",
    never "-1 days ago"."""
    if days is None:
        return ""
    if days <= 0:
        return "today"
    return "yesterday" if days == 1 else f"{days} days ago"


def init_app(app) -> None:
    app.add_template_filter(days_ago, "days_ago")
    app.add_template_filter(instruments.score_text, "score")
    app.add_template_filter(instruments.risk_words, "risk_words")
    app.add_template_filter(instruments.sentence_start, "sentence_start")
    app.add_template_filter(_local_time_filter, "local_time")
    app.add_template_filter(_local_date_filter, "local_date")
    app.context_processor(lambda: {"_page_zone": clinic_zone()})
    app.add_template_filter(days_since, "days_since")
    app.add_template_global(Phase, "Phase")
    app.add_template_global(clinic_zone, "clinic_zone")
    # What the navigation and page texts show depends on the role: ask access.py, not the role.
    app.add_template_global(access.has_caseload, "has_caseload")
    app.add_template_global(access.works_on_practice_patients, "works_on_practice_patients")
    app.add_template_global(access.sees_supervisees_patients, "sees_supervisees_patients")
