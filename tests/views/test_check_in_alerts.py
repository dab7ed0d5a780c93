"""A safety call alerts the supervisor on what the protocol says matters that day: not back
to normal activities on the dosing day is the plan, not an alert; a week later it is."""

from datetime import timedelta

import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.models import Alert, SafetyCheckIn
from psiflow.models.types import utcnow
from tests.factories import TEST_PASSWORD, gen_course, gen_patient
from tests.integration_factories import CALM, PSILOCYBIN, dosed_course
from tests.views.test_integration import local


def _call(client, course, **answers):
    return client.post(
        f"/integration/courses/{course.id}/check-ins/new",
        data={
            **CALM,
            "call": "",  # an unscheduled call
            "password": TEST_PASSWORD,
            "occurred_at": local(utcnow()),
            **answers,
        },
        follow_redirects=True,
    )


def _dosed(team, hours_ago):
    course = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION, PSILOCYBIN)
    dosed_course(course, utcnow() - timedelta(hours=hours_ago))
    return course


def test_not_back_to_normal_on_the_dosing_day_alerts_no_one(client, login_as, team, db):
    course = _dosed(team, hours_ago=6)
    login_as(team["clinician"])
    page = _call(client, course, back_to_normal="no").get_data(as_text=True)
    assert db.session.scalars(sa.select(Alert)).all() == []
    assert "Expected on this day after dosing, so no alert: not back to normal activities" in page
    check_in = db.session.scalars(sa.select(SafetyCheckIn)).one()
    record = client.get(f"/records/safety_check_in/{check_in.id}").get_data(as_text=True)
    assert "Supervisor alerted" not in record
    assert "Expected on this day after dosing, so no alert" in record


def test_not_back_to_normal_a_week_after_dosing_alerts(client, login_as, team, db):
    course = _dosed(team, hours_ago=24 * 7 + 2)
    login_as(team["clinician"])
    page = _call(client, course, back_to_normal="no").get_data(as_text=True)
    [alert] = db.session.scalars(sa.select(Alert)).all()
    assert "not back to normal activities" in alert.message
    assert "The supervisor has been alerted: not back to normal activities" in page


def test_suicidal_thoughts_on_the_dosing_day_alert_at_once(client, login_as, team, db):
    course = _dosed(team, hours_ago=6)
    login_as(team["clinician"])
    _call(client, course, back_to_normal="no", suicidal_thoughts="yes")
    [alert] = db.session.scalars(sa.select(Alert)).all()
    assert "current suicidal thoughts" in alert.message
    assert "not back to normal" not in alert.message
