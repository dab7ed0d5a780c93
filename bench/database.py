"""The benchmark's own database: created empty for each run, its schema built by the migrations.

SQLite in bench/work/ by default; PostgreSQL when PSIFLOW_BENCH_DATABASE_URL names one. The run
drops and recreates that database, so it refuses any PostgreSQL database whose name does not
say it is a benchmark's (a clinic's real database must never be one typo away).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from psiflow.models.engine import configure_engine

ENV_URL = "PSIFLOW_BENCH_DATABASE_URL"
# The cost PostgreSQL's planner gives a page read out of order, relative to one read in order
# (1.0): the README's setting for a clinic network's database, whose pages are in memory or on
# SSD. At the default (4, spinning disks) the planner preferred reading every course and
# patient of the network and hashing them over searching the indexes for one caseload's.
RANDOM_PAGE_COST = 1.1
# The seeding connection's sort memory for building indexes on PostgreSQL (`loading_engine`).
MAINTENANCE_WORK_MEM = "512MB"
REPO = Path(__file__).resolve().parent.parent


def database_url(work_dir: Path) -> str:
    url = os.environ.get(ENV_URL)
    if url:
        return url
    return f"sqlite:///{work_dir / 'psiflow-bench.sqlite3'}"


def dialect(url: str) -> str:
    return sa.make_url(url).get_backend_name()


def recreate(url: str) -> None:
    """Leave an empty database at `url`."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"{ENV_URL}: only sqlite and postgresql are supported, not {url!r}")
    name = parsed.database or ""
    if "bench" not in name:
        raise SystemExit(
            f"{ENV_URL} names the database {name!r}; the benchmark drops and recreates it, so "
            "its name must contain 'bench' (for example psiflow_bench)."
        )
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            # As the README tells a clinic network to set it: the database is read from memory
            # or SSD, not from spinning disks (PostgreSQL's default of 4 assumes those).
            conn.execute(
                sa.text(f'ALTER DATABASE "{name}" SET random_page_cost = {RANDOM_PAGE_COST}')
            )
    finally:
        admin.dispose()


def upgrade(url: str, env: dict[str, str]) -> None:
    """Build the schema as a clinic does: `flask db upgrade`, through the Alembic migrations."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "psiflow", "db", "upgrade"],
        cwd=REPO,
        env={**env, "PSIFLOW_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask db upgrade failed:\n{done.stderr}")


def engine_for(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    configure_engine(engine)  # the app's own SQLite settings (WAL, busy timeout)
    return engine


def loading_engine(url: str) -> sa.Engine:
    """The engine that seeds: on SQLite, settings for one bulk load into a throwaway file.

    The network goes in as one transaction of about a gigabyte. In WAL mode every page was
    written twice (to the log, then checkpointed) through a 2 MB page cache that thrashed on
    the indexes; a failed seed leaves a file the next run deletes anyway, so no journal."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _bulk_load(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
            # 256 MiB: at 100,000 patients the writer peaked at 1,136 MiB with 512 MiB, the
            # page cache and the sorter that builds each index after the load both sized by it.
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.execute("PRAGMA foreign_keys=ON")
            # The indexes are built after the load, while the other process has nothing left
            # to do: SQLite's sorter may use a second thread (the audit trail's five indexes
            # at 10,000 patients: 4.3 s, then 3.4 s).
            cursor.execute("PRAGMA threads=2")
            cursor.close()

    elif engine.dialect.name == "postgresql":

        @sa.event.listens_for(engine, "connect")
        def _bulk_load_postgresql(dbapi_connection, _record):
            # For this connection only: the indexes and foreign keys are built after the load
            # from sorted keys, each a sort of a whole table, which at PostgreSQL's 64 MB
            # default spills to disk in many runs.
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
            dbapi_connection.commit()

    return engine


def analyze(engine: sa.Engine) -> None:
    """Refresh the planner's statistics, and on PostgreSQL the visibility map, as autovacuum
    would after a bulk load (without the map PostgreSQL cannot answer from an index alone)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        return
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
