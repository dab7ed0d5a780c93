"""Backups and restores: the clinic gets back exactly what it had."""

import os
import shutil

import pytest
import sqlalchemy as sa

from psiflow.models import AuditEvent, Patient
from tests.factories import gen_patient

ON_SQLITE = not os.environ.get("PSIFLOW_TEST_DATABASE_URL", "").startswith("postgresql")
HAVE_PG_TOOLS = shutil.which("pg_dump") is not None and shutil.which("pg_restore") is not None


def _names(db):
    db.session.expire_all()
    return set(db.session.scalars(sa.select(Patient.display_name)))


def test_backup_then_restore_brings_back_the_original_records(app, db, team, tmp_path):
    if not ON_SQLITE and not HAVE_PG_TOOLS:
        pytest.skip("pg_dump/pg_restore are not installed: the command only prints them")
    gen_patient(team["clinician"], display_name="Kept Example")
    db.session.commit()
    runner = app.test_cli_runner()
    backup = tmp_path / "psiflow.backup"
    result = runner.invoke(args=["backup", str(backup)])
    assert result.exit_code == 0, result.output
    assert backup.exists() and backup.stat().st_size > 0

    kept = db.session.scalar(sa.select(Patient).filter_by(display_name="Kept Example"))
    kept.display_name = "Changed Later"
    gen_patient(team["clinician"], display_name="Added Later")
    db.session.commit()
    assert _names(db) == {"Changed Later", "Added Later"}

    db.session.remove()
    result = runner.invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    assert _names(db) == {"Kept Example"}
    assert app.test_cli_runner().invoke(args=["audit-verify"]).exit_code == 0
    last = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert last.action == "restore" and last.context == "cli"


def test_restore_needs_confirmation_and_changes_nothing_without_it(app, db, team, tmp_path):
    backup = tmp_path / "unconfirmed.backup"
    backup.write_bytes(b"anything")
    gen_patient(team["clinician"], display_name="Still Here")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["restore", str(backup)])
    assert result.exit_code != 0 and "--yes" in result.output
    assert _names(db) == {"Still Here"}


@pytest.mark.skipif(not ON_SQLITE, reason="checks the SQLite restore's own refusals")
def test_restore_refuses_a_file_that_is_not_a_psiflow_backup(app, db, team, tmp_path):
    backup = tmp_path / "not-a-database"
    backup.write_text("hello")
    result = app.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code != 0 and "not a SQLite database" in result.output


@pytest.mark.skipif(not ON_SQLITE, reason="checks the SQLite restore's own refusals")
def test_restore_refuses_a_backup_whose_audit_trail_was_tampered_with(app, db, team, tmp_path):
    import sqlite3

    gen_patient(team["clinician"], display_name="Original")
    db.session.commit()
    backup = tmp_path / "tampered.backup"
    app.test_cli_runner().invoke(args=["backup", str(backup)])
    with sqlite3.connect(backup) as connection:
        connection.execute("UPDATE audit_events SET actor_id = 42 WHERE seq = 1")
    result = app.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code != 0 and "audit trail is broken at row 1" in result.output
    assert _names(db) == {"Original"}


def test_backup_never_overwrites_an_existing_file(app, db, tmp_path):
    existing = tmp_path / "yesterday.backup"
    existing.write_bytes(b"yesterday")
    result = app.test_cli_runner().invoke(args=["backup", str(existing)])
    assert result.exit_code != 0 and existing.read_bytes() == b"yesterday"


def test_without_pg_dump_the_backup_command_prints_what_to_run(monkeypatch, tmp_path):
    import click
    from click.testing import CliRunner

    from psiflow.cli import maintenance

    monkeypatch.setattr(maintenance.shutil, "which", lambda _name: None)
    url = sa.make_url("postgresql+psycopg://clinic:secret@db.internal:5433/psiflow")
    command = click.Command(
        "probe",
        callback=lambda: maintenance._run_pg(
            ["pg_dump", *maintenance._pg_connection_args(url), "--format=custom", "--file=x"], url
        ),
    )
    output = CliRunner().invoke(command).output
    assert (
        "PGPASSWORD=... pg_dump --dbname=psiflow --host=db.internal --port=5433 "
        "--username=clinic --format=custom --file=x"
    ) in output
    assert "secret" not in output
