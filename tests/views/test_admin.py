"""User management: create, edit, deactivate; never delete."""

from psiflow.access import Role
from psiflow.models import User
from tests.factories import TEST_PASSWORD, gen_clinic, gen_user


def test_admin_creates_a_trainee_with_a_supervisor(client, login_as, team, db):
    login_as(team["admin"])
    response = client.post(
        "/admin/users/new",
        data={
            "name": "Tam Newcomer",
            "email": "Tam@Clinic.test",
            "role": "trainee",
            "supervisor_id": team["supervisor"].id,
            "password": "a decent passphrase",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(db.select(User).filter_by(email="tam@clinic.test"))
    assert user.role == Role.TRAINEE and user.supervisor_id == team["supervisor"].id
    assert user.clinic_id == team["admin"].clinic_id
    assert user.check_password("a decent passphrase")


def test_trainee_without_supervisor_is_refused(client, login_as, team, db):
    login_as(team["admin"])
    response = client.post(
        "/admin/users/new",
        data={
            "name": "Tam",
            "email": "tam@clinic.test",
            "role": "trainee",
            "supervisor_id": 0,
            "password": "a decent passphrase",
        },
    )
    assert "A trainee needs a supervisor" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(User).filter_by(email="tam@clinic.test")) is None


def test_weak_password_and_duplicate_email_are_refused(client, login_as, team, db):
    login_as(team["admin"])
    html = client.post(
        "/admin/users/new",
        data={
            "name": "A",
            "email": "a@clinic.test",
            "role": "clinician",
            "supervisor_id": 0,
            "password": "short",
        },
    ).get_data(as_text=True)
    assert "at least 12 characters" in html
    html = client.post(
        "/admin/users/new",
        data={
            "name": "A",
            "email": team["clinician"].email,
            "role": "clinician",
            "supervisor_id": 0,
            "password": "a decent passphrase",
        },
    ).get_data(as_text=True)
    assert "already exists" in html


def test_deactivate_keeps_the_user_and_ends_their_sessions(app, client, login_as, team, db):
    victim = team["clinician"]
    their_client = app.test_client()
    their_client.post("/login", data={"email": victim.email, "password": TEST_PASSWORD})
    assert their_client.get("/").status_code == 200
    login_as(team["admin"])
    client.post(f"/admin/users/{victim.id}/deactivate")
    user = db.session.get(User, victim.id)
    assert user is not None and not user.active
    assert their_client.get("/").status_code == 302
    client.post(f"/admin/users/{victim.id}/reactivate")
    assert db.session.get(User, victim.id).active


def test_admin_cannot_deactivate_self_or_manage_other_clinics(client, login_as, team, db):
    login_as(team["admin"])
    client.post(f"/admin/users/{team['admin'].id}/deactivate")
    assert db.session.get(User, team["admin"].id).active
    stranger = gen_user(Role.CLINICIAN, gen_clinic())
    assert client.get(f"/admin/users/{stranger.id}").status_code == 404
    assert client.post(f"/admin/users/{stranger.id}/deactivate").status_code == 404
    assert db.session.get(User, stranger.id).active


def test_admin_edits_role_and_supervisor(client, login_as, team, db):
    login_as(team["admin"])
    target = team["outsider"]
    assert client.get(f"/admin/users/{target.id}").status_code == 200
    client.post(
        f"/admin/users/{target.id}",
        data={"name": "Renamed", "role": "clinician", "supervisor_id": team["supervisor"].id},
    )
    user = db.session.get(User, target.id)
    assert user.name == "Renamed" and user.supervisor_id == team["supervisor"].id


def test_user_list_shows_everyone_in_the_clinic(client, login_as, team):
    html = login_as(team["admin"]).get("/admin/users").get_data(as_text=True)
    for user in team.values():
        assert user.email in html


def test_admin_finds_a_patient_and_reads_its_audit_history(client, login_as, team, db):
    from tests.factories import gen_patient

    patient = gen_patient(team["clinician"], record_number="AUD-42")
    gen_patient(team["clinician"], record_number="ZZZ-1")
    stranger = gen_patient(gen_user(Role.CLINICIAN, gen_clinic()), record_number="AUD-43")
    login_as(team["admin"])
    html = client.get("/admin/patients?record_number=AUD").get_data(as_text=True)
    assert "AUD-42" in html and "ZZZ-1" not in html
    assert "AUD-43" not in html  # another clinic's patient
    assert f"/patients/{patient.id}/audit" in html
    assert client.get(f"/patients/{patient.id}/audit").status_code == 200
    assert client.get(f"/patients/{stranger.id}/audit").status_code == 404
    assert client.get(f"/patients/{patient.id}").status_code == 403  # no clinical record


def test_care_roles_cannot_list_patients_for_audit(client, login_as, team):
    login_as(team["supervisor"])
    assert client.get("/admin/patients").status_code == 403
