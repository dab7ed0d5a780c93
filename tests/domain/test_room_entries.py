"""What an entry sent late from the session room may say about itself."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from psiflow.domain.room_entries import (
    MADE_AT_AHEAD,
    EntryRefused,
    check_key,
    made_at_error,
    parse_made_at,
)

NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
STARTED = NOW - timedelta(hours=3)


def test_a_key_the_page_makes_is_taken():
    key = str(uuid.uuid4())
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "abc", str(uuid.uuid1()), str(uuid.uuid4()).upper()])
def test_any_other_key_is_refused(key):
    with pytest.raises(EntryRefused):
        check_key(key)


def test_a_time_with_its_offset_is_read_as_utc():
    assert parse_made_at("2026-12-07T15:00:00.250+01:00") == datetime(
        2026, 12, 7, 14, 0, 0, 250000, tzinfo=UTC
    )
    assert parse_made_at("2026-12-07T14:00:00Z") == NOW


@pytest.mark.parametrize("text", ["", "now", "2026-12-07T14:00:00", "2026-12-07T14:00Z" + " " * 40])
def test_a_time_without_an_offset_or_unreadable_is_refused(text):
    with pytest.raises(EntryRefused):
        parse_made_at(text)


@pytest.mark.parametrize(
    ("made", "refused"),
    [
        (NOW, False),
        (NOW + MADE_AT_AHEAD, False),
        (NOW + MADE_AT_AHEAD + timedelta(seconds=1), True),
        (STARTED, False),
        (STARTED - timedelta(seconds=1), True),
    ],
)
def test_a_time_made_must_fall_in_the_session_and_not_ahead_of_the_clock(made, refused):
    assert (made_at_error(made, STARTED, NOW) is not None) is refused


def test_a_time_made_more_than_a_day_ago_is_refused_even_in_a_long_session():
    started = NOW - timedelta(hours=30)
    assert made_at_error(NOW - timedelta(hours=23), started, NOW) is None
    assert "24 hours" in made_at_error(NOW - timedelta(hours=25), started, NOW)
