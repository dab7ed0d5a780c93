"""A critical alert is emailed through a real SMTP server (local aiosmtpd), with no patient data."""

import socket
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from psiflow.domain.dosing import DoseKind
from psiflow.domain.phases import Phase
from psiflow.models import dosing as dosing_model
from psiflow.models.types import utcnow
from tests.conftest import AuthActions
from tests.factories import gen_course, gen_dosing_session, gen_patient


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def live_session(db, team):
    patient = gen_patient(team["clinician"], display_name="Rowan Mailtest")
    course = gen_course(patient, Phase.DOSING, protocol_key="ketamine-assisted-psychotherapy@1.0")
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=2)
    dose_at = utcnow() - timedelta(minutes=60)
    dosing_model.record_dose(session, DoseKind.INITIAL, 200, "K-1", dose_at, team["clinician"])
    db.session.commit()
    return session


def _body(message) -> str:
    return message.get_payload(decode=True).decode()


def _client(make_app, **config):
    app = make_app(**config)
    return app.test_client()


def test_a_critical_reading_is_emailed_to_the_supervisor_and_lead_without_patient_data(
    make_app, smtp_server, team, live_session, db
):
    controller, inbox = smtp_server
    client = _client(make_app, MAIL_URL=f"smtp://127.0.0.1:{controller.port}")
    AuthActions(client).login(team["clinician"])
    response = client.post(
        f"/dosing-sessions/{live_session.id}/vitals", data={"spo2": "82", "heart_rate": "150"}
    )
    assert response.status_code == 302
    recipients = sorted(to for tos, _ in inbox.messages for to in tos)
    assert recipients == sorted([team["supervisor"].email, team["clinician"].email])
    for _, message in inbox.messages:
        text = f"{message['Subject']}\n{_body(message)}"
        assert "critical safety alert" in text.lower()
        # Neither the patient nor the finding: no name, no vital, no value with its unit.
        for secret in ("Rowan", "Mailtest", "SpO2", "Heart rate", "82 %", "150 bpm"):
            assert secret not in text
    supervisor_mail = next(m for tos, m in inbox.messages if team["supervisor"].email in tos)
    assert "/supervision/alerts#alert-" in _body(supervisor_mail)


def test_nothing_is_emailed_for_a_refused_entry_or_a_reading_that_is_not_critical(
    make_app, smtp_server, team, live_session, db
):
    controller, inbox = smtp_server
    client = _client(make_app, MAIL_URL=f"smtp://127.0.0.1:{controller.port}")
    AuthActions(client).login(team["clinician"])
    # Implausible: refused and rolled back; out of range only: flagged, no alert.
    client.post(f"/dosing-sessions/{live_session.id}/vitals", data={"spo2": "20"})
    client.post(f"/dosing-sessions/{live_session.id}/vitals", data={"spo2": "92"})
    assert inbox.messages == []


def test_an_unreachable_mail_server_never_loses_the_alert(make_app, team, live_session, db):
    from psiflow.models import Alert

    client = _client(make_app, MAIL_URL=f"smtp://127.0.0.1:{_free_port()}")
    AuthActions(client).login(team["clinician"])
    response = client.post(f"/dosing-sessions/{live_session.id}/vitals", data={"spo2": "80"})
    assert response.status_code == 302
    assert db.session.query(Alert).count() == 1


def test_development_prints_the_email_to_the_console(make_app, team, live_session, db, capsys):
    client = _client(make_app, MAIL_URL="console")
    AuthActions(client).login(team["clinician"])
    client.post(f"/dosing-sessions/{live_session.id}/vitals", data={"spo2": "80"})
    printed = capsys.readouterr().out
    assert "a critical safety alert is waiting" in printed and "Rowan" not in printed
