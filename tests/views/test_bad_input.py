"""The bad input an outside test found (issue 15): each is an error beside the field it names,
with nothing saved, and the bounds on dates are stated beside their fields."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.extensions import db as _db
from psiflow.models import (
    AdverseEvent,
    Consent,
    Course,
    DoseAdministration,
    IntegrationSession,
    Patient,
    PreparationSession,
    SafetyCheckIn,
    Screening,
    SessionEvent,
    SetIntake,
    VitalSign,
)
from psiflow.models.types import utcnow
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient
from tests.integration_factories import dosed_course

PSILOCYBIN = "psilocybin-single-dose@1.0"  # Oregon: preparation at most 90 days before dosing
ESKETAMINE = "esketamine-monitoring@1.0"  # no preparation window: the clinic default applies
BEYOND_THE_CALENDAR = ["9999-12-31T23:59", "0001-01-01T00:00", "9000-01-01T09:00"]


def _rows(model) -> int:
    _db.session.expire_all()
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- date-times UTC cannot hold -------------------------------------------------------------


def _live(team):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    return f"/dosing-sessions/{session.id}"


def _in_integration(team):
    course = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION, PSILOCYBIN)
    dosed_course(course)
    return f"/integration/courses/{course.id}"


ADVERSE_EVENT = {
    "description": "Nausea",
    "severity": "1",
    "relatedness": "possible",
    "action_taken": "Sips of water",
    "outcome": "recovering",
}
CHECK_IN = {"sleep": "as_usual", "back_to_normal": "yes", "suicidal_thoughts": "no"}
DATE_TIME_FORMS = {
    # name: (page maker, path after it, the field, other fields, what would be saved, label)
    "dose": (
        _live,
        "/doses",
        "given_at",
        {"kind": "initial", "amount": "25"},
        DoseAdministration,
        "Time given",
    ),
    "event": (_live, "/events", "at", {"kind": "note", "note": "Calm"}, SessionEvent, "Time"),
    "vitals": (
        _live,
        "/vitals",
        "taken_at",
        {"systolic": "120", "diastolic": "80"},
        VitalSign,
        "Time taken",
    ),
    "adverse event": (
        _live,
        "/adverse-events",
        "onset_at",
        ADVERSE_EVENT,
        AdverseEvent,
        "Onset",
    ),
    "integration session": (
        _in_integration,
        "/sessions/new",
        "occurred_at",
        {**CHECK_IN, "password": TEST_PASSWORD},
        IntegrationSession,
        "When",
    ),
    "check-in": (
        _in_integration,
        "/check-ins/new",
        "occurred_at",
        {**CHECK_IN, "call": "", "password": TEST_PASSWORD},
        SafetyCheckIn,
        "When",
    ),
}


@pytest.mark.parametrize("value", BEYOND_THE_CALENDAR)
@pytest.mark.parametrize("form", sorted(DATE_TIME_FORMS))
def test_a_date_time_past_the_calendar_is_an_error_naming_its_field(
    client, login_as, team, db, form, value
):
    page, path, field, others, model, label = DATE_TIME_FORMS[form]
    base = page(team)
    login_as(team["clinician"])
    before = _rows(model)
    response = client.post(base + path, data={**others, field: value})
    assert response.status_code in (200, 422)
    assert f"{label} must be" in response.get_data(as_text=True)
    assert _rows(model) == before


@pytest.mark.parametrize("value", BEYOND_THE_CALENDAR)
def test_a_preparation_session_past_the_calendar_is_refused(client, login_as, team, db, value):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, PSILOCYBIN)
    login_as(team["clinician"])
    response = client.post(
        f"/preparation/courses/{course.id}/preparation-session",
        data={"occurred_at": value, "co_facilitator_id": "0", "notes": "Prep"},
    )
    assert "Date and time must be" in response.get_data(as_text=True)
    assert _rows(PreparationSession) == 0


@pytest.mark.parametrize(
    "value,refusal",
    [
        ("9999-12-31T23:59", "Planned dosing session must be no later than 90 days from now"),
        ("9000-01-01T09:00", "Planned dosing session must be no later than 90 days from now"),
        ("0001-01-01T00:00", "The dosing session cannot be planned before the course started."),
    ],
)
def test_a_planned_dosing_date_outside_the_course_and_its_horizon_is_refused(
    client, login_as, team, db, value, refusal
):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, PSILOCYBIN)
    login_as(team["clinician"])
    response = client.post(
        f"/preparation/courses/{course.id}/planned-dosing",
        data={"planned_dosing_at": value},
        follow_redirects=True,
    )
    assert refusal in response.get_data(as_text=True)
    assert _db.session.get(Course, course.id).planned_dosing_at is None


def _local(days: int) -> str:
    return (utcnow() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(
    "protocol,horizon,stated",
    [
        (PSILOCYBIN, 90, "no later than 90 days from now (the protocol's preparation window)"),
        (ESKETAMINE, 365, "no later than a year from now (clinic default)"),
    ],
)
def test_the_planned_dosing_horizon_is_the_protocols_window_and_is_stated(
    client, login_as, team, db, protocol, horizon, stated
):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, protocol)
    login_as(team["clinician"])
    page = html.unescape(client.get(f"/patients/{course.patient_id}").get_data(as_text=True))
    assert stated[0].upper() + stated[1:] in page  # beside the field
    url = f"/preparation/courses/{course.id}/planned-dosing"
    client.post(url, data={"planned_dosing_at": _local(horizon + 2)})
    assert _db.session.get(Course, course.id).planned_dosing_at is None
    client.post(url, data={"planned_dosing_at": _local(horizon - 2)})
    assert _db.session.get(Course, course.id).planned_dosing_at is not None


# --- versions that are not numbers ----------------------------------------------------------


def _draft(model, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, PSILOCYBIN)
    fields = {"occurred_at": utcnow()} if model is PreparationSession else {}
    record = model(course=course, author=team["clinician"], **fields)
    _db.session.add(record)
    _db.session.flush()
    return record


EDIT_PATHS = {
    Screening: "screenings",
    Consent: "consents",
    SetIntake: "set-intakes",
    PreparationSession: "preparation-sessions",
}


@pytest.mark.parametrize("version", ["abc", "NaN", "1e308", "", "9" * 30])
@pytest.mark.parametrize("model", list(EDIT_PATHS), ids=lambda m: m.record_type)
def test_a_version_that_is_not_a_number_is_refused_naming_the_field(
    client, login_as, team, db, model, version
):
    record = _draft(model, team)
    login_as(team["clinician"])
    response = client.post(
        f"/preparation/{EDIT_PATHS[model]}/{record.id}/edit",
        data={"version": version, "notes": "Mine", "intention": "Mine"},
    )
    assert response.status_code == 409
    assert "Record version:" in response.get_data(as_text=True)
    _db.session.expire_all()
    assert _db.session.get(model, record.id).version == record.version


# --- a field left out -----------------------------------------------------------------------


def test_an_adverse_event_posted_without_action_taken_is_not_a_server_error(
    client, login_as, team, db
):
    base = _live(team)
    login_as(team["clinician"])
    response = client.post(
        base + "/adverse-events",
        data={k: v for k, v in ADVERSE_EVENT.items() if k != "action_taken"},
    )
    # A form error naming the field, nothing saved.
    assert response.status_code == 422
    assert "Action taken: say what was done" in response.get_data(as_text=True)
    assert _db.session.scalars(sa.select(AdverseEvent)).all() == []


# --- dates of birth ---------------------------------------------------------------------------


@pytest.mark.parametrize("born", ["9999-12-31", "0001-01-01", "1899-01-01"])
def test_a_date_of_birth_outside_a_lifetime_is_refused(client, login_as, team, db, born):
    login_as(team["clinician"])
    response = client.post(
        "/patients/new",
        data={"display_name": "Born Oddly", "record_number": "B-1", "date_of_birth": born},
    )
    html = response.get_data(as_text=True)
    assert "Date of birth must be in the past and within the last 120 years" in html
    assert _rows(Patient) == 0


def test_the_bound_on_birth_dates_is_stated_and_a_real_one_is_kept(client, login_as, team, db):
    login_as(team["clinician"])
    page = client.get("/patients/new").get_data(as_text=True)
    assert "In the past and within the last 120 years." in page
    client.post(
        "/patients/new",
        data={"display_name": "Born Well", "record_number": "B-2", "date_of_birth": "1961-05-04"},
    )
    assert str(_db.session.scalars(sa.select(Patient)).one().date_of_birth) == "1961-05-04"


def test_a_consent_dated_in_the_future_is_refused(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.SCREENING, PSILOCYBIN)
    login_as(team["clinician"])
    response = client.post(
        f"/preparation/courses/{course.id}/consent", data={"consented_on": "9000-01-01"}
    )
    assert "Date of consent must be today or earlier" in response.get_data(as_text=True)
    assert _rows(Consent) == 0
