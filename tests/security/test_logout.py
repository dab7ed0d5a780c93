"""Logging out ends the session on the server: a copy of the cookie is refused afterwards,
one's own sessions end everywhere at once, and an administrator can end a user's sessions."""

import re

import pytest
import sqlalchemy as sa

from psiflow import audit
from psiflow.access import ENDPOINTS, Role
from psiflow.models import AuditEvent, LoginSession, Patient, User
from tests.factories import gen_clinic, gen_patient, gen_user
from tests.security.conftest import csrf_token, log_in

NEW_PATIENT = {
    "display_name": "Replayed Cookie",
    "record_number": "REPLAY-1",
    "date_of_birth": "1980-02-03",
    "co_facilitator_id": 0,
}


def _copy_of_cookie(app, client):
    """A second browser holding the exact cookie `client` holds now (a saved or lifted copy)."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def _token(client, path: str) -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def _refused_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def _patients_named(db, record_number: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Patient.id)).where(Patient.record_number == record_number)
    )


def test_a_cookie_saved_before_logout_is_refused_after_it(make_app, db, team):
    app = make_app(WTF_CSRF_ENABLED=True)
    clinician = team["clinician"]
    patient = gen_patient(clinician)
    db.session.commit()
    browser = app.test_client()
    log_in(browser, clinician, csrf=True)
    saved = _copy_of_cookie(app, browser)
    # The copy works while the log-in is open, form token included: it is the same session.
    token = _token(saved, "/patients/new")
    assert saved.get(f"/patients/{patient.id}").status_code == 200

    browser.post("/logout", data={"csrf_token": _token(browser, "/")})

    assert _refused_to_login(saved.get(f"/patients/{patient.id}"))
    response = saved.post("/patients/new", data={**NEW_PATIENT, "csrf_token": token})
    assert _refused_to_login(response)
    assert _patients_named(db, "REPLAY-1") == 0
    assert db.session.scalar(sa.select(LoginSession.ended_at)) is not None


def test_logging_out_on_one_device_leaves_the_others_logged_in(app, db, team):
    tablet, desk = app.test_client(), app.test_client()
    log_in(tablet, team["clinician"])
    log_in(desk, team["clinician"])
    tablet.post("/logout")
    assert _refused_to_login(tablet.get("/"))
    assert desk.get("/").status_code == 200


def test_an_idle_logout_ends_the_session_on_the_server(app, db, team):
    browser = app.test_client()
    log_in(browser, team["clinician"])
    saved = _copy_of_cookie(app, browser)
    with browser.session_transaction() as session:
        session["seen"] -= app.config["IDLE_TIMEOUT_MINUTES"] * 60 + 5
    assert _refused_to_login(browser.get("/"))
    assert _refused_to_login(saved.get("/"))  # its `seen` is fresh, its log-in is not


def test_a_cookie_from_before_log_ins_were_kept_on_the_server_is_refused(app, db, team):
    user = team["clinician"]
    browser = app.test_client()
    log_in(browser, user)
    with browser.session_transaction() as session:
        session["_user_id"] = f"{user.id}:{db.session.get(User, user.id).session_token}"
    assert _refused_to_login(browser.get("/"))


def test_log_out_everywhere_ends_every_session_of_the_user_only(make_app, db, team):
    app = make_app(WTF_CSRF_ENABLED=True)
    user, colleague = team["clinician"], team["clinician2"]
    tablet, desk, colleagues = app.test_client(), app.test_client(), app.test_client()
    for browser, who in ((tablet, user), (desk, user), (colleagues, colleague)):
        log_in(browser, who, csrf=True)
    page = desk.get("/account/password").get_data(as_text=True)
    assert 'action="/account/sessions/end"' in page

    response = desk.post("/account/sessions/end", data={"csrf_token": csrf_token(page)})

    assert _refused_to_login(response)
    assert _refused_to_login(tablet.get("/")) and _refused_to_login(desk.get("/"))
    assert colleagues.get("/").status_code == 200
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.detail == "everywhere, by the user")
    ).all()
    assert event.action == "logout" and event.actor_id == user.id
    assert event.object_id == str(user.id)
    # The user can log in again at once.
    log_in(tablet, user, csrf=True)
    assert tablet.get("/").status_code == 200


def test_log_out_everywhere_needs_the_form_token(make_app, db, team):
    app = make_app(WTF_CSRF_ENABLED=True)
    browser = app.test_client()
    log_in(browser, team["clinician"], csrf=True)
    assert browser.post("/account/sessions/end").status_code == 400
    assert browser.get("/").status_code == 200


def test_an_administrator_logs_a_user_out_everywhere(make_app, db, team):
    app = make_app(WTF_CSRF_ENABLED=True)
    user, admin = team["clinician"], team["admin"]
    tablet, desk, office = app.test_client(), app.test_client(), app.test_client()
    log_in(tablet, user, csrf=True)
    log_in(desk, user, csrf=True)
    log_in(office, admin, csrf=True)
    page = office.get(f"/admin/users/{user.id}").get_data(as_text=True)
    action = f"/admin/users/{user.id}/sessions/end"
    assert f'action="{action}"' in page

    response = office.post(action, data={"csrf_token": csrf_token(page)})

    assert response.status_code == 302
    assert _refused_to_login(tablet.get("/")) and _refused_to_login(desk.get("/"))
    assert office.get("/admin/users").status_code == 200
    assert db.session.get(User, user.id).active  # logged out, not deactivated
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.detail == "everywhere, by an administrator")
    ).all()
    assert (event.actor_id, event.object_type, event.object_id) == (admin.id, "User", str(user.id))
    assert audit.verify_chain(db.session.connection()).ok


@pytest.mark.parametrize("who", ["clinician2", "supervisor", "trainee", "outsider"])
def test_only_an_administrator_ends_another_users_sessions(app, db, team, who):
    target = team["clinician"]
    victim, intruder = app.test_client(), app.test_client()
    log_in(victim, target)
    log_in(intruder, team[who])
    response = intruder.post(f"/admin/users/{target.id}/sessions/end")
    assert response.status_code == 403
    assert victim.get("/").status_code == 200


def test_an_administrator_cannot_end_the_sessions_of_another_clinics_user(app, db, team):
    elsewhere = gen_user(Role.CLINICIAN, gen_clinic(name="Elsewhere"))
    db.session.commit()
    victim, office = app.test_client(), app.test_client()
    log_in(victim, elsewhere)
    log_in(office, team["admin"])
    assert office.post(f"/admin/users/{elsewhere.id}/sessions/end").status_code == 404
    assert victim.get("/").status_code == 200


def test_the_access_table_states_the_new_endpoints():
    assert ENDPOINTS["admin.end_user_sessions"].roles == frozenset({Role.ADMIN})
    # Anyone logged in may end their own sessions: the URL names no user to act on.
    assert ENDPOINTS["auth.end_all_sessions"].roles == frozenset(Role)
    assert not ENDPOINTS["auth.end_all_sessions"].public


def test_the_log_out_everywhere_form_carries_no_user_id(app, db, team):
    browser = app.test_client()
    log_in(browser, team["clinician"])
    page = browser.get("/account/password").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/account/sessions/end">(.*?)</form>', page, re.S)
    assert form and "user" not in form.group(1)
