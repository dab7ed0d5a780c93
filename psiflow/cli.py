"""Command-line tasks: `flask --app psiflow <command>`."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import sqlalchemy as sa

from psiflow import demo, maintenance
from psiflow.access import Role
from psiflow.domain.passwords import password_problems
from psiflow.extensions import db
from psiflow.models import Clinic, User


def init_app(app) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
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
