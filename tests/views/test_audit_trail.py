"""A patient's audit history page: who may read it and what it shows."""

import pytest

from psiflow.domain.phases import Phase
from tests.factories import gen_course, gen_patient


def _history(client, patient):
    return client.get(f"/patients/{patient.id}/audit")


def test_supervisor_reads_old_and_new_values_in_clinic_time(client, login_as, team, db):
    patient = gen_patient(team["clinician"], display_name="Juniper Example")
    course = gen_course(patient, Phase.SCREENING)
    db.session.commit()
    patient.display_name = "Juniper Sample"
    db.session.commit()
    login_as(team["supervisor"])
    response = _history(client, patient)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<del>Juniper Example</del> → <ins>Juniper Sample</ins>" in html
    assert f"Course {course.id}" in html and "phase transition" in html
    # The clinic is in Los Angeles: times carry no UTC offset marker and the footer says so.
    assert "America/Los_Angeles" in html


def test_admin_of_the_clinic_reads_the_history(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    login_as(team["admin"])
    assert _history(client, patient).status_code == 200


@pytest.mark.parametrize(
    "who, status",
    [
        ("clinician", 403),
        ("trainee", 403),
        ("other_supervisor", 404),
    ],
)
def test_nobody_else_reads_the_history(client, login_as, team, db, who, status):
    patient = gen_patient(team["clinician"], display_name="Private Person")
    login_as(team[who])
    response = _history(client, patient)
    assert response.status_code == status
    assert "Private Person" not in response.get_data(as_text=True)


def test_history_link_shows_only_to_those_who_may_follow_it(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    link = f'href="/patients/{patient.id}/audit"'
    login_as(team["clinician"])
    assert link not in client.get(f"/patients/{patient.id}").get_data(as_text=True)
    client.post("/logout")
    login_as(team["supervisor"])
    assert link in client.get(f"/patients/{patient.id}").get_data(as_text=True)


def test_reading_the_history_is_itself_recorded(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    login_as(team["supervisor"])
    _history(client, patient)
    html = _history(client, patient).get_data(as_text=True)
    assert "audit.patient_history" in html  # the first reading, shown on the second


def test_history_pages_newest_first(make_app, team, db):
    app = make_app(PAGE_SIZE=3)
    client = app.test_client()
    patient = gen_patient(team["clinician"])
    for n in range(5):
        patient.display_name = f"Name {n}"
        db.session.commit()
    client.post(
        "/login", data={"email": team["supervisor"].email, "password": "a long test passphrase"}
    )
    first = client.get(f"/patients/{patient.id}/audit").get_data(as_text=True)
    assert "<ins>Name 4</ins>" in first and "Name 0</ins>" not in first
    assert "Page 1 of" in first
    later = client.get(f"/patients/{patient.id}/audit?page=2").get_data(as_text=True)
    assert "<ins>Name 1</ins>" in later
