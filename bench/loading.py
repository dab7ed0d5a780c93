"""How the seeders' rows reach the database: in batches, through a sink.

A seeder hands its rows to `insert_rows` (dicts, each value through its column's own bind
processor) or `insert_tuples` (driver-ready tuples, for the tables of a million rows); both
cut them into batches of driver-ready tuples for a sink. `ConnectionSink` writes a batch into
the seed's transaction; in the two-process seed (`bench/pipeline.py`) the process that builds
rows has a `QueueSink`, which hands each batch to the process that writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC
from functools import partial
from itertools import islice
from operator import itemgetter
from typing import Protocol

import sqlalchemy as sa

from psiflow.models import Clinic
from psiflow.models.types import UTCDateTime

BATCH_ROWS = 5000


class Sink(Protocol):
    """Where batches go. `dialect` converts values; the rest is the writer's business."""

    dialect: sa.Dialect

    def write(self, table: str, columns: tuple[str, ...], batch: list[tuple]) -> None: ...

    def write_dicts(self, table: str, batch: list[dict]) -> None: ...

    def write_with(
        self, write: Callable[[ConnectionSink, Iterator], int], items: Iterable
    ) -> int: ...


class ConnectionSink:
    """Writes each batch into the seed's transaction as it comes."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self.dialect = conn.dialect
        self._statements: dict[tuple[str, tuple[str, ...]], str] = {}
        # Per table: the rows made in this process (`write_with`) number theirs on from it.
        self.rows_written: dict[str, int] = {}

    def write(self, table: str, columns: tuple[str, ...], batch: list[tuple]) -> None:
        self.rows_written[table] = self.rows_written.get(table, 0) + len(batch)
        if self.dialect.name == "postgresql":
            _copy_rows(self.conn, table, columns, batch)
            return
        sql = self._statements.get((table, columns))
        if sql is None:
            mark = "?" if self.dialect.paramstyle == "qmark" else "%s"
            sql = self._statements[table, columns] = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join([mark] * len(columns))})"
            )
        self.conn.exec_driver_sql(sql, batch)

    def write_dicts(self, table: str, batch: list[dict]) -> None:
        self.rows_written[table] = self.rows_written.get(table, 0) + len(batch)
        self.conn.execute(Clinic.metadata.tables[table].insert(), batch)

    def write_with(self, write: Callable[[ConnectionSink, Iterator], int], items: Iterable) -> int:
        """`write(sink, items)` turns `items` into rows and writes them; see `QueueSink`."""
        return write(self, iter(items))


def reads_rows(step):
    """Marks a seeder that reads rows already written (the courses' schedule attention): it gets
    the seed's connection, not a sink, and in the two-process seed runs in the writing process
    once every row made before it is written, with only the `Network`'s shape, `now` and
    protocols (what the building process made stays there)."""
    step.reads_rows = True
    return step


def insert_rows(sink: Sink, table: sa.Table, rows: Iterable[dict]) -> int:
    """Insert `rows` in batches; memory stays bounded for a million rows.

    Each value goes through its column's own bind processor (what SQLAlchemy would do), but the
    rows go to the driver as tuples: SQLAlchemy's per-row parameter handling was a fifth of the
    seeding time."""
    count = 0
    it = iter(rows)
    processors: dict[tuple[str, ...], list] = {}
    while batch := list(islice(it, BATCH_ROWS)):
        columns = tuple(batch[0])
        keys = batch[0].keys()
        if any(row.keys() != keys for row in batch):
            sink.write_dicts(table.name, batch)  # rows of different shapes: the general path
        else:
            convert = processors.get(columns)
            if convert is None:
                convert = processors[columns] = [
                    (i, _faster(table.c[name].type, proc, sink.dialect))
                    for i, name in enumerate(columns)
                    if (proc := table.c[name].type._cached_bind_processor(sink.dialect))
                ]
            sink.write(table.name, columns, list(_converted(batch, columns, convert)))
        count += len(batch)
    return count


def _faster(column_type, proc, dialect: sa.Dialect):
    """The column's bind processor, with a shortcut where it is slow for what the seed holds.

    UTCDateTime on SQLite converts to UTC, drops the zone and formats the fields one by one
    (about a fifth of the rows' building time); a time already in UTC gives the same text
    straight from `isoformat`. Any other value still goes through the processor."""
    if isinstance(column_type, UTCDateTime) and dialect.name == "sqlite":
        return partial(_utc_text, proc)
    return proc


def _utc_text(proc, value):
    if value is not None and value.tzinfo is UTC:
        return value.isoformat(" ", "microseconds")[:26]  # without its "+00:00"
    return proc(value)


def _converted(batch: list[dict], columns: tuple[str, ...], convert: list) -> Iterator[tuple]:
    values_of = itemgetter(*columns)
    for row in batch:
        values = list(values_of(row)) if len(columns) > 1 else [row[columns[0]]]
        for i, proc in convert:
            values[i] = proc(values[i])
        yield tuple(values)


def insert_tuples(
    sink: Sink, table: sa.Table, columns: tuple[str, ...], rows: Iterable[tuple]
) -> int:
    """The fast path for the tables of a million rows: tuples of values the database driver
    takes as they are (times through `Network.db_time`, enums as their values, JSON as text),
    inserted without SQLAlchemy's per-value processing, which would double their seeding time."""
    count = 0
    it = iter(rows)
    while batch := list(islice(it, BATCH_ROWS)):
        sink.write(table.name, columns, batch)
        count += len(batch)
    return count


def _copy_rows(conn: sa.Connection, table: str, columns: tuple[str, ...], rows: list[tuple]):
    # PostgreSQL's COPY streams rows into the table in one command, in the same transaction:
    # several times faster than batches of INSERT for the million-row tables.
    driver = conn.connection.driver_connection
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def drop_indexes(conn: sa.Connection) -> dict[str, list[str]]:
    """Drop every secondary index (not those of primary keys or constraints); per table, the
    statements that build them again, as the migrations wrote them."""
    if conn.dialect.name == "postgresql":
        found = conn.execute(
            sa.text(
                "SELECT tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        ).all()
    else:
        found = conn.execute(
            sa.text(
                "SELECT tbl_name, name, sql FROM sqlite_master "
                "WHERE type = 'index' AND sql IS NOT NULL"
            )
        ).all()
    dropped: dict[str, list[str]] = {}
    for table, name, statement in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
        dropped.setdefault(table, []).append(statement)
    return dropped


def drop_foreign_keys(conn: sa.Connection) -> dict[str, list[str]]:
    """PostgreSQL: drop every foreign key; per table, the statements that add them again (each
    checks every row in one pass when it is added)."""
    found = conn.execute(
        sa.text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE c.contype = 'f' AND n.nspname = current_schema()"
        )
    ).all()
    dropped: dict[str, list[str]] = {}
    for table, name, definition in found:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        dropped.setdefault(table, []).append(
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        )
    return dropped


@reads_rows
def drop_for_the_load(net, conn: sa.Connection) -> int:
    """Indexes go while the rows go in and are built once they are in: rows come in id order,
    but an index on a clinician, a patient or an action takes each at a random place, and
    once those outgrew SQLite's page cache (20,000 patients: 1.8 million audit events) writing
    the events took six times as long as at 5,000 patients; a B-tree built from sorted keys
    costs seconds. On PostgreSQL the foreign keys go too: each copied row fired a check per
    key, where adding the key back checks the whole table in one join (PostgreSQL's own advice
    for populating a database). SQLite still checks each row's keys as it goes in. The steps
    that read rows (the stored values) run once their tables' indexes are built."""
    dropped = drop_indexes(conn)
    if conn.dialect.name == "postgresql":
        for table, statements in drop_foreign_keys(conn).items():
            dropped.setdefault(table, []).extend(statements)  # after the table's indexes
    net.dropped_for_load = dropped
    return sum(map(len, dropped.values()))


def build_after_the_load(net, conn: sa.Connection, tables) -> int:
    """What `drop_for_the_load` dropped from `tables`, built again as it was."""
    built = 0
    for table in tables:
        for statement in net.dropped_for_load.pop(table, []):
            conn.exec_driver_sql(statement)
            built += 1
    return built
