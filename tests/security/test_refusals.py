"""Refused requests leave a trace in the audit trail (who, which endpoint, when, the answer),
never anything of the refused record, and an administrator reads them in words."""

import sqlalchemy as sa

from psiflow import audit
from psiflow.access import Role
from psiflow.models import AuditEvent
from tests.factories import gen_clinic, gen_course, gen_patient, gen_user
from tests.security.conftest import log_in


def _refusals(db) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "refused").order_by(AuditEvent.seq)
    ).all()


def _row_text(event: AuditEvent) -> str:
    return " ".join(str(getattr(event, c.key)) for c in sa.inspect(AuditEvent).column_attrs)


def test_probing_another_caseload_is_recorded_without_the_patients_data(app, db, team):
    patient = gen_patient(team["clinician"], display_name="Marigold Secretname")
    course = gen_course(patient)
    db.session.commit()
    prober = app.test_client()
    log_in(prober, team["outsider"])

    assert prober.get(f"/patients/{patient.id}").status_code == 404
    assert prober.post(f"/courses/{course.id}/hold", data={"reason": "x"}).status_code == 404
    assert prober.get("/patients/999999").status_code == 404  # no such patient: the same

    refused = _refusals(db)
    assert [(e.actor_id, e.detail, e.object_type, e.object_id) for e in refused] == [
        (team["outsider"].id, "404 GET patients.show", "patient", str(patient.id)),
        (team["outsider"].id, "404 POST patients.hold", "course", str(course.id)),
        (team["outsider"].id, "404 GET patients.show", "patient", "999999"),
    ]
    for event in refused:
        assert event.patient_id is None and event.changes is None
        assert event.context == "web" and event.at is not None
        assert "Marigold" not in _row_text(event) and patient.record_number not in _row_text(event)
    assert audit.verify_chain(db.session.connection()).ok


def test_a_role_refusal_is_recorded_with_its_403(app, db, team):
    client = app.test_client()
    log_in(client, team["clinician"])
    assert client.get("/admin/users").status_code == 403
    [event] = _refusals(db)
    assert (event.actor_id, event.detail) == (team["clinician"].id, "403 GET admin.users")


def test_an_administrator_probing_another_clinic_is_recorded(app, db, team):
    elsewhere = gen_user(Role.CLINICIAN, gen_clinic(name="Elsewhere"))
    db.session.commit()
    client = app.test_client()
    log_in(client, team["admin"])
    assert client.get(f"/admin/users/{elsewhere.id}").status_code == 404
    [event] = _refusals(db)
    assert (event.detail, event.object_type, event.object_id) == (
        "404 GET admin.edit_user",
        "user",
        str(elsewhere.id),
    )


def test_allowed_and_anonymous_requests_record_no_refusal(app, client, db, team):
    patient = gen_patient(team["clinician"])
    db.session.commit()
    assert client.get(f"/patients/{patient.id}").status_code == 302  # sent to log in
    log_in(client, team["clinician"])
    assert client.get(f"/patients/{patient.id}").status_code == 200
    assert client.get("/").status_code == 200
    assert _refusals(db) == []


def test_the_administrator_reads_the_clinics_refusals_in_words(app, db, team):
    patient = gen_patient(team["clinician"], display_name="Marigold Secretname")
    stranger = gen_user(Role.CLINICIAN, gen_clinic(name="Elsewhere"), name="Remote Stranger")
    db.session.commit()
    prober, other_clinic = app.test_client(), app.test_client()
    log_in(prober, team["outsider"])
    prober.get(f"/patients/{patient.id}")
    log_in(other_clinic, stranger)
    other_clinic.get(f"/patients/{patient.id}")
    office = app.test_client()
    log_in(office, team["admin"])

    page = office.get("/admin/refusals").get_data(as_text=True)

    assert team["outsider"].name in page
    assert "opened <code>patients.show</code> for patient" in page
    assert "Not found: another caseload&#39;s" in page
    assert "Remote Stranger" not in page  # another clinic's users are theirs to read
    assert "Marigold" not in page
    assert 'href="/admin/refusals"' in office.get("/admin/patients").get_data(as_text=True)


def test_only_an_administrator_reads_the_refusals(app, db, team):
    client = app.test_client()
    log_in(client, team["supervisor"])
    assert client.get("/admin/refusals").status_code == 403
