"""The seed on two processes: the same database as on one, in order, and all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bench import database, pipeline
from bench.loading import Sink, insert_rows, reads_rows
from bench.network import Shape
from bench.seed import seed_network
from bench.server import app_environment
from psiflow.models import Clinic

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _tables(url: str) -> dict[str, list]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = conn.scalars(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            ).all()
            tables = {
                name: conn.execute(sa.text(f"SELECT * FROM {name} ORDER BY rowid")).all()
                for name in names
            }
            tables["(indexes)"] = conn.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
            ).all()
            return tables
    finally:
        engine.dispose()


@pytest.mark.bench
def test_two_processes_seed_the_same_database_as_one(tmp_path):
    seeded = {}
    for processes in (1, 2):
        url = f"sqlite:///{tmp_path / f'seed-{processes}.sqlite3'}"
        database.upgrade(url, app_environment(url))
        engine = database.loading_engine(url)
        try:
            # In blocks of 15 patients: the ids and random streams that go on from block to
            # block are the same whichever process makes them.
            shape = Shape(40, patients_per_block=15)
            counts = seed_network(engine, shape, "hash", now=NOW, processes=processes).counts
        finally:
            engine.dispose()
        seeded[processes] = counts, _tables(url)
    (counts_1, tables_1), (counts_2, tables_2) = seeded[1], seeded[2]
    assert counts_2 == counts_1
    assert list(counts_2) == list(counts_1)
    assert tables_2.keys() == tables_1.keys()
    for name in tables_1:
        assert tables_2[name] == tables_1[name], name
    assert len(tables_1["audit_events"]) > 1000
    # The indexes the seed dropped while it loaded are those the migrations made.
    migrated = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    database.upgrade(migrated, app_environment(migrated))
    assert tables_1["(indexes)"] == _tables(migrated)["(indexes)"]


def _clinics(n: int):
    def seed(net, sink: Sink) -> int:
        return insert_rows(
            sink,
            Clinic.__table__,
            (
                {"id": i, "name": f"Clinic {i}", "timezone": "UTC", "created_at": NOW}
                for i in range(1, n + 1)
            ),
        )

    return seed


@reads_rows
def _count_clinics(net, conn: sa.Connection) -> int:
    return conn.scalar(sa.select(sa.func.count()).select_from(Clinic.__table__))


def _fails(net, sink: Sink) -> int:
    raise ValueError("no such protocol")


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'pipeline.sqlite3'}")
    Clinic.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _no_finish(conn):
    pass


def test_a_step_that_reads_rows_sees_every_row_made_before_it(engine):
    seeders = (("clinics", _clinics(12_000)), ("counted", _count_clinics))  # several batches

    report = pipeline.seed_in_two_processes(None, seeders, engine, _no_finish)

    assert report.counts == {"clinics": 12_000, "counted": 12_000}


def test_a_failure_while_writing_leaves_nothing_written(engine):
    seeders = (("clinics", _clinics(12_000)), ("the same clinics again", _clinics(12_000)))

    with pytest.raises(sa.exc.IntegrityError):
        pipeline.seed_in_two_processes(None, seeders, engine, _no_finish)

    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Clinic.__table__)) == 0


def _runs_sql(net, sink) -> int:
    return sink.execute(sa.text("SELECT 1"))


def test_a_seeder_that_runs_sql_unmarked_is_told_to_mark_itself(engine):
    with pytest.raises(pipeline.BuilderFailed, match="must be marked @reads_rows"):
        pipeline.seed_in_two_processes(None, (("sql", _runs_sql),), engine, _no_finish)


def test_a_failure_while_building_rows_leaves_nothing_written(engine):
    seeders = (("clinics", _clinics(100)), ("broken", _fails))

    with pytest.raises(pipeline.BuilderFailed, match="no such protocol"):
        pipeline.seed_in_two_processes(None, seeders, engine, _no_finish)

    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Clinic.__table__)) == 0
