"""The seed holds a block of patients at a time: what it keeps does not grow with the network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bench import database, seed
from bench.network import Network, Shape
from bench.server import app_environment

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _held(net: Network) -> int:
    """The patients, courses and records the network keeps for the seeders that follow."""
    return (
        len(net.patients)
        + len(net.courses)
        + len(net.timelines)
        + len(net.session_times)
        + len(net.vitals_plan)
        + len(net.signatures)
        + len(net.alerts)
        + len(net.audit)
    )


def _seed_watching(tmp_path, monkeypatch, patients: int) -> tuple[int, int, int]:
    """Seed `patients` in blocks of 20 in one process; the most the network held after any
    seeder, the audit events made, and the runs they were set aside in."""
    most = 0
    runs = 0

    def watched(seeder):
        def run(net, sink):
            nonlocal most, runs
            count = seeder(net, sink)
            most = max(most, _held(net))
            if net.audit_runs is not None:
                runs = len(net.audit_runs._runs)
            return count

        run.reads_rows = getattr(seeder, "reads_rows", False)
        return run

    order = seed.seeding_order
    monkeypatch.setattr(
        seed, "seeding_order", lambda shape: [(n, watched(s)) for n, s in order(shape)]
    )
    url = f"sqlite:///{tmp_path / f'blocks-{patients}.sqlite3'}"
    database.upgrade(url, app_environment(url))
    engine = database.loading_engine(url)
    try:
        shape = Shape(patients, patients_per_block=20)
        report = seed.seed_network(engine, shape, "hash", now=NOW, processes=1)
        with engine.connect() as conn:
            times = conn.scalars(sa.text("SELECT at FROM audit_events ORDER BY seq")).all()
    finally:
        engine.dispose()
    assert times == sorted(times)  # one time order across the blocks
    return most, report.counts["audit events"], runs


@pytest.mark.bench
def test_the_seed_holds_one_block_of_patients_at_a_time(tmp_path, monkeypatch):
    small = _seed_watching(tmp_path, monkeypatch, 40)
    large = _seed_watching(tmp_path, monkeypatch, 160)

    (held_small, events_small, runs_small), (held_large, events_large, runs_large) = small, large
    assert events_large > 3 * events_small  # four times the network...
    assert held_large < 1.5 * held_small  # ...held a block at a time
    assert (runs_small, runs_large) == (2, 8)  # each block's events set aside as one run
