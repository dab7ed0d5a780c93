"""How busy the audit chain's head is while the write scenario runs (PostgreSQL only).

Every write transaction takes the single row of `audit_chain_head` first and holds its lock
until it commits (psiflow/audit.py, `_claim_head`), so writers append to the chain one at a
time. A sampler looks at the scenario database's backends every few milliseconds
(`pg_stat_activity`): a backend in a transaction that has written (it has a transaction id)
and is not waiting for a lock holds the head; one waiting for a lock waits, nearly always,
for the head. The share of samples in which the head is held says how close the chain is to
its ceiling: at 100% writers follow each other back to back and more workers cannot append
faster; well below it, something else (the CPU) limits the writes. Divided into the writes
per second, it gives how long each write holds the head, and so the ceiling the chain would
reach if nothing else limited it.

SQLite has no such view: there the head is the database's single write lock, and a writer
waits in the busy handler, out of sight.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa

SAMPLE_EVERY_SECONDS = 0.005

_BACKENDS = sa.text(
    """
    SELECT
        count(*) FILTER (WHERE backend_xid IS NOT NULL AND wait_event_type IS DISTINCT FROM 'Lock'),
        count(*) FILTER (WHERE wait_event_type = 'Lock')
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
    """
)


@dataclass(frozen=True)
class ChainLoad:
    samples: int
    head_held_share: float  # of samples, the head was held by a writer
    waiting_mean: float  # writers waiting for a lock, on average

    def as_json(self) -> dict:
        return {
            "samples": self.samples,
            "head_held_share": round(self.head_held_share, 3),
            "waiting_for_lock_mean": round(self.waiting_mean, 2),
        }


class ChainWatch:
    def __init__(self, engine: sa.Engine):
        self._engine = engine
        self._stop = threading.Event()
        self._held = self._waiting = self._samples = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ChainWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            while not self._stop.is_set():
                holding, waiting = conn.execute(_BACKENDS).one()
                self._samples += 1
                self._held += holding > 0
                self._waiting += waiting
                time.sleep(SAMPLE_EVERY_SECONDS)

    def result(self) -> ChainLoad | None:
        if not self._samples:
            return None
        return ChainLoad(self._samples, self._held / self._samples, self._waiting / self._samples)
