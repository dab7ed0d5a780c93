"""The seed on both cores: one process builds the rows while the other writes them.

Building rows is Python (random draws, the app's signature and audit hashes) and writing them
is the driver's work (SQLite's B-trees, PostgreSQL's COPY); on one core the two took turns.
Here the seeders run in a forked child with a `QueueSink`: each batch of driver-ready tuples
goes through a bounded queue to this process, which holds the seed's one transaction and
writes the batches in the order they were made, so the database ends the same as when one
process does both. A `reads_rows` step is a marker in that stream: it runs here once every
row made before it is written, while the child goes on building.

Both processes report their peak resident memory (`SeedReport`): the seed is meant to hold a
block of patients at a time, whatever the network's size (bench/network.py).
"""

from __future__ import annotations

import marshal
import multiprocessing
import queue as queues
import resource
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import sqlalchemy as sa

from bench.loading import BATCH_ROWS, ConnectionSink

# Batches in flight (a batch of audit events pickles to about 0.7 MB): enough for the builder
# to go on while the writer runs a `reads_rows` step.
QUEUE_BATCHES = 64
# How often the writer, waiting for a batch, checks that the builder is still there.
POLL_SECONDS = 1.0


@dataclass
class SeedReport:
    """What a seed made and what it took, per seeder summed over the blocks: its rows, and its
    seconds as the writing process saw them through (the builder works ahead, so a seeder's
    seconds are those from the end of the one before to the end of its own). Then each
    process's peak resident memory, in MiB, and its CPU seconds (on a shared machine, what
    the seed cost when its wall-clock seconds say more about the other processes)."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, count: int, seconds: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + count
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (a forked child's starts at its parent's)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class BuilderFailed(RuntimeError):
    """The row-building process raised or died; the seed's transaction is rolled back."""


class QueueSink:
    """The sink of the process that builds rows: hands each batch to the writing process."""

    def __init__(self, queue, dialect: sa.Dialect):
        self._queue = queue
        self.dialect = dialect
        self._pickled: set[tuple[str, tuple[str, ...]]] = set()

    def write(self, table: str, columns: tuple[str, ...], batch: list[tuple]) -> None:
        # marshal serialises plain values four times faster than pickle, and most batches are
        # plain (SQLite's times are text); what it cannot carry (a datetime) goes pickled.
        if (table, columns) not in self._pickled:
            try:
                self._queue.put(("write_marshalled", table, columns, marshal.dumps(batch)))
                return
            except ValueError:
                self._pickled.add((table, columns))
        self._queue.put(("write", table, columns, batch))

    def write_dicts(self, table: str, batch: list[dict]) -> None:
        self._queue.put(("write_dicts", table, batch))

    def __getattr__(self, name: str):
        # A seeder given this sink that reaches for the connection (execute, scalar, ...).
        raise AttributeError(
            f"The seeders' sink has no {name!r}: a seeder that runs SQL must be marked "
            "@reads_rows (bench.loading), so that it gets the connection"
        )

    def write_with(self, write: Callable[[ConnectionSink, Iterator], int], items: Iterable) -> int:
        """Hands `items` over in batches for `write` (a module-level function) to make rows of
        in the writing process: work moved off this one, the busier of the two. The writer
        adds the rows written to this seeder's count, so this returns 0."""
        self._queue.put(("write_with", write))
        it = iter(items)
        while batch := list(islice(it, BATCH_ROWS)):
            self._queue.put(("items", batch))
        self._queue.put(("end",))
        return 0


def _reads_rows(seeder: Callable) -> bool:
    return getattr(seeder, "reads_rows", False)  # see `bench.loading.reads_rows`


def seed_in_one_process(net, seeders, conn: sa.Connection) -> SeedReport:
    sink = ConnectionSink(conn)
    report = SeedReport()
    cpu_before = cpu_seconds()
    for name, seeder in seeders:
        start = time.perf_counter()
        count = seeder(net, conn if _reads_rows(seeder) else sink)
        report.add(name, count, time.perf_counter() - start)
    report.peak_rss_mib["one process"] = peak_rss_mib()
    report.cpu_seconds["one process"] = cpu_seconds() - cpu_before
    return report


def seed_in_two_processes(
    net, seeders, engine: sa.Engine, finish: Callable[[sa.Connection], None]
) -> SeedReport:
    """Run `seeders` with a child building the rows; `finish` runs last in the transaction."""
    # The child converts values with the engine's dialect, which learns the server's settings
    # on its first connection: connect once before forking, then leave the child no connection.
    with engine.connect():
        pass
    engine.dispose()
    cpu_before = cpu_seconds()
    context = multiprocessing.get_context("fork")
    queue = context.Queue(QUEUE_BATCHES)
    builder = context.Process(
        target=_build, args=(net, seeders, queue, engine.dialect), name="bench-seed-builder"
    )
    builder.start()
    try:
        with engine.begin() as conn:
            report = _write(net, dict(seeders), conn, _messages(queue, builder))
            finish(conn)
        builder.join()
        report.peak_rss_mib["writer"] = peak_rss_mib()
        report.cpu_seconds["writer"] = cpu_seconds() - cpu_before
        return report
    finally:
        if builder.is_alive():  # the writer failed: the builder may be blocked on a full queue
            builder.terminate()
            builder.join()
        queue.close()
        queue.cancel_join_thread()


def _write(net, steps: dict, conn: sa.Connection, messages: Iterator[tuple]) -> SeedReport:
    sink = ConnectionSink(conn)
    report = SeedReport()
    written_with = 0  # rows of the seeder under way written by its `write_with` functions
    since = time.perf_counter()  # the end of the seeder before
    for kind, *args in messages:
        if kind == "write_marshalled":
            table, columns, data = args
            sink.write(table, columns, marshal.loads(data))
        elif kind == "write":
            sink.write(*args)
        elif kind == "write_dicts":
            sink.write_dicts(*args)
        elif kind == "write_with":
            items = _items(messages)
            written_with += args[0](sink, items)
            for _ in items:  # whatever `write` left unread
                pass
        elif kind == "count":
            name, count = args
            count += written_with
            written_with = 0
            report.add(name, count, time.perf_counter() - since)
            since = time.perf_counter()
        elif kind == "step":
            (name,) = args
            count = steps[name](net, conn)
            report.add(name, count, time.perf_counter() - since)
            since = time.perf_counter()
        elif kind == "failed":
            raise BuilderFailed(f"Building the rows failed:\n{args[0]}")
        elif kind == "done":
            report.peak_rss_mib["builder"], report.cpu_seconds["builder"] = args
            return report
    raise AssertionError("unreachable")


def _items(messages: Iterator[tuple]) -> Iterator:
    for kind, *args in messages:
        if kind == "end":
            return
        if kind == "failed":
            raise BuilderFailed(f"Building the rows failed:\n{args[0]}")
        yield from args[0]


def _messages(queue, builder) -> Iterator[tuple]:
    while True:
        try:
            yield queue.get(timeout=POLL_SECONDS)
        except queues.Empty:
            if not builder.is_alive():
                try:
                    yield queue.get(timeout=POLL_SECONDS)  # its last words, if still in the pipe
                except queues.Empty:
                    raise BuilderFailed(
                        f"The row-building process stopped (exit code {builder.exitcode})."
                    ) from None


def _build(net, seeders, queue, dialect: sa.Dialect) -> None:
    """The child: every seeder in order, rows to the queue; a `reads_rows` step as a marker."""
    cpu_before = cpu_seconds()
    sink = QueueSink(queue, dialect)
    try:
        for name, seeder in seeders:
            if _reads_rows(seeder):
                queue.put(("step", name))
            else:
                queue.put(("count", name, seeder(net, sink)))
        queue.put(("done", peak_rss_mib(), cpu_seconds() - cpu_before))
    except BaseException:
        queue.put(("failed", traceback.format_exc()))
    finally:
        queue.close()
        queue.join_thread()  # everything put is in the pipe before the process ends
