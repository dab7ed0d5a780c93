"""Screening, flags, consent, touch consent, set intake and preparation sessions via the web."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from psiflow import catalog
from psiflow.domain.phases import Phase
from psiflow.domain.signing import RecordStatus
from psiflow.models import (
    Alert,
    Consent,
    Course,
    PreparationSession,
    Screening,
    ScreeningFlag,
    SetIntake,
    TouchConsentEntry,
)
from psiflow.models.types import utcnow
from psiflow.preparation.forms import TouchConsentForm
from tests.factories import TEST_PASSWORD, gen_course, gen_patient

PSILOCYBIN = "psilocybin-single-dose@1.0"
MDMA = "mdma-three-session@1.0"


def screening_data(protocol_key, positive=(), **overrides):
    data = {
        "medical_history": "Mild asthma, well controlled.",
        "psychiatric_history": "Recurrent depression since 2015.",
        "medications": "Salbutamol inhaler as needed",
    }
    for check in catalog.protocol(protocol_key).contraindications:
        data[f"check_{check.id}"] = "yes" if check.id in positive else "no"
        data[f"detail_{check.id}"] = "Reported at intake" if check.id in positive else ""
    data.update(overrides)
    return data


def sign(client, record, password=TEST_PASSWORD, meaning="authored"):
    return client.post(
        f"/records/{record.record_type}/{record.id}/sign",
        data={"sign-password": password, "sign-meaning": meaning},
        follow_redirects=True,
    )


@pytest.fixture
def screening_course(db, team):
    return gen_course(gen_patient(team["clinician"]), Phase.SCREENING, PSILOCYBIN)


def new_screening(client, course, **kwargs):
    response = client.post(
        f"/preparation/courses/{course.id}/screening",
        data=screening_data(course.protocol_key, **kwargs),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    from psiflow.extensions import db

    return db.session.scalars(sa.select(Screening).order_by(Screening.id.desc())).first()


def test_clean_screening_is_signed_and_meets_its_gate_item(
    client, login_as, team, db, screening_course
):
    login_as(team["clinician"])
    screening = new_screening(client, screening_course)
    assert screening.status == RecordStatus.DRAFT
    assert "Medical and psychiatric screening signed" in str(screening_course.gates())
    page = sign(client, screening).get_data(as_text=True)
    assert "Screening signed." in page
    db.session.expire_all()
    assert db.session.get(Screening, screening.id).status == RecordStatus.SIGNED
    unmet = dict(db.session.get(Course, screening_course.id).gates())[Phase.PREPARATION]
    assert unmet == ["Informed consent recorded"]


def test_positive_check_raises_a_flag_that_only_a_supervisor_clears(
    client, login_as, team, db, screening_course, app
):
    login_as(team["clinician"])
    screening = new_screening(client, screening_course, positive=["lithium"])
    sign(client, screening)
    [flag] = db.session.scalars(sa.select(ScreeningFlag)).all()
    assert flag.check_id == "lithium" and flag.cleared_at is None
    alert = db.session.scalar(sa.select(Alert))
    assert alert.kind == "screening_flag" and "lithium" in alert.message.lower()
    assert "1 contraindication flag waits for a supervisor to clear" in str(
        db.session.get(Course, screening_course.id).gates()
    )
    # the clinician may not clear it
    response = client.post(
        f"/preparation/flags/{flag.id}/clear", data={"rationale": "fine", "password": TEST_PASSWORD}
    )
    assert response.status_code == 403
    client.post("/logout")
    login_as(team["supervisor"])
    # no rationale, then a wrong password: nothing changes
    client.post(
        f"/preparation/flags/{flag.id}/clear", data={"rationale": "", "password": TEST_PASSWORD}
    )
    client.post(
        f"/preparation/flags/{flag.id}/clear",
        data={"rationale": "Stopped 6 months ago", "password": "wrong password!"},
    )
    assert db.session.get(ScreeningFlag, flag.id).cleared_at is None
    client.post(
        f"/preparation/flags/{flag.id}/clear",
        data={
            "rationale": "Lithium stopped 6 months ago; psychiatrist agrees.",
            "password": TEST_PASSWORD,
        },
    )
    flag = db.session.get(ScreeningFlag, flag.id)
    assert flag.cleared_by_id == team["supervisor"].id and "psychiatrist" in flag.rationale
    page = client.get(f"/patients/{screening_course.patient_id}").get_data(as_text=True)
    assert "Cleared" in page and "Lithium stopped 6 months ago" in page
    # The lead clinician's page names the supervisor who cleared it.
    client.post("/logout")
    login_as(team["clinician"])
    page = client.get(f"/patients/{screening_course.patient_id}").get_data(as_text=True)
    assert f"by {team['supervisor'].name}, " in page


def test_supervisor_outside_the_team_cannot_clear(client, login_as, team, db, screening_course):
    login_as(team["clinician"])
    sign(client, new_screening(client, screening_course, positive=["maoi"]))
    client.post("/logout")
    flag = db.session.scalar(sa.select(ScreeningFlag))
    login_as(team["other_supervisor"])
    response = client.post(
        f"/preparation/flags/{flag.id}/clear", data={"rationale": "x", "password": TEST_PASSWORD}
    )
    assert response.status_code == 404
    assert db.session.get(ScreeningFlag, flag.id).cleared_at is None


def test_unanswered_check_is_refused_next_to_the_field(
    client, login_as, team, db, screening_course
):
    login_as(team["clinician"])
    data = screening_data(PSILOCYBIN)
    del data["check_lithium"]
    response = client.post(f"/preparation/courses/{screening_course.id}/screening", data=data)
    assert response.status_code == 200
    assert "Answer yes or no." in response.get_data(as_text=True)
    assert db.session.query(Screening).count() == 0


def test_forged_check_id_is_refused_and_nothing_saved(client, login_as, team, db, screening_course):
    login_as(team["clinician"])
    data = screening_data(PSILOCYBIN, check_made_up="yes")
    response = client.post(f"/preparation/courses/{screening_course.id}/screening", data=data)
    assert "does not have: check_made_up" in response.get_data(as_text=True)
    assert db.session.query(Screening).count() == 0


def test_answer_outside_yes_no_is_refused(client, login_as, team, db, screening_course):
    login_as(team["clinician"])
    data = screening_data(PSILOCYBIN, check_lithium="maybe")
    response = client.post(f"/preparation/courses/{screening_course.id}/screening", data=data)
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert db.session.query(Screening).count() == 0


def test_signing_needs_the_password_and_a_complete_record(
    client, login_as, team, db, screening_course
):
    login_as(team["clinician"])
    screening = new_screening(client, screening_course, medical_history="")
    page = sign(client, screening).get_data(as_text=True)
    assert "Not signed. Still missing: Medical history" in page
    client.post(
        f"/preparation/screenings/{screening.id}/edit",
        data=screening_data(PSILOCYBIN, version=screening.version),
    )
    page = sign(client, screening, password="not my password").get_data(as_text=True)
    assert "password is not correct" in page
    assert db.session.get(Screening, screening.id).status == RecordStatus.DRAFT
    sign(client, screening)
    assert db.session.get(Screening, screening.id).status == RecordStatus.SIGNED


def test_signed_record_is_read_only_and_amended_by_addendum(
    client, login_as, team, db, screening_course
):
    login_as(team["clinician"])
    screening = new_screening(client, screening_course)
    sign(client, screening)
    response = client.post(
        f"/preparation/screenings/{screening.id}/edit",
        data=screening_data(PSILOCYBIN, medical_history="changed", version=screening.version),
        follow_redirects=True,
    )
    assert "add an addendum instead" in response.get_data(as_text=True)
    assert db.session.get(Screening, screening.id).medical_history.startswith("Mild asthma")
    page = client.get(f"/records/screening/{screening.id}").get_data(as_text=True)
    assert "Edit draft" not in page and "Add an addendum" in page
    client.post(
        f"/records/screening/{screening.id}/addendum",
        data={
            "addendum-text": "Patient later reported a penicillin allergy.",
            "addendum-password": TEST_PASSWORD,
        },
    )
    page = client.get(f"/records/screening/{screening.id}").get_data(as_text=True)
    assert "Patient later reported a penicillin allergy." in page
    assert "content unchanged since signing" in page


def test_void_keeps_the_record_visible_and_stops_it_counting(
    client, login_as, team, db, screening_course
):
    login_as(team["clinician"])
    screening = new_screening(client, screening_course)
    sign(client, screening)
    client.post(
        f"/records/screening/{screening.id}/void",
        data={"void-reason": "Entered for the wrong patient", "void-password": TEST_PASSWORD},
    )
    page = client.get(f"/records/screening/{screening.id}").get_data(as_text=True)
    assert "Voided" in page and "Entered for the wrong patient" in page
    assert "Medical and psychiatric screening signed" in str(
        db.session.get(Course, screening_course.id).gates()
    )


def test_two_editors_of_one_draft_never_overwrite_each_other(
    app, client, login_as, team, db, screening_course
):
    login_as(team["clinician"])
    screening = new_screening(client, screening_course)
    seen = screening.version
    client.post(
        f"/preparation/screenings/{screening.id}/edit",
        data=screening_data(PSILOCYBIN, medical_history="First device", version=seen),
    )
    response = client.post(
        f"/preparation/screenings/{screening.id}/edit",
        data=screening_data(PSILOCYBIN, medical_history="Second device", version=seen),
    )
    page = response.get_data(as_text=True)
    assert "Someone else saved this record" in page and "First device" in page
    assert db.session.get(Screening, screening.id).medical_history == "First device"


def test_only_the_author_edits_a_draft(client, login_as, team, db):
    course = gen_course(
        gen_patient(team["clinician"], co_facilitator=team["clinician2"]),
        Phase.SCREENING,
        PSILOCYBIN,
    )
    login_as(team["clinician"])
    screening = new_screening(client, course)
    client.post("/logout")
    login_as(team["clinician2"])
    client.post(
        f"/preparation/screenings/{screening.id}/edit",
        data=screening_data(PSILOCYBIN, medical_history="co edit", version=screening.version),
    )
    assert db.session.get(Screening, screening.id).medical_history != "co edit"


def test_consent_sign_is_refused_with_what_is_missing(client, login_as, team, db, screening_course):
    login_as(team["clinician"])
    client.post(
        f"/preparation/courses/{screening_course.id}/consent",
        data={
            "form_version": "v3.2",
            "consented_on": "2026-11-02",
            "capacity_confirmed": "yes",
            "risks_discussed": "no",
            "witness_name": "",
        },
    )
    consent = db.session.scalar(sa.select(Consent))
    page = sign(client, consent).get_data(as_text=True)
    assert "Witness" in page and "Risks discussed" in page
    client.post(
        f"/preparation/consents/{consent.id}/edit",
        data={
            "form_version": "v3.2",
            "consented_on": "2026-11-02",
            "witness_name": "R. Lee",
            "capacity_confirmed": "yes",
            "risks_discussed": "yes",
            "version": consent.version,
        },
    )
    sign(client, consent)
    assert db.session.get(Consent, consent.id).status == RecordStatus.SIGNED


def test_touch_consent_is_a_log_with_changes_and_withdrawal(
    client, login_as, team, db, screening_course
):
    login_as(team["clinician"])
    prefix = f"touch{screening_course.id}-"
    url = f"/preparation/courses/{screening_course.id}/touch-consent"
    client.post(
        url,
        data={
            prefix + "change": "agreed",
            prefix + "agreed_touch": ["hand_holding", "hand_on_shoulder"],
        },
    )
    client.post(
        url,
        data={
            prefix + "change": "changed",
            prefix + "agreed_touch": ["hand_holding"],
            prefix + "note": "Only hand holding now",
        },
    )
    client.post(
        url, data={prefix + "change": "withdrawn", prefix + "agreed_touch": ["hand_holding"]}
    )
    entries = db.session.scalars(sa.select(TouchConsentEntry).order_by(TouchConsentEntry.id)).all()
    assert [e.change for e in entries] == ["agreed", "changed", "withdrawn"]
    assert entries[-1].agreed_touch == []  # a withdrawal agrees to nothing
    page = client.get(f"/patients/{screening_course.patient_id}").get_data(as_text=True)
    assert "consent withdrawn" in page
    recorded_by = f'<td data-label="Recorded by">{team["clinician"].name}</td></tr>'
    assert page.count(recorded_by) == 3  # who recorded each
    # bad input: an unknown touch kind, or agreeing to nothing
    client.post(url, data={prefix + "change": "agreed", prefix + "agreed_touch": ["massage"]})
    client.post(url, data={prefix + "change": "agreed"})
    assert db.session.query(TouchConsentEntry).count() == 3


def test_set_intake_validates_readiness_and_feeds_the_gate(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, PSILOCYBIN)
    login_as(team["clinician"])
    url = f"/preparation/courses/{course.id}/set-intake"
    response = client.post(
        url, data={"intention": "To grieve my father", "emotional_readiness": 11}
    )
    assert "Enter a number from 0 to 10." in response.get_data(as_text=True)
    response = client.post(url, data={"intention": "x", "emotional_readiness": "seven"})
    assert "Not a valid integer value." in response.get_data(as_text=True)
    assert db.session.query(SetIntake).count() == 0
    client.post(
        url,
        data={
            "intention": "To grieve my father",
            "emotional_readiness": 7,
            "transport_plan": "Sister drives me home at 5 pm",
        },
    )
    intake = db.session.scalar(sa.select(SetIntake))
    sign(client, intake)
    unmet = dict(db.session.get(Course, course.id).gates())[Phase.DOSING]
    assert "Set intake complete and signed" not in unmet
    assert "Intention written in the patient's words" not in unmet
    assert "Transport home arranged" not in unmet


def test_preparation_session_topics_come_from_the_protocol(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, MDMA)
    login_as(team["clinician"])
    url = f"/preparation/courses/{course.id}/preparation-session"
    data = {
        "occurred_at": "2026-11-20T10:00",
        "duration_minutes": 90,
        "topics": ["not_a_topic"],
        "notes": "x",
        "co_facilitator_id": 0,
    }
    assert "is not a valid choice" in client.post(url, data=data).get_data(as_text=True)
    data["duration_minutes"] = 2000
    data["topics"] = ["intention"]
    assert "Enter 5 to 600 minutes." in client.post(url, data=data).get_data(as_text=True)
    assert db.session.query(PreparationSession).count() == 0
    data["duration_minutes"] = 90
    client.post(url, data=data)
    session = db.session.scalar(sa.select(PreparationSession))
    # entered in the clinic's zone (America/Los_Angeles), stored in UTC
    assert session.occurred_at.hour == 18 and session.topics == ["intention"]
    sign(client, session)
    unmet = dict(db.session.get(Course, course.id).gates())[Phase.DOSING]
    assert "3 signed preparation sessions (1 so far)" in unmet


def test_oregon_timing_rule_reports_dates(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, PSILOCYBIN)
    login_as(team["clinician"])
    client.post(
        f"/preparation/courses/{course.id}/preparation-session",
        data={
            "occurred_at": "2026-11-20T10:00",
            "duration_minutes": 60,
            "topics": ["intention"],
            "notes": "Prep",
            "co_facilitator_id": 0,
        },
    )
    sign(client, db.session.scalar(sa.select(PreparationSession)))
    client.post(
        f"/preparation/courses/{course.id}/planned-dosing",
        data={"planned_dosing_at": "2026-11-20T20:00"},
    )
    unmet = dict(db.session.get(Course, course.id).gates())[Phase.DOSING]
    assert any("at least 24 hours before dosing" in u and "2026-11-20" in u for u in unmet)
    client.post(
        f"/preparation/courses/{course.id}/planned-dosing",
        data={"planned_dosing_at": "2026-11-22T09:00"},
    )
    unmet = dict(db.session.get(Course, course.id).gates())[Phase.DOSING]
    assert not any("before dosing" in u for u in unmet)


def test_other_caseload_gets_404_on_preparation_pages(client, login_as, team, db, screening_course):
    login_as(team["outsider"])
    assert client.get(f"/preparation/courses/{screening_course.id}/screening").status_code == 404
    response = client.post(
        f"/preparation/courses/{screening_course.id}/screening", data=screening_data(PSILOCYBIN)
    )
    assert response.status_code == 404
    assert db.session.query(Screening).count() == 0


def test_patient_page_panel_lists_records_and_actions(client, login_as, team, db, screening_course):
    login_as(team["clinician"])
    new_screening(client, screening_course)
    page = client.get(f"/patients/{screening_course.patient_id}").get_data(as_text=True)
    assert "Screening and preparation" in page and "Draft" in page
    assert "Record consent" in page and "New preparation session" in page
    assert "Start screening" not in page  # one screening at a time


def test_patient_page_queries_stay_flat_as_records_grow(client, login_as, team, db):
    from tests.conftest import count_queries

    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, MDMA)
    login_as(team["clinician"])

    def add_sessions(n):
        for _ in range(n):
            db.session.add(
                PreparationSession(
                    course=course,
                    author=team["clinician"],
                    occurred_at=utcnow() - timedelta(days=1),
                    duration_minutes=60,
                    topics=["intention"],
                    notes="n",
                )
            )
        db.session.commit()

    def queries():
        with count_queries(db.engine) as counter:
            assert client.get(f"/patients/{course.patient_id}").status_code == 200
        return counter.count

    add_sessions(1)
    few = queries()
    add_sessions(10)
    assert queries() == few


def test_the_patient_page_draws_the_touch_consent_form_under_its_courses_name(
    app, client, login_as, team, screening_course
):
    login_as(team["clinician"])
    html = client.get(f"/patients/{screening_course.patient_id}").get_data(as_text=True)
    with app.test_request_context():
        form = TouchConsentForm(formdata=None, prefix=f"touch{screening_course.id}")
        drawn = [str(form.change()), str(form.agreed_touch()), str(form.note.label())]
        drawn.append(str(form.note()))
    assert all(field in html for field in drawn)
    assert f'name="touch{screening_course.id}-change"' in html


def test_a_course_past_preparation_says_when_dosing_was_planned_not_that_it_is(
    client, login_as, team, db
):
    course = gen_course(gen_patient(team["clinician"]), Phase.FOLLOW_UP, PSILOCYBIN)
    course.planned_dosing_at = utcnow() - timedelta(days=90)
    db.session.commit()
    login_as(team["clinician"])
    html = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    assert "Dosing was planned for" in html
    assert "Dosing planned for" not in html
