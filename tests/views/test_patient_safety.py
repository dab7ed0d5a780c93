"""The patient header (allergies, interacting medicines, phone, emergency contact): edited on a
versioned, audited form, shown on the patient page, the live session page and the print."""

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.models import AuditEvent, Patient
from tests.factories import gen_course, gen_dosing_session, gen_patient

MDMA = "mdma-three-session@1.0"


def _details(version, **overrides):
    data = {
        "version": version,
        "allergies": "Penicillin (hives)",
        "current_medicines": "Sertraline 50 mg daily\nLevothyroxine 75 mcg daily",
        "phone": "+1 503 555 0142",
        "emergency_contact_name": "Sam Example",
        "emergency_contact_relationship": "partner",
        "emergency_contact_phone": "+1 503 555 0177",
    }
    data.update(overrides)
    return data


def _with_details(patient, db):
    for name, value in _details(None).items():
        if name != "version":
            setattr(patient, name, value)
    db.session.commit()
    return patient


def test_the_lead_saves_safety_details_and_the_change_is_audited(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    db.session.commit()
    login_as(team["clinician"])
    form = client.get(f"/patients/{patient.id}/safety")
    assert form.status_code == 200
    assert 'name="version"' in form.get_data(as_text=True)
    response = client.post(f"/patients/{patient.id}/safety", data=_details(patient.version))
    assert response.status_code == 302
    stored = db.session.get(Patient, patient.id)
    assert stored.allergies == "Penicillin (hives)"
    assert stored.medicine_list == ["Sertraline 50 mg daily", "Levothyroxine 75 mcg daily"]
    assert stored.emergency_contact_phone == "+1 503 555 0177" and stored.version == 2
    event = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "Patient", AuditEvent.action == "update")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event.actor_id == team["clinician"].id and event.patient_id == patient.id
    assert event.changes["allergies"] == ["", "Penicillin (hives)"]


def test_a_save_from_a_stale_page_is_refused_and_changes_nothing(client, login_as, team, db):
    patient = _with_details(gen_patient(team["clinician"]), db)
    seen = patient.version
    patient.allergies = "Penicillin; latex"  # someone else saved in between
    db.session.commit()
    login_as(team["clinician"])
    response = client.post(
        f"/patients/{patient.id}/safety", data=_details(seen, allergies="None known")
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else saved this record" in html and "Penicillin; latex" in html
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).allergies == "Penicillin; latex"


def test_a_phone_number_with_letters_is_refused_beside_its_field(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    db.session.commit()
    login_as(team["clinician"])
    response = client.post(
        f"/patients/{patient.id}/safety", data=_details(patient.version, phone="call me maybe")
    )
    assert response.status_code == 200
    assert "Digits, spaces and + ( ) - . / only" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).phone == ""


def test_an_emergency_contact_needs_a_phone(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    db.session.commit()
    login_as(team["clinician"])
    response = client.post(
        f"/patients/{patient.id}/safety",
        data=_details(patient.version, emergency_contact_phone=""),
    )
    assert "Give the emergency contact&#39;s phone number" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).emergency_contact_name == ""


@pytest.mark.parametrize(
    "who, status",
    [
        ("outsider", 404),  # another clinician's patient
        ("other_supervisor", 404),  # supervisor of another team
        ("supervisor", 404),  # supervises the care team: reads, does not edit the record
        ("trainee", 404),  # a real patient
        ("admin", 403),
    ],
)
def test_nobody_outside_the_care_team_edits_the_details(client, login_as, team, db, who, status):
    patient = gen_patient(team["clinician"], display_name="Private Person")
    db.session.commit()
    login_as(team[who])
    assert client.get(f"/patients/{patient.id}/safety").status_code == status
    response = client.post(f"/patients/{patient.id}/safety", data=_details(patient.version))
    assert response.status_code == status
    assert "Private Person" not in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).allergies == ""


def test_anonymous_is_sent_to_log_in(client, team, db):
    patient = gen_patient(team["clinician"])
    db.session.commit()
    response = client.post(f"/patients/{patient.id}/safety", data=_details(patient.version))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_trainee_edits_a_practice_patient_and_is_told_to_keep_it_fictional(
    client, login_as, team, db
):
    patient = gen_patient(team["trainee"])
    db.session.commit()
    login_as(team["trainee"])
    assert "fictional details only" in client.get(f"/patients/{patient.id}/safety").get_data(
        as_text=True
    )
    response = client.post(f"/patients/{patient.id}/safety", data=_details(patient.version))
    assert response.status_code == 302


def _header(html: str) -> str:
    start = html.index('class="safety-header"')
    return html[start : html.index("</section>", start)]


def test_the_patient_page_header_highlights_what_interacts_with_the_protocol(
    client, login_as, team, db
):
    patient = _with_details(gen_patient(team["clinician"]), db)
    gen_course(patient, Phase.PREPARATION, protocol_key=MDMA)
    db.session.commit()
    login_as(team["clinician"])
    header = _header(client.get(f"/patients/{patient.id}").get_data(as_text=True))
    assert "Penicillin (hives)" in header and ">+1 503 555 0142<" in header
    assert 'Sam Example (partner) · <span class="phone">+1 503 555 0177</span>' in header
    assert 'class="interacts">Sertraline 50 mg daily' in header
    assert "Interacts with MDMA: SSRI / SNRI antidepressant." in header
    assert "Levothyroxine 75 mcg daily</li>" in header  # not highlighted
    assert f'href="/patients/{patient.id}/safety"' in header


def test_details_not_recorded_say_so(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    db.session.commit()
    login_as(team["supervisor"])
    header = _header(client.get(f"/patients/{patient.id}").get_data(as_text=True))
    assert header.count("Not recorded") == 4
    assert "/safety" not in header  # the supervisor reads; the care team edits


@pytest.mark.parametrize("page", ["", "/record"])
def test_the_live_page_and_the_print_carry_the_header(client, login_as, team, db, page):
    patient = _with_details(gen_patient(team["clinician"], co_facilitator=team["supervisor"]), db)
    course = gen_course(patient, Phase.DOSING, protocol_key=MDMA)
    session = gen_dosing_session(course, team["clinician"], co_facilitator=team["supervisor"])
    db.session.commit()
    login_as(team["clinician"])
    header = _header(client.get(f"/dosing-sessions/{session.id}{page}").get_data(as_text=True))
    assert "Penicillin (hives)" in header and "Sam Example (partner)" in header
    assert "Interacts with MDMA: SSRI / SNRI antidepressant." in header
