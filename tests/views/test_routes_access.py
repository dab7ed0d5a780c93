"""Deny by default, proven over every route the app has."""

import re

import pytest

from psiflow import access
from psiflow.access import ENDPOINTS, Role
from psiflow.domain.phases import Phase
from psiflow.models import Course, Patient, PhaseTransition
from tests.factories import gen_course, gen_patient


def _routes(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def test_every_endpoint_states_its_rule_in_access_py(app):
    missing = {r.endpoint for r in app.url_map.iter_rules()} - set(ENDPOINTS)
    assert missing == set()


def test_access_table_names_no_endpoint_that_does_not_exist(app):
    assert set(ENDPOINTS) - {r.endpoint for r in app.url_map.iter_rules()} == set()


def _url(rule, ids):
    return re.sub(r"<int:(\w+)>", lambda m: str(ids.get(m.group(1), 1)), rule.rule)


def test_anonymous_visitor_is_sent_to_login_from_every_page(app, client, team):
    patient = gen_patient(team["clinician"])
    course = gen_course(patient)
    ids = {"patient_id": patient.id, "course_id": course.id, "user_id": team["clinician"].id}
    checked = 0
    for rule in _routes(app):
        if ENDPOINTS[rule.endpoint].public:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(_url(rule, ids), method=method)
            assert response.status_code == 302, (rule, method)
            assert response.headers["Location"].startswith("/login"), rule
            checked += 1
    assert checked >= 15
    print(f"checked {checked} route/method pairs anonymously")


def _patient_routes(app):
    return [r for r in _routes(app) if ENDPOINTS[r.endpoint].patient is not None]


@pytest.mark.parametrize("intruder", ["outsider", "trainee", "admin", "other_supervisor"])
def test_other_caseload_gets_404_on_every_patient_route_and_nothing_changes(
    app, client, login_as, team, db, intruder
):
    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.PREPARATION)
    ids = {"patient_id": patient.id, "course_id": course.id}
    login_as(team[intruder])
    before = (db.session.query(PhaseTransition).count(), db.session.query(Course).count())
    for rule in _patient_routes(app):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            data = {
                "version": course.version,
                "to_phase": "dosing",
                "reason": "x",
                "protocol_key": course.protocol_key,
            }
            response = client.open(_url(rule, ids), method=method, data=data)
            rule_ = ENDPOINTS[rule.endpoint]
            if access.can(team[intruder], rule_.patient, patient):
                continue  # a right of the role, not an intrusion (an admin reads the audit trail)
            expected = 403 if team[intruder].role not in rule_.roles else 404
            assert response.status_code == expected, (intruder, rule, method)
    after = (db.session.query(PhaseTransition).count(), db.session.query(Course).count())
    assert after == before
    assert db.session.get(Course, course.id).phase == Phase.PREPARATION


def test_trainee_sees_no_real_patient_even_as_lead(client, login_as, team, db):
    # A real patient wrongly assigned to a trainee stays invisible to them.
    patient = gen_patient(team["trainee"], is_practice=False)
    login_as(team["trainee"])
    assert client.get(f"/patients/{patient.id}").status_code == 404
    assert patient.display_name not in client.get("/").get_data(as_text=True)


def test_clinician_never_sees_practice_patients(client, login_as, team, db):
    practice = gen_patient(team["trainee"])
    gen_course(practice)
    login_as(team["clinician"])
    assert client.get(f"/patients/{practice.id}").status_code == 404
    assert practice.display_name not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.SUPERVISOR, Role.TRAINEE])
def test_care_roles_cannot_open_admin_pages(client, login_as, team, role):
    user = {
        Role.CLINICIAN: team["clinician"],
        Role.SUPERVISOR: team["supervisor"],
        Role.TRAINEE: team["trainee"],
    }[role]
    login_as(user)
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users/new", data={"email": "x@y.z"}).status_code == 403


def test_admin_cannot_create_patients(client, login_as, team):
    login_as(team["admin"])
    assert client.get("/patients/new").status_code == 403


def test_unknown_ids_are_404(client, login_as, team):
    login_as(team["clinician"])
    assert client.get("/patients/999999").status_code == 404
    assert client.post("/courses/999999/advance", data={"version": 1}).status_code == 404


def test_security_headers_on_every_page(client, login_as, team):
    login_as(team["clinician"])
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_patient_is_unchanged_by_a_forged_post(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    login_as(team["outsider"])
    client.post(f"/patients/{patient.id}/courses", data={"protocol_key": "x"})
    assert db.session.get(Patient, patient.id).courses == []


def test_a_view_takes_what_its_url_names_from_the_guard_checked_once(app, team, db):
    """A view's `guard.load_patient(patient_id)` answers the patient the guard checked before
    it, with no second query; any other patient it asked for would pass the same check."""
    from flask_login import login_user
    from werkzeug.exceptions import NotFound

    from psiflow.web import guard
    from tests.conftest import count_queries

    mine = gen_patient(team["clinician"])
    theirs = gen_patient(team["outsider"])
    db.session.commit()
    with app.test_request_context(f"/patients/{mine.id}"):
        login_user(team["clinician"])
        assert app.preprocess_request() is None  # the guard: loaded, checked, let through
        with count_queries(db.engine) as counter:
            assert guard.load_patient(mine.id).id == mine.id
        assert counter.count == 0
        with pytest.raises(NotFound):
            guard.load_patient(theirs.id)
        with pytest.raises(NotFound):
            guard.load_patient(theirs.id + 1000)
