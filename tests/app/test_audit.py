"""The audit trail: what gets recorded, that it cannot be rewritten, and that tampering shows."""

import threading
import time

import pytest
import sqlalchemy as sa

from psiflow import audit
from psiflow.access import Role
from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning
from psiflow.models import (
    AuditChainHead,
    AuditEvent,
    Clinic,
    Course,
    Patient,
    PreparationSession,
    User,
)
from psiflow.models.audit import AuditTrailIsAppendOnly
from psiflow.models.records import sign_record, void_record
from tests.conftest import statements_of
from tests.factories import TEST_PASSWORD, gen_course, gen_patient, gen_user


def events(db, **where):
    query = sa.select(AuditEvent).filter_by(**where).order_by(AuditEvent.seq)
    return db.session.scalars(query).all()


def verify(db):
    with db.engine.connect() as connection:
        return audit.verify_chain(connection)


def test_creating_a_patient_records_who_created_what_from_where(client, login_as, team, db):
    login_as(team["clinician"])
    response = client.post(
        "/patients/new",
        data={
            "display_name": "Marlow Example",
            "record_number": "R-100",
            "co_facilitator_id": 0,
            "protocol_key": "",
        },
    )
    assert response.status_code == 302
    patient = db.session.scalar(sa.select(Patient).filter_by(record_number="R-100"))
    [event] = events(db, action="create", object_type="Patient")
    assert event.actor_id == team["clinician"].id and event.context == "web"
    assert event.object_id == str(patient.id) and event.patient_id == patient.id
    assert event.changes["display_name"] == [None, "Marlow Example"]
    assert event.remote_addr == "127.0.0.1" and len(event.request_id) == 32
    assert event.at.tzinfo is not None


def test_a_phase_change_records_the_transition_and_the_old_and_new_phase(
    client, login_as, team, db
):
    patient = gen_patient(team["supervisor"])
    course = gen_course(patient, Phase.SCREENING)
    login_as(team["supervisor"])
    client.post(
        f"/courses/{course.id}/override",
        data={
            "override-version": course.version,
            "override-to_phase": "preparation",
            "override-reason": "Screened by phone",
        },
    )
    [transition] = events(db, action="phase_transition", context="web")
    assert transition.patient_id == patient.id
    assert transition.changes["reason"] == [None, "Screened by phone"]
    assert transition.changes["override"] == [None, True]
    [update] = events(db, action="update", object_type="Course")
    assert update.changes["phase"] == ["screening", "preparation"]
    assert update.patient_id == patient.id and update.actor_id == team["supervisor"].id


def test_an_attribute_set_without_being_read_keeps_its_old_value(db, team):
    patient = gen_patient(team["clinician"], display_name="Old Name")
    db.session.commit()  # expires every attribute: the next assignment loads nothing
    patient.display_name = "New Name"
    db.session.commit()
    [update] = events(db, action="update", object_type="Patient")
    assert update.changes == {"display_name": ["Old Name", "New Name"]}


def test_setting_a_field_to_its_current_value_records_nothing(db, team):
    user = team["clinician"]
    user.failed_logins = user.failed_logins
    db.session.commit()
    assert events(db, action="update", object_type="User") == []


def test_a_clinical_record_and_its_signature_are_audited_without_code_of_their_own(db, team):
    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.PREPARATION)
    session = PreparationSession(
        course=course,
        author=team["clinician"],
        duration_minutes=60,
        topics=["intention"],
        notes="Felt held by the music",
    )
    db.session.add(session)
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    [create] = events(db, object_type="PreparationSession", action="create")
    assert create.patient_id == patient.id
    [sign] = events(db, object_type="Signature")
    assert sign.action == "sign" and sign.patient_id == patient.id
    assert sign.changes["meaning"] == [None, "authored"]


def test_voiding_a_record_is_recorded_as_a_void_with_the_reason(db, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION)
    session = PreparationSession(
        course=course,
        author=team["clinician"],
        duration_minutes=60,
        topics=["intention"],
        notes="Entered on the wrong patient",
    )
    db.session.add(session)
    db.session.commit()
    void_record(session, team["clinician"], "Wrong patient")
    db.session.commit()
    [void] = events(db, action="void")
    assert void.object_type == "PreparationSession"
    assert void.changes["void_reason"] == [None, "Wrong patient"]


@pytest.mark.parametrize(
    "name, action",
    [
        ("Signature", "sign"),
        ("Addendum", "addendum"),
        ("PhaseTransition", "phase_transition"),
    ],
)
def test_signatures_and_addenda_are_their_own_actions_by_model_name(name, action):
    assert audit.INSERT_ACTIONS[name] == action


def test_passwords_and_session_tokens_are_never_written_to_the_trail(client, login_as, team, db):
    user = team["clinician"]
    login_as(user)
    client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    [update] = events(db, action="update", object_type="User")
    assert update.changes["password_hash"] == [audit.REDACTED, audit.REDACTED]
    assert update.changes["session_token"] == [audit.REDACTED, audit.REDACTED]
    stored = db.session.get(User, user.id)
    every_value = str([e.changes for e in events(db)])
    assert stored.password_hash not in every_value and stored.session_token not in every_value


def test_login_success_failure_and_logout_are_recorded(client, auth, team, db):
    user = team["clinician"]
    auth.login(user, password="not the password")
    client.post("/login", data={"email": "nobody@clinic.test", "password": "whatever12345"})
    auth.login(user)
    auth.logout()
    recorded = [
        (e.action, e.detail, e.object_id)
        for e in events(db, context="web")
        if e.action.startswith("log")
    ]
    assert recorded == [
        ("login_failure", "wrong password", str(user.id)),
        ("login_failure", "unknown account", None),
        ("login_success", None, str(user.id)),
        ("logout", None, str(user.id)),
    ]
    # The email typed for an unknown account is not kept (it is often a misplaced password).
    assert "nobody@clinic.test" not in str([(e.changes, e.detail) for e in events(db)])


def test_an_idle_logout_is_recorded(app, client, auth, team, db):
    auth.login(team["clinician"])
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - app.config["IDLE_TIMEOUT_MINUTES"] * 60 - 5
    client.get("/")
    [logout] = events(db, action="logout")
    assert logout.detail == "idle timeout" and logout.actor_id == team["clinician"].id


def test_each_view_of_a_patient_record_is_recorded_with_the_page(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    login_as(team["clinician"])
    client.get(f"/patients/{patient.id}")
    client.get(f"/patients/{patient.id}")
    views = events(db, action="view")
    assert len(views) == 2
    assert {(v.object_type, v.object_id, v.patient_id, v.detail, v.actor_id) for v in views} == {
        ("Patient", str(patient.id), patient.id, "patients.show", team["clinician"].id)
    }


def test_a_refused_view_is_not_recorded_as_a_view(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    login_as(team["outsider"])
    assert client.get(f"/patients/{patient.id}").status_code == 404
    assert events(db, action="view") == []


def test_command_line_changes_have_no_actor_and_say_cli(app, db):
    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "--email",
            "first@clinic.test",
            "--name",
            "First Admin",
            "--role",
            "admin",
            "--clinic",
            "Riverside",
            "--password",
            "a sturdy passphrase",
        ]
    )
    assert result.exit_code == 0, result.output
    [create] = events(db, action="create", object_type="User")
    assert create.actor_id is None and create.context == "cli" and create.request_id is None


def test_the_application_cannot_change_or_delete_an_audit_row(db, team):
    event = events(db)[0]
    event.action = "nothing happened"
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(events(db)[0])
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.execute(sa.update(AuditEvent).values(action="x"))
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.execute(sa.delete(AuditEvent))
    db.session.rollback()
    assert verify(db).ok


def test_each_row_links_to_the_one_before(db, team):
    rows = events(db)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    head = db.session.get(AuditChainHead, 1)
    assert (head.last_seq, head.last_hash) == (rows[-1].seq, rows[-1].hash)


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["audit-verify"])


def test_audit_verify_passes_an_untouched_trail(app, db, team):
    result = _verify_cli(app)
    assert result.exit_code == 0, result.output
    assert f"{len(events(db))} rows verified" in result.output


def test_audit_verify_names_a_row_changed_behind_the_apps_back(app, db, team):
    gen_patient(team["clinician"], display_name="Hazel Example")
    db.session.commit()
    target = events(db, object_type="Patient")[0].seq
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE audit_events SET actor_id = 999 WHERE seq = :seq"), {"seq": target}
        )
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert f"broken at row {target}" in result.output and "changed" in result.output


def test_audit_verify_notices_a_deleted_row(app, db, team):
    total = len(events(db))
    with db.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_events WHERE seq = 3"))
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert "row 3 is missing" in result.output and total > 3


def test_audit_verify_notices_rows_cut_off_the_end(app, db, team):
    last = events(db)[-1].seq
    with db.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_events WHERE seq = :seq"), {"seq": last})
    result = _verify_cli(app)
    assert result.exit_code == 1 and f"broken at row {last}" in result.output


def test_a_recomputed_chain_after_tampering_is_still_caught_by_the_head(app, db, team):
    # Someone rewrites a row AND recomputes every later hash: only the head row disagrees now,
    # unless they rewrote that too; the row hash itself must still match its contents.
    rows = events(db)
    fields = {k: getattr(rows[-1], k) for k in audit.HASHED_FIELDS}
    fields["action"] = "view"
    forged = audit.row_hash(fields)
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE audit_events SET action = 'view', hash = :h WHERE seq = :seq"),
            {"h": forged, "seq": rows[-1].seq},
        )
    result = _verify_cli(app)
    assert result.exit_code == 1 and "head" in result.output


def test_a_lost_head_row_resumes_the_chain_instead_of_forking_it(db, team):
    with db.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_chain_head"))
    gen_patient(team["clinician"])
    db.session.commit()
    assert verify(db).ok


def test_concurrent_writers_lose_nothing_and_keep_one_chain(app, db):
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)
    failures = []

    def write(n):
        try:
            with app.app_context():
                start.wait()
                for i in range(per_thread):
                    app.extensions["sqlalchemy"].session.add(Clinic(name=f"Clinic {n}-{i}"))
                    app.extensions["sqlalchemy"].session.commit()
                app.extensions["sqlalchemy"].session.remove()
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            failures.append(error)

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    names = set(db.session.scalars(sa.select(Clinic.name)))
    assert names == {f"Clinic {n}-{i}" for n in range(threads) for i in range(per_thread)}
    assert len(events(db, action="create", object_type="Clinic")) == threads * per_thread
    report = verify(db)
    assert report.ok, report.problem
    print(f"{threads} threads x {per_thread} inserts: {report.rows} audit rows, chain intact")


def test_a_rolled_back_change_leaves_no_audit_row(db, team):
    before = len(events(db))
    gen_patient(team["clinician"])
    db.session.rollback()
    assert len(events(db)) == before
    assert verify(db).ok


def test_a_course_deleted_outright_is_still_recorded(db, team):
    # Records are voided, not deleted; if code ever deletes, the trail still says so.
    course = gen_course(gen_patient(team["clinician"]), path=[Phase.SCREENING])
    db.session.commit()
    for transition in course.transitions:
        db.session.delete(transition)
    db.session.delete(course)
    db.session.commit()
    deleted = events(db, action="delete", object_type="Course")
    assert len(deleted) == 1 and deleted[0].changes["phase"] == ["screening", None]
    assert db.session.get(Course, course.id) is None


def test_user_role_change_by_an_admin_is_recorded(client, login_as, team, db):
    trainee = gen_user(Role.TRAINEE, team["admin"].clinic, supervisor=team["supervisor"])
    login_as(team["admin"])
    client.post(
        f"/admin/users/{trainee.id}",
        data={
            "name": trainee.name,
            "role": "clinician",
            "supervisor_id": team["supervisor"].id,
        },
    )
    [update] = events(db, action="update", object_type="User", object_id=str(trainee.id))
    assert update.changes["role"] == ["trainee", "clinician"]
    assert update.actor_id == team["admin"].id


def _vital_on_a_reloaded_session(db, team, *, forget_session: bool):
    from psiflow.models import DosingSession, VitalSign
    from tests.factories import gen_dosing_session

    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.DOSING)
    session_id = gen_dosing_session(course, team["clinician"], complete=False).id
    clinician_id, patient_id = team["clinician"].id, patient.id
    db.session.commit()
    db.session.expunge_all()
    session = db.session.get(DosingSession, session_id)
    assert session.course.patient_id == patient_id  # the page has session and course loaded
    vital = VitalSign(
        session_id=session_id,
        taken_at=session.occurred_at,
        heart_rate=80,
        recorded_at=session.occurred_at,
        recorded_by_id=clinician_id,
    )
    if forget_session:
        db.session.expunge(session.course)
        db.session.expunge(session)
    db.session.add(vital)
    statements = statements_of(db.engine, db.session.flush)
    db.session.commit()
    [event] = events(db, object_type="VitalSign", action="create")
    return statements, event, patient_id


def test_a_new_row_finds_its_patient_through_the_rows_the_session_holds(db, team):
    statements, event, patient_id = _vital_on_a_reloaded_session(db, team, forget_session=False)
    assert event.patient_id == patient_id
    [written] = [s for s in statements if "audit_" not in s]  # no SELECT of session or course
    assert written.startswith("INSERT INTO vital_signs")


def test_a_new_row_whose_parents_are_not_loaded_finds_its_patient_by_reading_them(db, team):
    statements, event, patient_id = _vital_on_a_reloaded_session(db, team, forget_session=True)
    assert event.patient_id == patient_id
    assert any("dosing_sessions.course_id" in s for s in statements)
    assert any("courses.patient_id" in s for s in statements)
