"""The seed's rows reach the driver with the values the columns' own bind processors give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bench.loading import insert_rows
from bench.network import driver_time
from psiflow.domain.signing import Meaning
from psiflow.models import Signature

SQLITE = sa.create_engine("sqlite://").dialect
TIMES = [
    datetime(2026, 11, 20, 12, 0, tzinfo=UTC),  # no microseconds: isoformat would omit them
    datetime(2026, 3, 29, 1, 30, 5, 123, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC),
    datetime(2026, 11, 20, 4, 0, 1, 5, tzinfo=timezone(timedelta(hours=-8))),
]


class Recorder:
    dialect = SQLITE

    def __init__(self):
        self.batches = []

    def write(self, table, columns, batch):
        self.batches.append((table, columns, batch))

    def write_dicts(self, table, batch):
        raise AssertionError("rows of one shape take the fast path")


def _processed(column: str, value):
    process = Signature.__table__.c[column].type._cached_bind_processor(SQLITE)
    return process(value) if process else value


def test_rows_are_written_as_their_columns_bind_processors_convert_them():
    rows = [
        {
            "id": n,
            "record_type": "measure",
            "record_id": n,
            "course_id": 1,
            "signer_id": 2,
            "printed_name": "A. Clinician",
            "meaning": Meaning.AUTHORED,
            "signed_at": at,
            "content_hash": "0" * 64,
        }
        for n, at in enumerate(TIMES, start=1)
    ]
    sink = Recorder()

    assert insert_rows(sink, Signature.__table__, rows) == len(TIMES)

    [(table, columns, batch)] = sink.batches
    assert table == "signatures"
    assert batch == [tuple(_processed(c, row[c]) for c in columns) for row in rows]
    assert batch[0][columns.index("signed_at")] == "2026-11-20 12:00:00.000000"
    assert batch[3][columns.index("signed_at")] == "2026-11-20 12:00:01.000005"


@pytest.mark.parametrize("at", TIMES[:3])
def test_a_utc_time_goes_to_sqlite_as_the_column_would_send_it(at):
    assert driver_time(at, sqlite=True) == _processed("signed_at", at)
    assert driver_time(at, sqlite=False) is at


def test_a_naive_time_is_still_refused():
    sink = Recorder()
    row = {"id": 1, "signed_at": datetime(2026, 11, 20, 12, 0)}
    with pytest.raises(ValueError, match="naive"):
        insert_rows(sink, Signature.__table__, [row])
