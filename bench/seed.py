"""The benchmark's seeders in order, and `seed_network`, which runs them in one transaction."""

from __future__ import annotations

import os
import random
from datetime import datetime

import sqlalchemy as sa

from bench import records
from bench.audit_trail import (
    build_audit_indexes,
    seed_audit_trail,
    set_aside_block_events,
)
from bench.loading import drop_for_the_load
from bench.network import (
    Network,
    Seeder,
    Shape,
    seed_clinics,
    seed_courses,
    seed_patients,
    seed_phase_transitions,
    seed_users,
)
from bench.pipeline import SeedReport, seed_in_one_process, seed_in_two_processes
from psiflow.domain.protocols import default_protocol_dir, load_protocols
from psiflow.models import Clinic
from psiflow.models.types import utcnow

# One seeder per record type, in dependency order (a seeder reads what those before it made).
# Add a line when a record type lands. A seeder hands its rows to a sink (`insert_rows`); one
# that reads the rows already written is marked `@reads_rows` and gets the connection.
# The staff are seeded once, then the patients a block at a time with every record of their
# courses (`BLOCK_SEEDERS` run once per block), then what reads the whole network.
NETWORK_SEEDERS: tuple[tuple[str, Seeder], ...] = (
    ("indexes (and PostgreSQL's foreign keys) dropped for the load (not rows)", drop_for_the_load),
    ("clinics", seed_clinics),
    ("users", seed_users),
)
BLOCK_SEEDERS: tuple[tuple[str, Seeder], ...] = (
    ("patients", seed_patients),
    ("courses", seed_courses),
    ("phase transitions", seed_phase_transitions),
    ("course timelines (not rows)", records.seed_timelines),
    ("screenings and flags", records.seed_screenings),
    ("consents and touch consent", records.seed_consents),
    ("set intakes", records.seed_set_intakes),
    ("preparation sessions", records.seed_preparation_sessions),
    ("dosing sessions and entries", records.seed_dosing_sessions),
    ("vital signs", records.seed_vitals),
    ("measures", records.seed_measures),
    ("integration notes, check-ins, action items, reviews", records.seed_integration),
    ("signatures", records.seed_signatures),
    ("alerts", records.seed_alerts),
    ("audit events set aside in time order (not rows yet)", set_aside_block_events),
)
CLOSING_SEEDERS: tuple[tuple[str, Seeder], ...] = (
    ("indexes and keys built but the audit trail's (not rows)", records.build_record_indexes),
    ("courses' schedule attention (not rows)", records.seed_schedule_attention),
    ("courses' stored gate facts (not rows)", records.seed_stored_gate_facts),
    ("courses' outcome scores", records.seed_outcome_scores),
    ("audit events", seed_audit_trail),
    ("audit events' indexes and keys built (not rows)", build_audit_indexes),
)
SEEDERS = NETWORK_SEEDERS + BLOCK_SEEDERS + CLOSING_SEEDERS


def seeding_order(shape: Shape) -> list[tuple[str, Seeder]]:
    """Every seeder in the order it runs: the block seeders once per block of patients."""
    return [*NETWORK_SEEDERS, *BLOCK_SEEDERS * shape.blocks, *CLOSING_SEEDERS]


def seed_network(
    engine: sa.Engine,
    shape: Shape,
    password_hash: str,
    now: datetime | None = None,
    processes: int | None = None,
) -> SeedReport:
    """Seed an empty, migrated database in one transaction; reports rows and seconds per
    seeder and each process's peak memory.

    With two processes (the default where there are two cores) one builds the rows while the
    other writes them (bench/pipeline.py); the database ends the same either way."""
    protocols = sorted(load_protocols(default_protocol_dir()).values(), key=lambda p: p.key)
    net = Network(
        shape=shape,
        now=now or utcnow(),
        rng=random.Random(shape.seed),
        protocols=protocols,
        password_hash=password_hash,
        sqlite=engine.dialect.name == "sqlite",
    )
    if processes is None:
        processes = 2 if (os.cpu_count() or 1) > 1 else 1
    order = seeding_order(shape)
    if processes > 1:
        return seed_in_two_processes(net, order, engine, _finish)
    with engine.begin() as conn:
        report = seed_in_one_process(net, order, conn)
        _finish(conn)
    return report


def _finish(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        _advance_sequences(conn)


def _advance_sequences(conn: sa.Connection) -> None:
    # Rows were inserted with explicit ids; move each id sequence past them, so the app's own
    # inserts during the run (a vitals reading, a note) get fresh ids.
    for table in Clinic.metadata.sorted_tables:
        if (
            "id" in table.c
            and table.c.id.autoincrement in (True, "auto")
            and table.c.id.primary_key
        ):
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                )
            )
