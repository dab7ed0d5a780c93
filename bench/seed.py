"""The benchmark's seeders in order, and `seed_network`, which runs them in one transaction."""

from __future__ import annotations

import random
from datetime import datetime

import sqlalchemy as sa

from bench import records
from bench.audit_trail import seed_audit_trail
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
from psiflow import stored_outcomes
from psiflow.domain.protocols import default_protocol_dir, load_protocols
from psiflow.models import Clinic
from psiflow.models.types import utcnow

# One seeder per record type, in dependency order (a seeder reads what those before it made).
# Add a line when a record type lands.
SEEDERS: tuple[tuple[str, Seeder], ...] = (
    ("clinics", seed_clinics),
    ("users", seed_users),
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
    ("courses' schedule attention (not rows)", records.seed_schedule_attention),
    ("courses' stored gate facts (not rows)", records.seed_stored_gate_facts),
    # The seed writes measures around the ORM: their stored outcome scores by the app's rule.
    ("courses' outcome scores", lambda _net, conn: stored_outcomes.refresh_all(conn)),
    ("audit events", seed_audit_trail),
)


def seed_network(
    engine: sa.Engine, shape: Shape, password_hash: str, now: datetime | None = None
) -> dict[str, int]:
    """Seed an empty, migrated database in one transaction; returns rows per record type."""
    protocols = sorted(load_protocols(default_protocol_dir()).values(), key=lambda p: p.key)
    net = Network(
        shape=shape,
        now=now or utcnow(),
        rng=random.Random(shape.seed),
        protocols=protocols,
        password_hash=password_hash,
        sqlite=engine.dialect.name == "sqlite",
    )
    counts = {}
    with engine.begin() as conn:
        for name, seeder in SEEDERS:
            counts[name] = seeder(net, conn)
        if engine.dialect.name == "postgresql":
            _advance_sequences(conn)
    return counts


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
