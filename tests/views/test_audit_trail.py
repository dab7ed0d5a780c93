"""A patient's audit history page: who may read it and what it shows."""

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.models import AuditEvent
from tests.conftest import count_queries
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient

MDMA = "mdma-three-session@1.0"


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
    # In words first, the field's old and new values a click away.
    assert "changed the patient&#39;s details: name." in html
    assert "<del>Juniper Example</del></td><td><ins>Juniper Sample</ins>" in html
    assert "started the course in Screening." in html
    assert f"Course {course.id}" in html  # the technical detail keeps the ids
    # The clinic is in Los Angeles: times carry no UTC offset marker and the page says so.
    assert "America/Los_Angeles" in html and "+00:00" not in html


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
    assert "read the patient&#39;s audit history." in html  # the first reading, on the second


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


# --- in words, filtered, downloaded ----------------------------------------------------------


def _line_texts(html: str) -> list[str]:
    return re.findall(r'<p class="audit-line">(.*?)</p>', html, re.S)


def test_sentences_carry_no_endpoint_names_hashes_or_raw_field_names(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.DOSING, protocol_key=MDMA)
    session = gen_dosing_session(course, team["clinician"], hours_ago=5)
    db.session.commit()
    login_as(team["clinician"])
    client.get(f"/records/dosing_session/{session.id}")
    client.get(f"/patients/{patient.id}")
    client.post("/logout")
    login_as(team["supervisor"])
    html = _history(client, patient).get_data(as_text=True)
    lines = _line_texts(html)
    joined = " ".join(lines)
    assert f"{team['clinician'].name}</strong> viewed the patient page" in joined
    assert f"{team['clinician'].name}</strong> viewed the dosing session record of" in joined
    for raw in ("records.show", "patients.show", "session_id", "recorded_by_id", "{", "UTC"):
        assert raw not in joined, raw
    # ...and the detail keeps them, one click away.
    assert "<summary>Details" in html and "records.show" in html


def test_measures_and_protocols_read_by_their_names_not_their_keys(client, login_as, team, db):
    from tests.integration_factories import gen_measure

    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.FOLLOW_UP, protocol_key=MDMA)
    gen_measure(course, team["clinician"], "phq9", "follow_up_week_4", total=6)
    db.session.commit()
    login_as(team["supervisor"])
    joined = " ".join(_line_texts(_history(client, patient).get_data(as_text=True)))
    assert "started a course: MDMA-assisted therapy, three sessions (protocol version 1.0)" in (
        joined
    )
    assert "recorded a measure: PHQ-9, follow-up week 4." in joined
    for key in ("mdma-three-session", "PHQ9", "follow up week"):
        assert key not in joined, key


def test_checklist_items_read_as_their_protocol_labels_them(client, login_as, team, db):
    from psiflow import catalog

    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.DOSING, protocol_key=MDMA)
    gen_dosing_session(course, team["clinician"], hours_ago=5)
    db.session.commit()
    login_as(team["supervisor"])
    joined = " ".join(_line_texts(_history(client, patient).get_data(as_text=True)))
    # The id "light_meal_only" has another label in another protocol: this one is MDMA's.
    [label] = [i.label for i in catalog.protocol(MDMA).checklist if i.id == "light_meal_only"]
    assert f"ticked a checklist item &#34;{label}&#34; (yes)" in joined
    assert "light meal only" not in joined


def test_filters_by_person_kind_record_and_dates(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    gen_course(patient, Phase.PREPARATION)
    db.session.commit()
    login_as(team["clinician"])
    client.get(f"/patients/{patient.id}")
    client.post("/logout")
    login_as(team["supervisor"])
    url = f"/patients/{patient.id}/audit"
    mine = _line_texts(client.get(f"{url}?person={team['clinician'].id}").get_data(as_text=True))
    assert mine and all(team["clinician"].name in line for line in mine)
    views = _line_texts(client.get(f"{url}?kind=view").get_data(as_text=True))
    assert views and all(" viewed " in line or " read " in line for line in views)
    phases = _line_texts(client.get(f"{url}?record=course").get_data(as_text=True))
    assert phases and all("course" in line for line in phases)
    tomorrow = datetime.now(ZoneInfo("America/Los_Angeles")).date() + timedelta(days=2)
    html = client.get(f"{url}?since={tomorrow.isoformat()}").get_data(as_text=True)
    assert "must be today or earlier" in html  # said beside the field...
    assert _line_texts(html)  # ...and that filter left out, not the whole list
    old = client.get(f"{url}?until=2001-01-01").get_data(as_text=True)
    assert "No events match these filters." in old


def test_a_filtered_page_pages_with_its_filters(make_app, team, db):
    app = make_app(PAGE_SIZE=2)
    client = app.test_client()
    patient = gen_patient(team["clinician"])
    for n in range(5):
        patient.display_name = f"Name {n}"
        db.session.commit()
    client.post("/login", data={"email": team["supervisor"].email, "password": TEST_PASSWORD})
    html = client.get(f"/patients/{patient.id}/audit?kind=change").get_data(as_text=True)
    assert f'href="/patients/{patient.id}/audit?page=2&amp;kind=change"' in html


def test_the_csv_holds_the_filtered_list_in_words_and_is_recorded_as_an_export(
    client, login_as, team, db
):
    patient = gen_patient(team["clinician"], display_name="Juniper Example")
    gen_course(patient, Phase.SCREENING)
    db.session.commit()
    patient.display_name = '=HYPERLINK("http://example.invalid")'
    db.session.commit()
    login_as(team["supervisor"])
    response = client.get(f"/patients/{patient.id}/audit.csv?kind=change")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "Juniper" not in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["when", "who", "what", "kind_of_event"]
    whats = [r[2] for r in rows[1:]]
    assert "changed the patient's details: name" in whats
    assert all(r[3] == "Records created or changed" for r in rows[1:])
    # A value a spreadsheet would run as a formula is defused (OWASP CSV injection).
    changed = next(r for r in rows[1:] if r[2] == "changed the patient's details: name")
    assert "=HYPERLINK" in changed[6] and not changed[6].startswith("=")
    export = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.seq.desc())
    ).first()
    assert export.patient_id == patient.id and export.actor_id == team["supervisor"].id
    assert export.detail == f"audit history CSV ({len(rows) - 1} events)"
    page = _history(client, patient).get_data(as_text=True)
    assert "exported the audit history as CSV" in page


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_prefixed(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    team["clinician"].name = "=1+1"
    db.session.commit()
    login_as(team["clinician"])
    client.get(f"/patients/{patient.id}")
    client.post("/logout")
    login_as(team["supervisor"])
    body = client.get(f"/patients/{patient.id}/audit.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    assert ["'=1+1", "viewed the patient page"] in [r[1:3] for r in rows]


@pytest.mark.parametrize(
    "who, status",
    [("clinician", 403), ("trainee", 403), ("other_supervisor", 404), ("outsider", 403)],
)
def test_nobody_else_downloads_the_history(client, login_as, team, db, who, status):
    patient = gen_patient(team["clinician"], display_name="Private Person")
    db.session.commit()
    login_as(team[who])
    response = client.get(f"/patients/{patient.id}/audit.csv")
    assert response.status_code == status
    assert "Private Person" not in response.get_data(as_text=True)
    assert not db.session.scalar(sa.select(AuditEvent.seq).where(AuditEvent.action == "export"))


def test_anonymous_is_sent_to_log_in_from_the_download(client, team, db):
    patient = gen_patient(team["clinician"])
    db.session.commit()
    response = client.get(f"/patients/{patient.id}/audit.csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_admin_downloads_a_real_patients_history_but_no_practice_patients(
    client, login_as, team, db
):
    real = gen_patient(team["clinician"])
    practice = gen_patient(team["trainee"])
    db.session.commit()
    login_as(team["admin"])
    assert client.get(f"/patients/{real.id}/audit.csv").status_code == 200
    assert client.get(f"/patients/{practice.id}/audit.csv").status_code == 404
    # The practice patient's history reads on screen, without a download link.
    html = _history(client, practice).get_data(as_text=True)
    assert "audit.csv" not in html
    assert f"/patients/{real.id}/audit.csv" in _history(client, real).get_data(as_text=True)


def test_the_supervisor_may_not_download_a_practice_patients_history(client, login_as, team, db):
    practice = gen_patient(team["trainee"])
    db.session.commit()
    login_as(team["supervisor"])
    assert _history(client, practice).status_code == 200
    assert client.get(f"/patients/{practice.id}/audit.csv").status_code == 404


def test_the_history_runs_as_many_queries_for_120_events_as_for_6(make_app, team, db):
    app = make_app(PAGE_SIZE=200)
    client = app.test_client()

    def page_queries(changes: int) -> int:
        patient = gen_patient(team["clinician"])
        course = gen_course(patient, Phase.DOSING, protocol_key=MDMA)
        gen_dosing_session(course, team["clinician"], hours_ago=5)
        db.session.commit()
        for n in range(changes):
            patient.allergies = f"Allergy {n}"
            db.session.commit()
        with count_queries(db.engine) as counter:
            response = client.get(f"/patients/{patient.id}/audit")
        assert response.status_code == 200
        return counter.count

    client.post("/login", data={"email": team["supervisor"].email, "password": TEST_PASSWORD})
    assert page_queries(100) == page_queries(2)


def test_the_admin_finds_the_history_by_record_number_and_reads_it_in_words(
    client, login_as, team, db
):
    patient = gen_patient(team["clinician"], record_number="RN-777")
    db.session.commit()
    login_as(team["clinician"])
    client.get(f"/patients/{patient.id}")
    client.post("/logout")
    login_as(team["admin"])
    found = client.get("/admin/patients?record_number=RN-7").get_data(as_text=True)
    assert f'href="/patients/{patient.id}/audit"' in found
    html = _history(client, patient).get_data(as_text=True)
    assert f"{team['clinician'].name}</strong> viewed the patient page." in html
    assert 'href="/admin/patients?record_number=RN-777"' in html  # back to the search
