"""Critical alerts leave the app: an email to the care team's supervisors and the lead clinician.

The email says only that a critical alert waits, with a link: no name, no finding, nothing of
the patient (email is not a place for clinical data). It is sent through the SMTP server that
`PSIFLOW_MAIL_URL` names, once the transaction that raised the alert has committed, so a
rolled-back alert never reaches anyone; in development it is printed to the console.

    PSIFLOW_MAIL_URL = smtp://mail.clinic.example:25
                     = smtp+starttls://user:password@mail.clinic.example:587
                     = smtps://user:password@mail.clinic.example:465
                     = console        (print the message; the development default)
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_app_context, has_request_context, url_for

from psiflow.access import receives_safety_alerts
from psiflow.extensions import db
from psiflow.models.alerts import PENDING_EMAIL
from psiflow.models.users import User

log = logging.getLogger(__name__)
_OUTBOX = "psiflow_alert_outbox"
# A clinic's mail server that does not answer must not hold a bedside page for long.
SMTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Letter:
    to: tuple[str, ...]
    subject: str
    body: str


class MailError(RuntimeError):
    """The configured mail URL cannot be used."""


def send(config, letter: Letter) -> None:
    """Deliver `letter` as the app's configuration says (SMTP, console, or nowhere)."""
    url = config.get("MAIL_URL") or ""
    if not url:
        return
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = ", ".join(letter.to)
    message["Subject"] = letter.subject
    message.set_content(letter.body)
    if url == "console":
        print(f"--- email (PSIFLOW_MAIL_URL=console) ---\n{message}", flush=True)
        return
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
        raise MailError("PSIFLOW_MAIL_URL must be smtp://, smtp+starttls://, smtps:// or console")
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(
            parts.hostname,
            parts.port or 465,
            timeout=SMTP_TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=SMTP_TIMEOUT_SECONDS)
    with smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)


def letters_for(alert, recipients: list[User], link_for) -> list[Letter]:
    """One letter per recipient: supervisors are sent to the alerts page, the lead clinician
    to the patient's page (which they may open); neither link says anything of the patient."""
    letters = []
    for user in recipients:
        link = link_for(user, alert)
        letters.append(
            Letter(
                to=(user.email,),
                subject="PsiFlow: a critical safety alert is waiting",
                body=(
                    f"Hello {user.name},\n\n"
                    "A critical safety alert was raised in PsiFlow for a patient in your care "
                    "team. It needs a person now.\n\n"
                    f"Open it here (you will be asked to log in): {link}\n\n"
                    "This email carries no patient information by design.\n"
                ),
            )
        )
    return letters


def _recipients(alert) -> list[User]:
    patient = alert.course.patient
    if patient.is_practice:
        return []  # a fictional patient's danger is practice: it stays in the app
    ids = {patient.lead_clinician_id, *patient.care_team_supervisor_ids}
    users = db.session.scalars(
        sa.select(User).where(User.id.in_(ids), User.active.is_(True)).order_by(User.id)
    )
    return list(users)


def _link(user: User, alert) -> str:
    if receives_safety_alerts(user.role):
        return url_for("supervision.alerts", _external=True, _anchor=f"alert-{alert.id}")
    return url_for("patients.show", patient_id=alert.course.patient_id, _external=True)


def init_app(app) -> None:
    if not app.config.get("MAIL_URL") and app.config["ENV"] == "production":
        app.logger.warning(
            "PSIFLOW_MAIL_URL is not set: critical safety alerts are shown in the app only, "
            "not emailed."
        )


@sa.event.listens_for(so.Session, "before_commit")
def _address_critical_alerts(session):
    """Work out who hears each critical alert while the session can still read: after the
    commit it cannot."""
    pending = session.info.pop(PENDING_EMAIL, None)
    if not pending or not has_request_context():
        return
    session.flush()
    outbox = session.info.setdefault(_OUTBOX, [])
    for alert in pending:
        outbox.extend(letters_for(alert, _recipients(alert), _link))


@sa.event.listens_for(so.Session, "after_commit")
def _send_after_commit(session):
    outbox = session.info.pop(_OUTBOX, None)
    if not outbox or not has_app_context():
        return
    config = current_app.config
    for letter in outbox:
        try:
            send(config, letter)
        except (OSError, smtplib.SMTPException, MailError) as error:
            # The alert itself is stored and shown in the app; say only that mail failed.
            log.error("A critical alert email could not be sent: %s", type(error).__name__)


@sa.event.listens_for(so.Session, "after_rollback")
def _forget_on_rollback(session):
    session.info.pop(PENDING_EMAIL, None)
    session.info.pop(_OUTBOX, None)
