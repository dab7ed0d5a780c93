"""Integration sessions, safety calls, the integration panel and the course export, through
the web."""

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.domain.signing import RecordStatus
from psiflow.integration import panel
from psiflow.models import ActionItem, Alert, AlertKind, IntegrationSession, SafetyCheckIn
from psiflow.models.integration import schedule_done
from psiflow.models.records import void_record
from psiflow.models.types import utcnow
from tests.factories import TEST_PASSWORD, gen_course, gen_patient
from tests.integration_factories import (
    CALM,
    MDMA,
    NO_RISK,
    PSILOCYBIN,
    dosed_course,
    gen_check_in,
    gen_integration_session,
    gen_measure,
)


def local(when):
    """As typed into the form: wall-clock time in the test clinic's zone."""
    return when.astimezone(ZoneInfo("America/Los_Angeles")).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def course(db, team):
    return gen_course(
        gen_patient(team["clinician"], display_name="Juniper Example"),
        Phase.INTEGRATION,
        PSILOCYBIN,
    )


def _start(client, course, **fields):
    data = {
        "occurred_at": local(utcnow() - timedelta(hours=1)),
        "password": TEST_PASSWORD,
        **CALM,
        **NO_RISK,
        **fields,
    }
    return client.post(f"/integration/courses/{course.id}/sessions/new", data=data)


def test_starting_a_session_signs_the_check_in_and_screen_and_opens_a_draft(
    client, login_as, team, db, course
):
    login_as(team["clinician"])
    page = client.get(f"/integration/courses/{course.id}/sessions/new").get_data(as_text=True)
    assert "Have you wished you were dead" in page  # the C-SSRS items, from the instrument file
    response = _start(client, course)
    assert response.status_code == 302 and "/edit" in response.headers["Location"]
    note = db.session.scalars(sa.select(IntegrationSession)).one()
    assert note.status == RecordStatus.DRAFT
    assert note.check_in.status == RecordStatus.SIGNED and note.check_in.concerns() == []
    assert note.risk_screen.instrument_id == "cssrs" and note.risk_screen.risk == "none"
    assert db.session.scalars(sa.select(Alert)).all() == []


def test_wrong_password_records_nothing(client, login_as, team, db, course):
    login_as(team["clinician"])
    response = _start(client, course, password="not it")
    assert response.status_code == 200
    assert "password is not correct" in response.get_data(as_text=True)
    assert db.session.scalars(sa.select(SafetyCheckIn)).all() == []


def test_positive_risk_screen_alerts_the_supervisor(client, login_as, team, db, course):
    login_as(team["clinician"])
    _start(client, course, item_q2="1", item_q3="1", item_q4="0", item_q5="0")
    [alert] = db.session.scalars(sa.select(Alert)).all()
    assert alert.kind == AlertKind.SUICIDE_RISK and "moderate risk" in alert.message


def test_unanswered_skip_question_is_refused_with_the_reason(client, login_as, team, db, course):
    login_as(team["clinician"])
    response = _start(client, course, item_q2="1")  # q3-q5 must follow a yes to q2
    assert response.status_code == 200
    assert "not answered" in response.get_data(as_text=True)
    assert db.session.scalars(sa.select(IntegrationSession)).all() == []


def test_positive_check_in_alerts_the_supervisor(client, login_as, team, db, course):
    login_as(team["clinician"])
    _start(client, course, suicidal_thoughts="yes", serious_events="y")
    [alert] = db.session.scalars(sa.select(Alert)).all()
    assert alert.kind == AlertKind.SAFETY_CHECK_IN
    assert "current suicidal thoughts" in alert.message
    assert "serious event" in alert.message


def test_note_is_written_with_its_action_plan_then_signed(client, login_as, team, db, course):
    login_as(team["clinician"])
    _start(client, course)
    note = db.session.scalars(sa.select(IntegrationSession)).one()
    phq = gen_measure(course, team["clinician"], "phq9", "integration", total=9)
    edit = f"/integration/integration_session/{note.id}/edit"
    assert "Themes and insights" in client.get(edit).get_data(as_text=True)
    response = client.post(
        edit,
        data={
            "duration_minutes": "75",
            "themes": "Forgiveness of her father.",
            "emotions": ["grief", "relief"],
            "meaning_made": "Anger was protecting her.",
            "plan_next_session": "Review the letter.",
            "new_1": "Write the letter",
            "new_2": "Walk daily",
            "measures": [str(phq.id)],
            "version": note.version,
        },
    )
    assert response.status_code == 302
    note = db.session.get(IntegrationSession, note.id)
    assert note.themes == "Forgiveness of her father." and note.emotions == ["grief", "relief"]
    assert [m.id for m in note.measures_given] == [phq.id]
    assert sorted(i.text for i in db.session.scalars(sa.select(ActionItem))) == [
        "Walk daily",
        "Write the letter",
    ]
    client.post(
        f"/records/integration_session/{note.id}/sign",
        data={"sign-meaning": "authored", "sign-password": TEST_PASSWORD},
    )
    assert db.session.get(IntegrationSession, note.id).status == RecordStatus.SIGNED
    page = client.get(f"/records/integration_session/{note.id}").get_data(as_text=True)
    assert "Write the letter" in page and "Forgiveness of her father." in page
    # once signed, the edit page sends the author to the addendum instead
    assert client.get(edit).status_code == 302


def test_later_note_marks_carried_items(client, login_as, team, db, course):
    login_as(team["clinician"])
    _start(client, course)
    first = db.session.scalars(sa.select(IntegrationSession)).one()
    client.post(
        f"/integration/integration_session/{first.id}/edit",
        data={"duration_minutes": "60", "new_1": "Walk daily", "version": first.version},
    )
    _start(client, course)
    second = db.session.scalars(
        sa.select(IntegrationSession).order_by(IntegrationSession.id.desc())
    ).first()
    item = db.session.scalars(sa.select(ActionItem)).one()
    page = client.get(f"/integration/integration_session/{second.id}/edit").get_data(as_text=True)
    assert "Walk daily" in page
    client.post(
        f"/integration/integration_session/{second.id}/edit",
        data={"duration_minutes": "60", f"item_{item.id}": "done", "version": second.version},
    )
    item = db.session.get(ActionItem, item.id)
    assert item.status.value == "done" and item.closed_in_id == second.id


def test_safety_call_is_matched_to_the_scheduled_day(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION, MDMA)
    dosed_course(course, utcnow() - timedelta(days=2, hours=2))
    login_as(team["clinician"])
    page = client.get(f"/integration/courses/{course.id}/check-ins/new").get_data(as_text=True)
    assert '<option selected value="2:2">' in page  # dosing 2 (gen_course's dosing is 1), day 2
    response = client.post(
        f"/integration/courses/{course.id}/check-ins/new",
        data={
            **CALM,
            "call": "2:2",
            "password": TEST_PASSWORD,
            "substance_use": "y",
            "occurred_at": local(utcnow()),
        },
    )
    assert response.status_code == 302
    check_in = db.session.scalars(sa.select(SafetyCheckIn)).one()
    assert (check_in.dosing_number, check_in.scheduled_day) == (2, 2)
    [alert] = db.session.scalars(sa.select(Alert)).all()
    assert "day 2 call after dosing 2" in alert.message and "substance use" in alert.message


def test_future_times_are_refused(client, login_as, team, db, course):
    login_as(team["clinician"])
    response = _start(client, course, occurred_at=local(utcnow() + timedelta(days=2)))
    assert response.status_code == 200
    assert db.session.scalars(sa.select(SafetyCheckIn)).all() == []


def test_panel_shows_progress_due_items_and_the_trajectory(client, login_as, team, db, course):
    clinician = team["clinician"]
    gen_measure(
        course, clinician, "phq9", "baseline", total=18, occurred_at=utcnow() - timedelta(days=35)
    )
    gen_measure(course, clinician, "phq9", "integration", total=8)
    login_as(clinician)
    html = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    assert "Integration and outcomes" in html
    assert "First integration session after dosing 1" in html  # dosed 10 days ago: overdue
    assert "Overdue" in html
    assert 'class="score"' in html and 'data-value="18"' in html and 'data-value="8"' in html
    assert "Dosing 1" in html  # the dosing marked on the time axis
    latest = '<td data-label="Latest">8 '
    assert "<td>18</td>" in html and latest in html  # the same numbers in a table
    assert ">18.0<" not in html and ">8.0<" not in html  # written one way, whole numbers bare
    assert "-56%" in html and "response" in html


def test_the_panel_works_out_the_same_schedule_as_schedule_done(db, team):
    """The panel derives what is done from the lines it lists: it must agree with
    `schedule_done` on everything that counts and everything that does not."""
    clinician, trainee = team["clinician"], team["trainee"]
    dosed = gen_course(gen_patient(clinician), Phase.INTEGRATION, MDMA)
    last = dosed_course(dosed, utcnow() - timedelta(days=5))
    gen_integration_session(dosed, clinician, occurred_at=last + timedelta(days=1))
    gen_integration_session(dosed, clinician, sign=False)  # a draft is still a note on record
    void_record(gen_integration_session(dosed, clinician), clinician, "wrong patient")
    gen_measure(dosed, clinician, "ceq", "after_dosing_1", total=2)
    gen_measure(dosed, clinician, "meq30", "after_dosing_1", sign=False)  # a draft: not given
    void_record(gen_measure(dosed, clinician, "ebi", "after_dosing_1"), clinician, "typo")
    gen_measure(dosed, clinician, "phq9", "follow_up_week_4", total=6)
    gen_measure(dosed, clinician, "phq9", "baseline", total=20)  # not a schedule timepoint
    gen_check_in(dosed, clinician, context="call", dosing_number=1, scheduled_day=2)
    gen_check_in(dosed, clinician, context="call")  # an unscheduled call
    void_record(
        gen_check_in(dosed, clinician, context="call", dosing_number=1, scheduled_day=7),
        clinician,
        "entered twice",
    )
    practice = gen_course(gen_patient(trainee), Phase.INTEGRATION, PSILOCYBIN)
    dosed_course(practice)  # no dosing session: the transition stands in for the dose
    gen_measure(practice, trainee, "ceq", "after_dosing_1", total=3)  # awaits co-signature
    gen_check_in(practice, trainee, dosing_number=1, scheduled_day=1)  # opened a session
    screening = gen_course(gen_patient(clinician), Phase.SCREENING)
    courses = [dosed, practice, screening]
    ids = [c.id for c in courses]

    assert panel.schedule_done_from(ids, panel.panel_lines(ids)) == schedule_done(courses)


def test_dashboard_lists_due_work_for_the_clinician(client, login_as, team, db):
    course = gen_course(
        gen_patient(team["clinician"], display_name="Rowan Sample"), Phase.INTEGRATION, PSILOCYBIN
    )
    dosed_course(course, utcnow() - timedelta(hours=30))
    login_as(team["clinician"])
    html = client.get("/").get_data(as_text=True)
    assert "Due after dosing" in html
    assert "MEQ-30 the day after dosing 2" in html
    gen_integration_session(course, team["clinician"])
    html = client.get("/").get_data(as_text=True)
    assert "First integration session after dosing 2" not in html


def test_course_exports_as_csv_and_json(client, login_as, team, db, course):
    gen_measure(
        course,
        team["clinician"],
        "phq9",
        "baseline",
        total=18,
        occurred_at=utcnow() - timedelta(days=30),
    )
    gen_integration_session(course, team["clinician"], themes='=HYPERLINK("x")')
    login_as(team["clinician"])
    response = client.get(f"/integration/courses/{course.id}/export.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert "Juniper" not in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["course"]["protocol"] == "psilocybin-single-dose"
    assert [m["total"] for m in data["measures"] if m["instrument"] == "phq9"] == [18.0]
    assert len(data["integration_sessions"]) == 1
    response = client.get(f"/integration/courses/{course.id}/export.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # the charset once
    csv = response.get_data(as_text=True)
    assert csv.splitlines()[0] == "when_utc,kind,record_id,what,value,detail,status"
    assert ",measure," in csv and "integration_session" in csv
    assert ',phq9,18,"baseline' in csv and ",18.0," not in csv  # a score as the page writes it
    assert "'=HYPERLINK" in csv  # a formula is defused, not run by the spreadsheet


def test_the_export_lists_the_measures_each_note_gave_and_what_counts(
    client, login_as, team, db, course
):
    days_ago = {n: utcnow() - timedelta(days=n) for n in (1, 2)}
    early = gen_measure(course, team["clinician"], "phq9", total=12, occurred_at=days_ago[2])
    late = gen_measure(course, team["clinician"], "gad7", total=6, occurred_at=days_ago[1])
    draft = gen_measure(course, team["clinician"], "phq9", "ad_hoc", total=3, sign=False)
    note = gen_integration_session(course, team["clinician"], sign=False)
    note.measures_given = [late, early]
    other = gen_integration_session(course, team["clinician"])
    db.session.commit()
    login_as(team["clinician"])
    data = json.loads(client.get(f"/integration/courses/{course.id}/export.json").data)
    given = {n["id"]: n["measures_given"] for n in data["integration_sessions"]}
    assert given == {note.id: [early.id, late.id], other.id: []}
    by_id = {m["id"]: m for m in data["measures"]}
    assert by_id[early.id]["counts"] and not by_id[draft.id]["counts"]
    assert not by_id[early.id]["voided"] and by_id[draft.id]["status"] == "draft"


def test_practice_patient_is_never_exported(client, login_as, team, db):
    course = gen_course(gen_patient(team["trainee"]), Phase.INTEGRATION, PSILOCYBIN)
    for user in ("trainee", "supervisor"):
        login_as(team[user])
        for kind in ("csv", "json"):
            response = client.get(f"/integration/courses/{course.id}/export.{kind}")
            assert response.status_code in (403, 404), (user, kind)
        client.post("/logout")
    login_as(team["supervisor"])
    assert "export.csv" not in client.get(f"/patients/{course.patient_id}").get_data(as_text=True)


def test_other_caseload_cannot_start_sessions_or_export(client, login_as, team, db, course):
    login_as(team["outsider"])
    assert _start(client, course).status_code == 404
    assert client.get(f"/integration/courses/{course.id}/export.csv").status_code == 404
    assert db.session.scalars(sa.select(SafetyCheckIn)).all() == []


def test_every_export_is_in_the_audit_trail(client, login_as, team, db, course):
    from psiflow.models import AuditEvent

    login_as(team["clinician"])
    client.get(f"/integration/courses/{course.id}/export.json")
    client.get(f"/integration/courses/{course.id}/export.csv")
    client.post("/logout")
    login_as(team["supervisor"])
    client.get("/supervision/outcomes.csv")
    exports = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.seq)
    ).all()
    assert [e.detail.split(" (")[0] for e in exports] == [
        "course JSON",
        "course CSV",
        "team outcome table CSV",
    ]
    assert exports[0].patient_id == course.patient_id
    assert (
        exports[0].actor_id == team["clinician"].id and exports[2].actor_id == team["supervisor"].id
    )


def test_a_note_saved_from_another_device_at_the_same_moment_is_not_a_server_error(
    client, login_as, team, db, course, monkeypatch
):
    from sqlalchemy.orm.exc import StaleDataError

    from psiflow.integration import views

    dosed_course(course)
    note = gen_integration_session(course, team["clinician"], sign=False)

    def saved_elsewhere_first(*args, **kwargs):
        raise StaleDataError("UPDATE statement on table 'integration_sessions' matched 0 rows")

    monkeypatch.setattr(views, "save_note", saved_elsewhere_first)
    login_as(team["clinician"])
    url = f"/integration/integration_session/{note.id}/edit"
    response = client.post(
        url, data={"duration_minutes": 50, "themes": "Mine", "version": note.version}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else saved this note at the same moment" in page
    assert "Mine</textarea>" in page  # what was typed is kept
