"""Keeping the record safe: verify the audit chain, back the database up, restore it.

`flask --app psiflow audit-verify | backup PATH | restore PATH`
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import click
import sqlalchemy as sa

from psiflow import audit
from psiflow.extensions import db


def init_app(app) -> None:
    app.cli.add_command(audit_verify_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("audit-verify")
def audit_verify_command():
    """Check the audit trail's hash chain; exit 1 naming the first broken row."""
    with db.engine.connect() as connection:
        report = audit.verify_chain(connection)
    if not report.ok:
        click.echo(
            f"The audit trail is broken at row {report.broken_at}: {report.problem}.", err=True
        )
        raise SystemExit(1)
    click.echo(f"The audit trail is intact: {report.rows} rows verified.")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path):
    """Write a consistent copy of the database to PATH (the app may keep running)."""
    if path.exists():
        raise click.ClickException(f"{path} exists; choose a new file so no backup is overwritten.")
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(Path(url.database), path)
    elif url.get_backend_name() == "postgresql":
        command = ["pg_dump", *_pg_connection_args(url), "--format=custom", f"--file={path}"]
        if not _run_pg(command, url):
            return
    else:
        raise click.ClickException(f"No backup method for {url.get_backend_name()}.")
    audit.record_event("export", detail=f"database backup ({url.get_backend_name()})")
    click.echo(f"Backed up the database to {path}.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm: every change made since the backup is lost.")
def restore_command(path: Path, yes: bool):
    """Replace the database with the backup at PATH.

    Refuses without --yes, refuses a file that is not an intact PsiFlow backup or whose audit
    trail does not verify, and keeps a copy of the database it replaces (SQLite).
    """
    url = db.engine.url
    if not yes:
        raise click.ClickException(
            "Restoring replaces every record with the backup's; add --yes to confirm."
        )
    if url.get_backend_name() == "sqlite":
        _check_sqlite_backup(path)
        live = Path(url.database)
        keep = live.with_name(f"{live.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
        _sqlite_copy(live, keep)
        db.session.remove()
        db.engine.dispose()
        # The backup API takes the database's write lock, so a running app waits, then reads the
        # restored pages: no half-restored state is ever visible.
        with sqlite3.connect(path) as source, sqlite3.connect(live, timeout=30) as target:
            source.backup(target)
        click.echo(f"The replaced database was kept at {keep}.")
    elif url.get_backend_name() == "postgresql":
        command = [
            "pg_restore",
            *_pg_connection_args(url),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            str(path),
        ]
        db.session.remove()
        db.engine.dispose()
        if not _run_pg(command, url):
            return
        # A custom-format dump cannot be checked before it is loaded: check it straight after.
        with db.engine.connect() as connection:
            report = audit.verify_chain(connection)
        if not report.ok:
            click.echo(
                f"WARNING: the restored audit trail is broken at row {report.broken_at}: "
                f"{report.problem}.",
                err=True,
            )
    else:
        raise click.ClickException(f"No restore method for {url.get_backend_name()}.")
    audit.record_event("restore", detail=f"restored from a backup ({path.name})"[:200])
    click.echo(f"Restored the database from {path}.")


def _sqlite_copy(source: Path, target: Path) -> None:
    # The online backup API copies a consistent snapshot even while the app is writing.
    with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _check_sqlite_backup(path: Path) -> None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as backup:
            if backup.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise click.ClickException(f"{path} is damaged (integrity check failed).")
            tables = {r[0] for r in backup.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as error:
        raise click.ClickException(f"{path} is not a SQLite database: {error}") from None
    if not {"patients", "users", "audit_events"} <= tables:
        raise click.ClickException(f"{path} is not a PsiFlow database.")
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            report = audit.verify_chain(connection)
    finally:
        engine.dispose()
    if not report.ok:
        raise click.ClickException(
            f"The backup's audit trail is broken at row {report.broken_at}: {report.problem}. "
            "Restoring it would hide tampering; it was not restored."
        )


def _pg_connection_args(url: sa.URL) -> list[str]:
    args = [f"--dbname={url.database}"]
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    return args


def _run_pg(command: list[str], url: sa.URL) -> bool:
    """Run a PostgreSQL client tool, or print the exact command when it is not installed."""
    # The password goes through the environment, never the command line (visible in `ps`).
    env = {"PGPASSWORD": url.password} if url.password else {}
    if shutil.which(command[0]) is None:
        prefix = "PGPASSWORD=... " if url.password else ""
        click.echo(f"{command[0]} is not installed here. Run:\n  {prefix}{' '.join(command)}")
        return False
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        raise click.ClickException(f"{command[0]} failed: {result.stderr.strip()}")
    return True
