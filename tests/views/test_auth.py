"""Log in, lockout, idle logout, password change."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from psiflow.access import Role
from psiflow.extensions import db
from psiflow.models import User
from psiflow.models.types import utcnow
from tests.factories import EARLIER_RELEASE_HASHES, TEST_PASSWORD, gen_user


def test_login_page_has_labelled_fields_and_button(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in html
    assert '<label for="password">Password</label>' in html
    assert 'value="Log in"' in html


def test_login_lands_on_the_board(client, auth, team):
    response = auth.login(team["clinician"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "My caseload" in client.get("/").get_data(as_text=True)


def test_admin_lands_on_user_management(client, auth, team):
    auth.login(team["admin"])
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"


def test_wrong_password_is_refused_with_a_generic_message(client, auth, team):
    response = auth.login(team["clinician"], password="not the password")
    assert response.status_code == 200
    assert "The email or password is not correct." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still anonymous


def test_unknown_email_gets_the_same_message(client, db):
    response = client.post("/login", data={"email": "nobody@x.test", "password": "whatever12345"})
    assert "The email or password is not correct." in response.get_data(as_text=True)


def test_five_failures_lock_the_account_for_fifteen_minutes(client, auth, team):
    user = team["clinician"]
    for _ in range(5):
        auth.login(user, password="wrong password!")
    db.session.refresh(user)
    assert user.locked_until is not None
    minutes = (user.locked_until - utcnow()).total_seconds() / 60
    assert 14 < minutes <= 15
    response = auth.login(user)  # the right password no longer works
    assert response.status_code == 200
    assert "locked" in response.get_data(as_text=True)
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert auth.login(user).status_code == 302


def test_the_lockout_message_gives_the_unlock_time_in_the_clinics_zone(client, auth, team):
    user = team["clinician"]  # a clinic in America/Los_Angeles, never UTC's offset
    user.locked_until = datetime(2031, 1, 15, 20, 45, tzinfo=UTC)
    db.session.commit()
    page = auth.login(user).get_data(as_text=True)
    assert "Try again after 12:45 PST or ask an administrator." in page
    assert "20:45" not in page


def test_deactivated_user_cannot_log_in(client, auth, team):
    team["clinician"].deactivate()
    db.session.commit()
    assert auth.login(team["clinician"]).status_code == 200


def test_next_is_followed_only_within_the_site(client, team):
    data = {"email": team["clinician"].email, "password": TEST_PASSWORD}
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/patients/new", data=data)
    assert response.headers["Location"] == "/patients/new"


def test_logout_ends_the_session(client, auth, team):
    auth.login(team["clinician"])
    auth.logout()
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_idle_session_is_logged_out(app, client, auth, team):
    auth.login(team["clinician"])
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - app.config["IDLE_TIMEOUT_MINUTES"] * 60 - 5
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_change_password_ends_other_sessions(app, client, auth, team):
    user = team["clinician"]
    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert other.get("/").status_code == 200
    auth.login(user)
    response = client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one ended
    assert db.session.get(User, user.id).check_password("a brand new passphrase")


def test_change_password_refuses_short_and_common_passwords(client, auth, team):
    auth.login(team["clinician"])
    for bad in ("short", "password1234", "aaaaaaaaaaaaaaa"):
        response = client.post(
            "/account/password",
            data={"current_password": TEST_PASSWORD, "new_password": bad, "confirm": bad},
        )
        assert response.status_code == 200
    assert db.session.get(User, team["clinician"].id).check_password(TEST_PASSWORD)


def test_change_password_needs_the_current_one(client, auth, team):
    auth.login(team["clinician"])
    response = client.post(
        "/account/password",
        data={
            "current_password": "wrong wrong wrong",
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert "The current password is not correct." in response.get_data(as_text=True)


def test_user_loader_refuses_a_stale_token(client, auth, db, clinic):
    user = gen_user(Role.CLINICIAN, clinic)
    db.session.commit()
    auth.login(user)
    user.end_sessions()
    db.session.commit()
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("earlier_hash", EARLIER_RELEASE_HASHES)
def test_login_rehashes_a_password_stored_with_older_argon2_settings(
    client, auth, team, earlier_hash
):
    user = team["clinician"]
    user.password_hash = earlier_hash
    db.session.commit()
    assert auth.login(user).status_code == 302
    db.session.refresh(user)
    assert user.password_hash.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
    assert user.check_password(TEST_PASSWORD) and not user.check_password("a wrong passphrase")
    token = user.session_token
    auth.logout()
    assert auth.login(user).status_code == 302  # already current: left as it is
    db.session.refresh(user)
    assert user.session_token == token


def test_a_wrong_password_against_an_earlier_hash_is_refused_and_kept(client, auth, team):
    user = team["clinician"]
    user.password_hash = EARLIER_RELEASE_HASHES[0]
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": "a wrong passphrase"})
    assert response.status_code == 200
    db.session.refresh(user)
    assert user.password_hash == EARLIER_RELEASE_HASHES[0] and user.failed_logins == 1


def test_unknown_account_costs_a_password_check_like_a_known_one(client, db, monkeypatch):
    checked = []
    monkeypatch.setattr(
        "psiflow.auth.views.spend_password_check", lambda pw: checked.append(pw) or False
    )
    response = client.post("/login", data={"email": "nobody@x.test", "password": "whatever12345"})
    assert response.status_code == 200 and checked == ["whatever12345"]
