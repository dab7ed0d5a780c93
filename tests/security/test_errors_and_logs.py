"""Error pages and logs: they say what happened and nothing about any patient."""

import logging
import threading
import urllib.request

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from psiflow.models import Course, Patient
from tests.factories import TEST_PASSWORD, gen_patient

NAME = "Zebulon Unforgettable"


def _assert_leaks_nothing(response):
    html = response.get_data(as_text=True)
    assert NAME not in html
    assert "Traceback" not in html and 'File "' not in html and "sqlalchemy" not in html.lower()
    assert "Back to PsiFlow" in html  # our own page, not the framework's


def _log_in(client, user):
    assert (
        client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code
        == 302
    )


@pytest.fixture
def named_patient(db, team):
    patient = gen_patient(team["clinician"], display_name=NAME)
    db.session.commit()
    return patient


def test_400_page_leaks_nothing(make_app, team, named_patient):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/login", data={"email": team["clinician"].email, "password": NAME})
    assert response.status_code == 400
    _assert_leaks_nothing(response)


def test_403_page_leaks_nothing(client, login_as, team, named_patient):
    login_as(team["admin"])
    response = client.get(f"/patients/{named_patient.id}")
    assert response.status_code == 403
    _assert_leaks_nothing(response)


def test_404_page_leaks_nothing(client, login_as, team, named_patient):
    login_as(team["outsider"])
    response = client.get(f"/patients/{named_patient.id}")
    assert response.status_code == 404
    _assert_leaks_nothing(response)


def test_429_page_leaks_nothing(own_app, team, named_patient):
    app = own_app(
        ENV="testing",
        TESTING=True,
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=True,
        RATELIMIT_LOGIN="1 per minute",
    )
    client = app.test_client()
    attempt = {"email": team["clinician"].email, "password": NAME}
    environ = {"REMOTE_ADDR": "10.42.42.42"}
    client.post("/login", data=attempt, environ_base=environ)
    response = client.post("/login", data=attempt, environ_base=environ)
    assert response.status_code == 429
    _assert_leaks_nothing(response)


def _failing_start_course(patient, protocol, by):
    """Starts the course, then the database refuses a write that carries the patient's name."""
    from psiflow.extensions import db
    from psiflow.models.courses import start_course

    start_course(patient, protocol, by)
    db.session.flush()
    db.session.execute(
        sa.insert(Patient).values(
            id=patient.id,
            clinic_id=patient.clinic_id,
            display_name=patient.display_name,
            record_number=patient.record_number,
            lead_clinician_id=by.id,
            created_by_id=by.id,
            is_practice=False,
        )
    )


def test_500_page_leaks_nothing_rolls_back_and_logs_no_patient_data(
    make_app, team, named_patient, db, monkeypatch, caplog
):
    import psiflow.patients.views

    monkeypatch.setattr(psiflow.patients.views, "start_course", _failing_start_course)
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    _log_in(client, team["clinician"])
    caplog.set_level(logging.DEBUG)
    response = client.post(
        f"/patients/{named_patient.id}/courses", data={"protocol_key": "psilocybin-single-dose@1.0"}
    )
    assert response.status_code == 500
    _assert_leaks_nothing(response)
    assert db.session.scalars(sa.select(Course)).all() == []  # the half-done work rolled back
    assert "IntegrityError" in caplog.text  # the error itself is logged...
    assert NAME not in caplog.text  # ...without the values it carried


def test_sql_logging_never_shows_the_values_a_form_carried(client, login_as, team, caplog):
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    login_as(team["clinician"])
    client.post(
        "/patients/new",
        data={
            "display_name": NAME,
            "record_number": "Z-1",
            "co_facilitator_id": 0,
            "protocol_key": "",
        },
    )
    assert "INSERT INTO patients" in caplog.text  # the statements are logged...
    assert NAME not in caplog.text  # ...their parameters are not


def test_access_log_drops_query_strings_where_a_name_could_hide(app, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        query = NAME.replace(" ", "+")
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/login?q={query}") as reply:
            assert reply.status == 200
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert '"GET /login HTTP/1.1" 200' in caplog.text  # the request was logged...
    assert "Zebulon" not in caplog.text  # ...without what the query string carried


def test_a_nul_character_is_refused_before_it_reaches_the_database(client, login_as, team, db):
    """PostgreSQL text cannot hold NUL; hypothesis found a form that passed it through."""
    from tests.factories import gen_course, gen_patient

    course = gen_course(gen_patient(team["clinician"]))
    login_as(team["clinician"])
    response = client.post(
        f"/preparation/courses/{course.id}/consent", data={"form_version": "v1\x00"}
    )
    assert response.status_code == 400
    assert client.get("/?view=\x00").status_code == 400
    from psiflow.models import Consent

    assert db.session.query(Consent).count() == 0
