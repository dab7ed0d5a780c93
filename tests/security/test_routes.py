"""Every route, as someone who should not be there: logged out, another caseload, a trainee.
Routes come from the app's URL map, so routes added later are covered without a new test."""

import pytest

from tests.security.conftest import database_snapshot, routes, rule_of, url


def test_every_route_without_login_sends_to_login_and_saves_nothing(app, client, clinic_world):
    before = database_snapshot()
    tried = 0
    for rule, method in routes(app):
        if rule_of(rule).public:
            continue
        response = client.open(
            url(rule, clinic_world.ids), method=method, data={"reason": "x", "version": "1"}
        )
        assert response.status_code == 302, (rule.rule, method)
        assert response.headers["Location"].startswith("/login"), (rule.rule, method)
        assert "Confidential" not in response.get_data(as_text=True)
        tried += 1
    assert tried >= 15
    assert database_snapshot() == before
    print(f"tried {tried} route/method pairs without logging in")


@pytest.mark.parametrize("intruder", ["outsider", "trainee"])
def test_every_patient_route_refuses_another_caseload_and_a_trainee(
    app, client, login_as, clinic_world, intruder
):
    user = clinic_world.team[intruder]
    login_as(user)
    before = database_snapshot()
    tried = 0
    for rule, method in routes(app):
        if rule_of(rule).patient is None:
            continue
        data = {
            "version": clinic_world.course.version,
            "to_phase": "dosing",
            "reason": "x",
            "protocol_key": clinic_world.course.protocol_key,
        }
        response = client.open(url(rule, clinic_world.ids), method=method, data=data)
        expected = 403 if user.role not in rule_of(rule).roles else 404
        assert response.status_code == expected, (rule.rule, method)
        assert "Sorrel Confidential" not in response.get_data(as_text=True)
        tried += 1
    assert tried >= 8
    assert database_snapshot() == before
    print(f"tried {tried} patient route/method pairs as {intruder}")


def test_a_trainee_cannot_reach_a_real_patient_even_as_its_co_facilitator(
    app, client, login_as, clinic_world, db
):
    patient = clinic_world.patient
    patient.co_facilitator_id = clinic_world.team["trainee"].id
    db.session.commit()
    login_as(clinic_world.team["trainee"])
    tried = 0
    for rule, method in routes(app):
        if rule_of(rule).patient is None or method != "GET":
            continue
        assert client.get(url(rule, clinic_world.ids)).status_code in (403, 404), rule.rule
        tried += 1
    assert tried >= 1
    print(f"tried {tried} patient pages as a trainee co-facilitator")
