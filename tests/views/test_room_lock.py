"""After the idle limit the session room locks instead of logging out: the entry is kept and
sent once the same user's password is given again; every other page still logs out."""

import time

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.models import AuditEvent, SessionEvent, User, VitalSign
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient

SCRIPT = {"X-Room-Entry": "1"}


@pytest.fixture
def session(db, team):
    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.DOSING, protocol_key="psilocybin-single-dose@1.0")
    return gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)


def url(session, action=""):
    return f"/dosing-sessions/{session.id}" + (f"/{action}" if action else "")


def go_idle(app, client, seconds_past: int = 5):
    with client.session_transaction() as cookie:
        cookie["seen"] = int(time.time()) - app.config["IDLE_TIMEOUT_MINUTES"] * 60 - seconds_past


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_an_idle_entry_from_the_page_script_is_answered_locked(
    app, client, login_as, team, session, db
):
    login_as(team["clinician"])
    go_idle(app, client)
    response = client.post(url(session, "vitals"), data={"heart_rate": 80}, headers=SCRIPT)
    assert response.status_code == 401 and response.json["locked"] is True
    assert count(db, VitalSign) == 0
    # Still locked, not logged out: the password brings it back and the entry then goes in.
    again = client.post("/unlock", data={"password": TEST_PASSWORD}, headers=SCRIPT)
    assert again.status_code == 200 and again.json["unlocked"] is True
    assert client.post(url(session, "vitals"), data={"heart_rate": 80}).status_code == 302
    assert count(db, VitalSign) == 1


def test_other_pages_still_log_out_when_idle(app, client, login_as, team, session, db):
    login_as(team["clinician"])
    go_idle(app, client)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    # Logged out for the session room too now.
    response = client.post(url(session, "events"), data={"kind": "peak"}, headers=SCRIPT)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert count(db, SessionEvent) == 0


def test_without_script_an_idle_entry_is_carried_through_the_password_page(
    app, client, login_as, team, session, db
):
    login_as(team["clinician"])
    go_idle(app, client)
    response = client.post(url(session, "events"), data={"kind": "note", "note": "Peak, tearful"})
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and "The session page is locked" in page
    assert 'name="note" value="Peak, tearful"' in page
    assert count(db, SessionEvent) == 0
    # The page's form posts the carried fields with the password; the entry is sent on, as
    # posted (a 307 keeps the method and body; the browser test follows it in Chromium).
    carried = {"kind": "note", "note": "Peak, tearful"}
    response = client.post(
        "/unlock",
        data={
            **carried,
            "password": TEST_PASSWORD,
            "resend_to": url(session, "events"),
            "resend_method": "POST",
        },
    )
    assert response.status_code == 307 and response.headers["Location"] == url(session, "events")
    assert client.post(response.headers["Location"], data=carried).status_code == 302
    notes = db.session.scalars(sa.select(SessionEvent.note)).all()
    assert notes == ["Peak, tearful"]


def test_an_idle_live_page_asks_for_the_password_then_shows_the_page(
    app, client, login_as, team, session, db
):
    login_as(team["clinician"])
    go_idle(app, client)
    response = client.get(url(session))
    assert response.status_code == 401
    assert "Dosing session" not in response.get_data(as_text=True)  # nothing of the record
    response = client.post(
        "/unlock",
        data={"password": TEST_PASSWORD, "resend_to": url(session), "resend_method": "GET"},
    )
    assert response.status_code == 303 and response.headers["Location"] == url(session)


def test_a_wrong_password_does_not_unlock_and_is_audited(app, client, login_as, team, session, db):
    login_as(team["clinician"])
    go_idle(app, client)
    response = client.post("/unlock", data={"password": "not it at all"}, headers=SCRIPT)
    assert response.status_code == 401 and response.json["locked"] is True
    response = client.post(url(session, "vitals"), data={"heart_rate": 80}, headers=SCRIPT)
    assert response.status_code == 401 and count(db, VitalSign) == 0
    failure = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "login_failure"))
    assert failure.detail == "session room lock: wrong password"


def test_another_users_password_does_not_unlock(app, client, login_as, team, session, db):
    other = team["clinician2"]
    other.set_password("Another-Long-Passphrase-2026")
    db.session.commit()
    login_as(team["clinician"])
    go_idle(app, client)
    response = client.post(
        "/unlock", data={"password": "Another-Long-Passphrase-2026"}, headers=SCRIPT
    )
    assert response.status_code == 401
    assert client.post(url(session, "vitals"), data={"heart_rate": 80}).status_code == 401
    assert count(db, VitalSign) == 0


def test_repeated_wrong_passwords_end_the_login_and_lock_the_account(
    app, client, login_as, team, session, db
):
    login_as(team["clinician"])
    go_idle(app, client)
    for _ in range(app.config["LOCKOUT_FAILURES"] - 1):
        assert client.post("/unlock", data={"password": "wrong"}, headers=SCRIPT).json["locked"]
    response = client.post("/unlock", data={"password": "wrong"}, headers=SCRIPT)
    assert response.status_code == 401 and response.json["logged_out"] is True
    user = db.session.get(User, team["clinician"].id)
    assert user.locked_until is not None
    # The right password no longer helps: the login is over, and the account locked.
    response = client.post("/unlock", data={"password": TEST_PASSWORD}, headers=SCRIPT)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_lock_held_too_long_logs_out(app, client, login_as, team, session, db):
    login_as(team["clinician"])
    go_idle(app, client, seconds_past=app.config["ROOM_LOCK_HOURS"] * 3600)
    response = client.post(url(session, "vitals"), data={"heart_rate": 80}, headers=SCRIPT)
    assert response.status_code == 302 and response.headers["Location"] == "/login"


@pytest.mark.parametrize("resend_to", ["//evil.example/x", "https://evil.example/", "/", "/logout"])
def test_the_password_page_sends_nowhere_but_the_session_room(
    app, client, login_as, team, session, db, resend_to
):
    login_as(team["clinician"])
    go_idle(app, client)
    response = client.post(
        "/unlock",
        data={"password": TEST_PASSWORD, "resend_to": resend_to, "resend_method": "POST"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_unlock_needs_a_login(client, team, db):
    response = client.post("/unlock", data={"password": TEST_PASSWORD})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_without_script_a_wrong_password_shows_the_page_again_with_the_entry_kept(
    app, client, login_as, team, session, db
):
    login_as(team["clinician"])
    go_idle(app, client)
    response = client.post(
        "/unlock",
        data={
            "kind": "note",
            "note": "Peak, tearful",
            "password": "wrong",
            "resend_to": url(session, "events"),
            "resend_method": "POST",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and "The password is not correct." in page
    assert 'name="note" value="Peak, tearful"' in page
    assert 'name="password" value="wrong"' not in page
    assert count(db, SessionEvent) == 0
