"""The write scenario end to end on a tiny network: a few sessions under way send their entries
at once, some twice with the same key, each answer followed to the live page, and every entry
is stored exactly once under a chain that verifies. On the suite's database: SQLite, or
PostgreSQL when PSIFLOW_TEST_DATABASE_URL names one (the scenario then gets a database of its
own beside it, dropped afterwards)."""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

from bench import database, writes

# The 200-patient seed has seven sessions under way: the eighth is started through the app.
SESSIONS = 8


@pytest.fixture
def scenario_database(tmp_path, monkeypatch):
    """The URL the scenario seeds; on PostgreSQL a sibling of the suite's database whose name
    says it is a benchmark's (bench.database drops and recreates it)."""
    suite = os.environ.get("PSIFLOW_TEST_DATABASE_URL", "")
    if not suite.startswith("postgresql"):
        monkeypatch.delenv(database.ENV_URL, raising=False)
        yield database.database_url(tmp_path)
        return
    parsed = sa.make_url(suite)
    url = parsed.set(database=f"{parsed.database}_bench_writes").render_as_string(
        hide_password=False
    )
    monkeypatch.setenv(database.ENV_URL, url)
    yield url
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.bench
def test_concurrent_sessions_lose_and_duplicate_no_entry_and_the_chain_verifies(
    scenario_database, tmp_path, capsys
):
    report = tmp_path / "last-writes.json"
    argv = [
        "--patients",
        "200",
        "--sessions",
        str(SESSIONS),
        "--seconds",
        "4",
        "--minute-seconds",
        "0.2",
        "--workers",
        "2",
        # Many entries sent again, after their answer and while in flight, so both happen.
        "--resend",
        "0.4",
        # Each answer followed to the live page, as the page's script does.
        "--follow",
        "--work-dir",
        str(tmp_path),
        "--json",
        str(report),
    ]

    assert writes.main(argv) == 0

    document = json.loads(report.read_text())
    assert document["database"] == database.dialect(scenario_database)
    assert document["sessions"] == SESSIONS
    assert document["sessions_started"] >= 1
    entries = document["entries"]
    assert entries["entries"] > 40
    assert entries["sent_again"] > 5
    assert entries["failed_sends"] == 0
    assert entries["acknowledged"] == entries["entries"]
    assert entries["stored"] == entries["acknowledged"] == entries["receipts"]
    assert entries["lost"] == entries["duplicated"] == entries["unknown"] == 0
    assert entries["recorded_twice"] == 0
    assert entries["audited_once"] == entries["stored"]
    assert entries["clean"]
    assert document["audit_chain"]["verified"]
    assert document["writes_per_second"] > 0
    posts = {row["page"]: row for row in document["posts"]}
    assert {
        "baseline",
        "pulse oximetry",
        "vital signs",
        "note",
        "sent again (same key)",
        "live page after each",
    } <= set(posts)
    assert posts["live page after each"]["requests"] == entries["sends"]
    assert all(0 < row["p50_ms"] <= row["p95_ms"] for row in posts.values())
    table = capsys.readouterr().out
    assert "lost / duplicated       0 / 0" in table
