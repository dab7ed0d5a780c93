"""Practicum totals against a programme's requirement, and what an entry may say."""

from datetime import date
from pathlib import Path

import pytest

from psiflow.domain.practicum import (
    LoggedEntry,
    PracticumKind,
    ProgrammeError,
    default_programme_dir,
    entry_errors,
    hours_text,
    load_programmes,
    parse_programme,
    practicum_totals,
)

K = PracticumKind
TODAY = date(2026, 12, 7)


@pytest.fixture(scope="module")
def shipped():
    return load_programmes(default_programme_dir())


def test_the_shipped_programmes_load_and_cite_their_rules(shipped):
    oregon = shipped["oregon-psilocybin-facilitator"]
    colorado = shipped["colorado-natural-medicine-facilitator"]
    assert oregon.total_hours == 40 and "OAR 333-333-3050" in oregon.source
    assert "OAR 333-333-3070" in oregon.source
    assert colorado.total_hours == 40 and "4 CCR 755-1" in colorado.source
    assert [(line.min_hours, line.max_counted_hours) for line in colorado.lines] == [
        (30, None),
        (None, 10),
    ]
    assert all("4 CCR 755-1" in line.source for line in colorado.lines)


def _entries(*spec):
    return [LoggedEntry(kind, minutes, signed) for kind, minutes, signed in spec]


def test_only_signed_off_hours_count_and_pending_ones_are_shown_apart(shipped):
    totals = practicum_totals(
        shipped["oregon-psilocybin-facilitator"],
        _entries(
            (K.PRACTICE_SESSION, 6 * 60, True),
            (K.SUPERVISION, 90, True),
            (K.OBSERVED_SESSION, 5 * 60, False),
        ),
    )
    assert totals.counted_minutes == 7 * 60 + 30
    assert totals.pending_minutes == 5 * 60
    assert totals.remaining_minutes == 40 * 60 - (7 * 60 + 30)
    assert not totals.met
    by_kind = {k.kind: (k.signed_minutes, k.pending_minutes) for k in totals.by_kind}
    assert by_kind == {
        K.PRACTICE_SESSION: (360, 0),
        K.OBSERVED_SESSION: (0, 300),
        K.SUPERVISION: (90, 0),
        K.CONSULTATION: (0, 0),
    }
    assert totals.percent == 18


def test_forty_signed_off_hours_meet_oregons_practicum(shipped):
    totals = practicum_totals(
        shipped["oregon-psilocybin-facilitator"],
        _entries((K.PRACTICE_SESSION, 20 * 60, True), (K.CONSULTATION, 20 * 60, True)),
    )
    assert totals.met and totals.remaining_minutes == 0 and totals.percent == 100


def test_colorado_counts_at_most_ten_hours_of_consultation(shipped):
    totals = practicum_totals(
        shipped["colorado-natural-medicine-facilitator"],
        _entries(
            (K.PRACTICE_SESSION, 20 * 60, True),
            (K.OBSERVED_SESSION, 10 * 60, True),
            (K.CONSULTATION, 8 * 60, True),
            (K.SUPERVISION, 6 * 60, True),
        ),
    )
    direct, consultation = totals.lines
    assert direct.signed_minutes == 30 * 60 and direct.met
    assert consultation.signed_minutes == 14 * 60 and consultation.counted_minutes == 10 * 60
    assert totals.signed_minutes == 44 * 60
    assert totals.counted_minutes == 40 * 60
    assert totals.met


def test_colorado_is_not_met_with_forty_hours_short_of_thirty_direct(shipped):
    totals = practicum_totals(
        shipped["colorado-natural-medicine-facilitator"],
        _entries((K.PRACTICE_SESSION, 25 * 60, True), (K.CONSULTATION, 20 * 60, True)),
    )
    direct = totals.lines[0]
    assert not direct.met and direct.remaining_minutes == 5 * 60
    # 25 direct + 10 counted consultation: the ceiling also holds the total short.
    assert totals.counted_minutes == 35 * 60
    assert not totals.met


def test_an_entry_is_refused_for_a_future_date_and_an_impossible_duration():
    errors = entry_errors(
        kind=K.SUPERVISION,
        occurred_on=date(2026, 12, 8),
        duration_minutes=0,
        session_ids=[],
        eligible_session_ids=[],
        today=TODAY,
    )
    assert set(errors) == {"occurred_on", "duration_minutes"}
    too_long = entry_errors(
        kind=K.SUPERVISION,
        occurred_on=TODAY,
        duration_minutes=24 * 60 + 1,
        session_ids=[],
        eligible_session_ids=[],
        today=TODAY,
    )
    assert set(too_long) == {"duration_minutes"}


def test_only_practice_entries_name_sessions_and_only_the_trainees_own():
    fine = entry_errors(
        kind=K.PRACTICE_SESSION,
        occurred_on=TODAY,
        duration_minutes=360,
        session_ids=[3],
        eligible_session_ids=[3, 4],
        today=TODAY,
    )
    assert fine == {}
    foreign = entry_errors(
        kind=K.PRACTICE_SESSION,
        occurred_on=TODAY,
        duration_minutes=360,
        session_ids=[3, 99],
        eligible_session_ids=[3, 4],
        today=TODAY,
    )
    assert "session_ids" in foreign
    # An observed real session is never tied to a record, even one the trainee could name.
    observed = entry_errors(
        kind=K.OBSERVED_SESSION,
        occurred_on=TODAY,
        duration_minutes=360,
        session_ids=[3],
        eligible_session_ids=[3],
        today=TODAY,
    )
    assert "session_ids" in observed


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"id": "x", "name": "X", "source": "s"}, "total_hours"),
        ({"id": "x", "name": "X", "source": "s", "total_hours": 0}, "more than 0"),
        ({"id": "X y", "name": "X", "source": "s", "total_hours": 4}, "id must be"),
        ({"id": "x", "name": "X", "total_hours": 4}, "source"),
        ({"id": "x", "name": "X", "source": "s", "total_hours": 4, "extra": 1}, "unknown key"),
        (
            {
                "id": "x",
                "name": "X",
                "source": "s",
                "total_hours": 4,
                "requirement": [
                    {"label": "l", "kinds": ["dancing"], "min_hours": 1, "source": "s"}
                ],
            },
            "dancing",
        ),
        (
            {
                "id": "x",
                "name": "X",
                "source": "s",
                "total_hours": 4,
                "requirement": [{"label": "l", "kinds": ["supervision"], "source": "s"}],
            },
            "neither",
        ),
        (
            {
                "id": "x",
                "name": "X",
                "source": "s",
                "total_hours": 4,
                "requirement": [
                    {"label": "a", "kinds": ["supervision"], "max_counted_hours": 1, "source": "s"},
                    {"label": "b", "kinds": ["supervision"], "max_counted_hours": 2, "source": "s"},
                ],
            },
            "another ceiling",
        ),
    ],
)
def test_a_bad_programme_is_refused_with_the_file_and_key(raw, says):
    with pytest.raises(ProgrammeError, match=says) as error:
        parse_programme(raw, "local.toml")
    assert "local.toml" in str(error.value)


def test_a_programme_file_that_is_not_toml_names_itself(tmp_path: Path):
    (tmp_path / "broken.toml").write_text("id = ")
    with pytest.raises(ProgrammeError, match="broken.toml"):
        load_programmes(tmp_path)


def test_hours_read_as_a_trainee_reads_them():
    assert hours_text(45) == "45 min"
    assert hours_text(40 * 60) == "40 h"
    assert hours_text(12 * 60 + 5) == "12 h 05 min"
