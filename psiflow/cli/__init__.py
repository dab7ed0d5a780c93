"""Command-line tasks: `flask --app psiflow <command>`."""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import sqlalchemy as sa

from psiflow import demo
from psiflow.access import Role
from psiflow.cli import maintenance
from psiflow.domain.passwords import password_problems
from psiflow.extensions import db
from psiflow.models import Clinic, User, stored


def init_app(app) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(stored_values_command)
    maintenance.init_app(app)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Seed only when the database has no users yet.")
def seed_demo_command(if_empty):
    """Create the demo clinic with fictional staff and patients."""
    if demo.demo_clinic() is None:
        if if_empty and not demo.database_is_empty():
            click.echo("The database already holds users; the demo clinic was not added.")
            return
        demo.seed_demo()
        db.session.commit()
        click.echo("Seeded the demo clinic.")
    else:
        click.echo("The demo clinic is already there; nothing was changed.")
    click.echo("Demo logins:")
    for line in demo.login_lines():
        click.echo(line)


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--clinic", "clinic_name", default=None, help="Clinic name (created if new).")
@click.option("--timezone", default="UTC", help="Time zone for a newly created clinic.")
@click.option("--supervisor", "supervisor_email", default=None, help="Supervisor's email.")
@click.password_option("--password", help="Prompted for when not given.")
def create_user_command(email, name, role, clinic_name, timezone, supervisor_email, password):
    """Create a user (the first administrator of a new install, for instance)."""
    email = email.strip().lower()
    problems = password_problems(password, email)
    if problems:
        raise click.ClickException(" ".join(problems))
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise click.ClickException(f"A user with the email {email} already exists.")
    clinic = _clinic(clinic_name, timezone)
    supervisor = None
    if supervisor_email:
        supervisor = db.session.scalar(
            sa.select(User).where(User.email == supervisor_email.strip().lower())
        )
        if supervisor is None or supervisor.role != Role.SUPERVISOR:
            raise click.ClickException(f"No supervisor with the email {supervisor_email}.")
    if Role(role) == Role.TRAINEE and supervisor is None:
        raise click.ClickException("A trainee needs --supervisor.")
    user = User(email=email, name=name, role=Role(role), clinic=clinic, supervisor=supervisor)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} {email} in {clinic.name}.")


def _clinic(name, timezone) -> Clinic:
    if name is None:
        clinics = db.session.scalars(sa.select(Clinic)).all()
        if len(clinics) == 1:
            return clinics[0]
        if clinics:
            raise click.ClickException("There are several clinics: name one with --clinic.")
        name = "Clinic"
    clinic = db.session.scalar(sa.select(Clinic).where(Clinic.name == name))
    if clinic is None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise click.ClickException(f"Unknown time zone {timezone!r}.") from None
        clinic = Clinic(name=name, timezone=timezone)
        db.session.add(clinic)
    return clinic


@click.group("stored-values")
def stored_values_command():
    """Check or repair the values courses keep worked out from their records (after a change
    made in the database itself, or an upgrade)."""


@stored_values_command.command("verify")
def verify_stored_values_command():
    """List every stored value that disagrees with its rule; exit 1 when any does."""
    with db.engine.connect() as connection:
        found = stored.verify(connection)
    for d in found:
        click.echo(
            f"course {d.course_id}: {d.value} stored {_shown(d.stored)}, "
            f"computed {_shown(d.computed)}"
        )
    if found:
        click.echo(
            f"{len(found)} stored value(s) disagree with their rules: "
            "`flask --app psiflow stored-values refresh` works them out again.",
            err=True,
        )
        raise SystemExit(1)
    click.echo("Every stored value agrees with its rule.")


def _shown(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return f"({', '.join(_shown(v) for v in value)})"
    return repr(value)


@stored_values_command.command("refresh")
def refresh_stored_values_command():
    """Work every stored value of every course out again, committing batch by batch."""
    changed = dict.fromkeys((value.name for value in stored.VALUES), 0)
    courses = 0
    with db.engine.connect() as connection:
        # A commit per batch of courses: each batch locks only its own course rows.
        for ids in stored.every_course(connection):
            for name, count in stored.refresh(connection, ids).items():
                changed[name] += count
            connection.commit()
            courses += len(ids)
    counts = ", ".join(f"{name} {count}" for name, count in changed.items())
    click.echo(f"Worked out the stored values of {courses} course(s) again; changed: {counts}.")
