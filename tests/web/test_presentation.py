"""Times in the clinic's zone: written as strftime writes them, the zone found once a request."""

from datetime import UTC, date, datetime, timedelta

from flask import render_template_string
from flask_login import login_user

from psiflow.web import presentation
from psiflow.web.presentation import format_time, local_date, local_time
from tests.factories import gen_clinic, gen_user

PAGE_FORMATS = ("%d %b %Y %H:%M", "%d %b %Y %H:%M:%S", "%d %b %Y", "%H:%M")


def test_the_page_formats_are_written_as_strftime_writes_them():
    moment = datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC)
    for _ in range(400):  # every month, single- and double-digit days and hours
        for fmt in PAGE_FORMATS:
            assert format_time(moment, fmt) == moment.strftime(fmt)
        assert format_time(moment.date(), "%d %b %Y") == moment.date().strftime("%d %b %Y")
        moment += timedelta(days=1, hours=7, minutes=13, seconds=29)


def test_other_formats_and_early_years_go_to_strftime():
    assert format_time(datetime(2026, 3, 5, 7, 9), "%Y-%m-%d") == "2026-03-05"
    early = date(999, 12, 31)
    assert format_time(early, "%d %b %Y") == early.strftime("%d %b %Y")


def test_times_are_shown_in_the_zone_of_the_users_clinic(app, db):
    winter = datetime(2026, 1, 15, 12, 30, tzinfo=UTC)
    amsterdam = gen_user(clinic=gen_clinic(timezone="Europe/Amsterdam"))
    tokyo = gen_user(clinic=gen_clinic(timezone="Asia/Tokyo"))
    with app.test_request_context():
        login_user(amsterdam)
        assert local_time(winter) == "15 Jan 2026 13:30"
        assert render_template_string("{{ t|local_time }} {{ t|local_date }}", t=winter) == (
            "15 Jan 2026 13:30 15 Jan 2026"
        )
        # Another user in the same request (a log-in) has their own clinic's zone.
        login_user(tokyo)
        assert local_time(winter, "%H:%M") == "21:30"
        assert local_date(winter - timedelta(hours=12)) == "15 Jan 2026"
        assert presentation.local_date_writer()(winter + timedelta(hours=15)) == "16 Jan 2026"
