"""Regulated values through the browser's eyes: each refused action changes nothing, the REMS
monitoring form shows due then overdue on the board and the patient page until recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from psiflow.domain.dosing import DoseKind
from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning, RecordStatus
from psiflow.domain.vitals import Reading
from psiflow.models import (
    AuditEvent,
    DoseAdministration,
    DoseDeviation,
    DosingSession,
    PhaseTransition,
    PreparationSession,
    RemsMonitoringForm,
    Signature,
    VitalSign,
    dosing,
)
from psiflow.models.records import sign_record, void_record
from psiflow.models.types import utcnow
from tests.conftest import count_queries
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient
from tests.views.test_sessions import local

PSILOCYBIN = "psilocybin-single-dose@1.0"
MDMA = "mdma-three-session@1.0"
ESKETAMINE = "esketamine-monitoring@1.0"


def count(db, model, **where):
    query = sa.select(sa.func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalar(query)


def esketamine_course(team, **patient):
    return gen_course(gen_patient(team["clinician"], **patient), Phase.DOSING, ESKETAMINE)


def rems_section(page: str, course_id: int) -> str:
    """The patient page's REMS panel of one course (the schedule uses the same badges)."""
    start = page.index(f'id="rems-{course_id}"')
    return page[start : page.index("</section>", start)]


# --- Oregon: lithium in the last 30 days ---------------------------------------------------------


def test_the_psilocybin_screening_form_asks_about_lithium_in_the_last_30_days(
    client, login_as, team, db
):
    course = gen_course(gen_patient(team["clinician"]), Phase.SCREENING, PSILOCYBIN)
    login_as(team["clinician"])
    page = client.get(f"/preparation/courses/{course.id}/screening").get_data(as_text=True)
    assert "Has taken the prescription drug lithium in the last 30 days" in page
    assert "Currently taking lithium" not in page


# --- Oregon: the preparation window at the actual start -----------------------------------------


def prepared(db, team, hours_before_now: float, **course_args):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, PSILOCYBIN, **course_args)
    at = utcnow() - timedelta(hours=hours_before_now)
    record = PreparationSession(
        course=course,
        author=team["clinician"],
        occurred_at=at,
        duration_minutes=60,
        topics=["intention"],
        notes="Prepared.",
    )
    db.session.add(record)
    db.session.flush()
    sign_record(record, team["clinician"], Meaning.AUTHORED, now=at)
    db.session.commit()
    return course


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (10, "at least 24 hours between the last signed preparation session"),
        (91 * 24, "more than 90 days"),
    ],
)
def test_a_session_outside_the_preparation_window_does_not_start(
    client, login_as, team, db, hours, message
):
    course = prepared(db, team, hours)
    login_as(team["clinician"])
    response = client.post(f"/courses/{course.id}/dosing-sessions", follow_redirects=True)
    assert message in response.get_data(as_text=True)
    assert count(db, DosingSession, course_id=course.id) == 0


def test_a_session_inside_the_window_starts(client, login_as, team, db):
    course = prepared(db, team, 48)
    login_as(team["clinician"])
    response = client.post(f"/courses/{course.id}/dosing-sessions")
    assert response.status_code == 302
    assert count(db, DosingSession, course_id=course.id) == 1


def test_a_supervisors_override_of_the_timing_lets_the_session_start(client, login_as, team, db):
    course = prepared(db, team, 10)
    db.session.add(
        PhaseTransition(
            course=course,
            from_phase=Phase.PREPARATION,
            to_phase=Phase.DOSING,
            by_id=team["supervisor"].id,
            reason="Travels tomorrow; second preparation call held by phone.",
            override=True,
            unmet_at_override=["Preparation at least 24 hours before dosing (...)"],
        )
    )
    db.session.commit()
    login_as(team["clinician"])
    assert client.post(f"/courses/{course.id}/dosing-sessions").status_code == 302
    assert count(db, DosingSession, course_id=course.id) == 1


# --- Spravato: device doses, blood pressures ----------------------------------------------------


def url(session, action=""):
    return f"/dosing-sessions/{session.id}" + (f"/{action}" if action else "")


def test_esketamine_first_session_refuses_84_mg_and_saves_nothing(client, login_as, team, db):
    course = esketamine_course(team)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    db.session.commit()
    login_as(team["clinician"])
    response = client.post(
        url(session, "doses"), data={"kind": "initial", "amount": "84", "lot_number": "L1"}
    )
    assert response.status_code == 422
    assert "The first dosing session of the course gives 56 mg." in response.get_data(as_text=True)
    assert count(db, DoseAdministration) == 0
    response = client.post(
        url(session, "doses"), data={"kind": "initial", "amount": "56", "lot_number": "L1"}
    )
    assert response.status_code == 302 and count(db, DoseAdministration) == 1


def test_esketamine_later_session_takes_84_but_not_70_mg(client, login_as, team, db):
    course = esketamine_course(team)
    gen_dosing_session(course, team["clinician"], hours_ago=100)
    first = db.session.scalar(sa.select(DosingSession))
    sign_record(first, team["clinician"], Meaning.AUTHORED)
    later = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    db.session.commit()
    login_as(team["clinician"])
    response = client.post(
        url(later, "doses"), data={"kind": "initial", "amount": "70", "lot_number": "L1"}
    )
    assert response.status_code == 422 and "gives 56 or 84 mg" in response.get_data(as_text=True)
    assert count(db, DoseAdministration, session_id=later.id) == 0
    response = client.post(
        url(later, "doses"), data={"kind": "initial", "amount": "84", "lot_number": "L1"}
    )
    assert response.status_code == 302 and count(db, DoseAdministration, session_id=later.id) == 1


def esketamine_session_without_40_minute_reading(db, team):
    """A session with everything signing needs but the reading about 40 minutes after the dose."""
    course = esketamine_course(team)
    session = gen_dosing_session(course, team["clinician"], hours_ago=5)
    forty = db.session.scalar(
        sa.select(VitalSign)
        .where(VitalSign.session_id == session.id)
        .order_by(VitalSign.id)
        .offset(1)
    )
    forty.taken_at = forty.taken_at + timedelta(minutes=25)  # 65 minutes after: out of window
    db.session.commit()
    return session


def test_esketamine_record_is_unsignable_without_the_40_minute_blood_pressure(
    client, login_as, team, db
):
    session = esketamine_session_without_40_minute_reading(db, team)
    login_as(team["clinician"])
    page = client.get(url(session)).get_data(as_text=True)
    assert (
        "Blood pressure about 40 minutes after the dose (30-50 minutes after the first dose)"
        in (page)
    )
    response = client.post(
        f"/records/dosing_session/{session.id}/sign",
        data={"sign-meaning": "authored", "sign-password": TEST_PASSWORD},
        follow_redirects=True,
    )
    assert "Not signed." in response.get_data(as_text=True)
    assert db.session.get(DosingSession, session.id).status == RecordStatus.DRAFT
    assert count(db, Signature) == 0


def test_a_complete_esketamine_record_signs(client, login_as, team, db):
    session = gen_dosing_session(esketamine_course(team), team["clinician"], hours_ago=5)
    db.session.commit()
    assert session.missing_for_signing() == []


def test_esketamine_discharge_without_a_blood_pressure_before_it_is_refused(
    client, login_as, team, db
):
    course = esketamine_course(team)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=4)
    t0 = session.occurred_at
    dosing.record_vitals(
        session, Reading(systolic=120, diastolic=80), t0 + timedelta(minutes=5), team["clinician"]
    )
    dosing.record_dose(
        session, DoseKind.INITIAL, 56, "L1", t0 + timedelta(minutes=10), team["clinician"]
    )
    db.session.commit()
    login_as(team["clinician"])
    leave = t0 + timedelta(minutes=150)
    response = client.post(
        url(session, "discharge"),
        data={
            "version": session.version,
            "discharged_at": local(leave),
            "criteria": [c.id for c in course.protocol.discharge_criteria],
            "accompanied_by": "Sister",
            "as_planned": "yes",
        },
    )
    assert response.status_code == 422
    assert "blood pressure before discharge" in response.get_data(as_text=True)
    assert db.session.get(DosingSession, session.id).discharged_at is None


# --- MAPS: the supplemental half dose, unless a supervisor records a deviation ------------------


def mdma_session(db, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, MDMA)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=3)
    dosing.record_dose(
        session,
        DoseKind.INITIAL,
        120,
        "L1",
        session.occurred_at + timedelta(minutes=5),
        team["clinician"],
    )
    db.session.commit()
    return session


def supplemental(client, session, amount):
    at = session.occurred_at + timedelta(minutes=105)
    return client.post(
        url(session, "doses"),
        data={
            "kind": "supplemental",
            "amount": str(amount),
            "lot_number": "L1",
            "given_at": local(at),
        },
    )


def test_mdma_supplemental_dose_that_is_not_half_is_refused(client, login_as, team, db):
    session = mdma_session(db, team)
    login_as(team["clinician"])
    response = supplemental(client, session, 40)
    assert response.status_code == 422
    assert "half the initial one: 60 mg after 120 mg" in response.get_data(as_text=True)
    assert count(db, DoseAdministration, session_id=session.id) == 1


def test_only_a_supervisor_records_a_deviation_and_then_the_dose_is_taken(
    client, login_as, team, db
):
    session = mdma_session(db, team)
    deviation = {"kind": "supplemental", "amount": "40", "reason": "Nausea after the first dose."}
    login_as(team["clinician"])
    assert client.post(url(session, "dose-deviations"), data=deviation).status_code == 403
    assert "Record deviation" not in client.get(url(session)).get_data(as_text=True)
    assert count(db, DoseDeviation) == 0
    client.post("/logout")

    login_as(team["supervisor"])
    assert "Record deviation" in client.get(url(session)).get_data(as_text=True)
    response = client.post(url(session, "dose-deviations"), data={**deviation, "reason": " "})
    assert response.status_code == 302 and count(db, DoseDeviation) == 0
    response = client.post(url(session, "dose-deviations"), data={**deviation, "amount": "90"})
    assert count(db, DoseDeviation) == 0
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "within the protocol&#39;s range" in page
    assert client.post(url(session, "dose-deviations"), data=deviation).status_code == 302
    [recorded] = db.session.scalars(sa.select(DoseDeviation)).all()
    assert recorded.recorded_by_id == team["supervisor"].id and recorded.amount == 40
    assert db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.object_type == "DoseDeviation", AuditEvent.action == "create"
        )
    )
    client.post("/logout")

    login_as(team["clinician"])
    assert "approved by" in client.get(url(session)).get_data(as_text=True)
    assert supplemental(client, session, 40).status_code == 302
    assert count(db, DoseAdministration, session_id=session.id, kind=DoseKind.SUPPLEMENTAL) == 1


def test_a_supervisor_outside_the_care_team_cannot_record_a_deviation(client, login_as, team, db):
    session = mdma_session(db, team)
    login_as(team["other_supervisor"])
    data = {"kind": "supplemental", "amount": "40", "reason": "x"}
    assert client.post(url(session, "dose-deviations"), data=data).status_code == 404
    assert count(db, DoseDeviation) == 0


# --- the REMS monitoring form: due, overdue, submitted ------------------------------------------


def test_a_new_esketamine_session_owes_its_monitoring_form_7_days_on(team, db):
    session = gen_dosing_session(esketamine_course(team), team["clinician"], complete=False)
    form = db.session.scalar(sa.select(RemsMonitoringForm))
    assert form.session_id == session.id and form.due_at == session.occurred_at + timedelta(days=7)
    other = gen_course(gen_patient(team["clinician"]), Phase.DOSING, MDMA)
    gen_dosing_session(other, team["clinician"], complete=False)
    assert count(db, RemsMonitoringForm) == 1


def test_the_board_and_patient_page_show_the_form_due_then_overdue_until_submitted(
    client, login_as, team, db
):
    due = gen_dosing_session(esketamine_course(team), team["clinician"], hours_ago=10)
    late = gen_dosing_session(esketamine_course(team), team["clinician"], hours_ago=8 * 24)
    db.session.commit()
    login_as(team["clinician"])
    board = client.get("/").get_data(as_text=True)
    assert "REMS form due" in board and "REMS form overdue" in board

    page = client.get(f"/patients/{due.course.patient_id}").get_data(as_text=True)
    panel = rems_section(page, due.course_id)
    assert "SPRAVATO REMS Patient Monitoring Form" in panel
    assert 'badge due-due">Due' in panel and "Overdue" not in panel
    page = client.get(f"/patients/{late.course.patient_id}").get_data(as_text=True)
    panel = rems_section(page, late.course_id)
    assert 'badge due-overdue">Overdue' in panel and "was due" in panel

    form = db.session.scalar(
        sa.select(RemsMonitoringForm).where(RemsMonitoringForm.session_id == late.id)
    )
    response = client.post(f"/rems-forms/{form.id}/submitted", data={"reference": "FAX-77"})
    assert response.status_code == 302
    page = client.get(f"/patients/{late.course.patient_id}").get_data(as_text=True)
    panel = rems_section(page, late.course_id)
    assert "Submitted" in panel and team["clinician"].name in panel and "FAX-77" in panel
    assert "Overdue" not in panel and "Record as submitted" not in panel
    board = client.get("/").get_data(as_text=True)
    assert "REMS form overdue" not in board and "REMS form due" in board
    db.session.refresh(form)
    assert form.submitted_by_id == team["clinician"].id and form.submitted_at is not None
    assert db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.object_type == "RemsMonitoringForm", AuditEvent.action == "update"
        )
    )


def test_a_second_submission_or_one_in_the_future_is_refused_and_changes_nothing(
    client, login_as, team, db
):
    course = esketamine_course(team, co_facilitator=team["clinician2"])
    session = gen_dosing_session(course, team["clinician"], hours_ago=10)
    db.session.commit()
    form = db.session.scalar(sa.select(RemsMonitoringForm))
    login_as(team["clinician"])
    future = local(utcnow() + timedelta(days=1))
    response = client.post(
        f"/rems-forms/{form.id}/submitted", data={"submitted_at": future}, follow_redirects=True
    )
    assert "in the future" in response.get_data(as_text=True)
    db.session.refresh(form)
    assert form.submitted_at is None
    client.post(f"/rems-forms/{form.id}/submitted", data={"reference": "first"})
    client.post("/logout")
    for stranger in ("outsider", "supervisor", "trainee", "admin"):
        # Off the care team (a supervisor reviews, the care team writes), or not a care role.
        login_as(team[stranger])
        assert client.post(f"/rems-forms/{form.id}/submitted", data={}).status_code in (403, 404)
        client.post("/logout")
    login_as(team["clinician2"])
    response = client.post(
        f"/rems-forms/{form.id}/submitted", data={"reference": "second"}, follow_redirects=True
    )
    assert "Already recorded as submitted by" in response.get_data(as_text=True)
    db.session.refresh(form)
    assert form.reference == "first" and form.submitted_by_id == team["clinician"].id
    assert session.id == form.session_id


def test_a_voided_sessions_form_is_not_owed(client, login_as, team, db):
    session = gen_dosing_session(esketamine_course(team), team["clinician"], hours_ago=8 * 24)
    void_record(session, team["clinician"], "Entered on the wrong patient.")
    db.session.commit()
    login_as(team["clinician"])
    assert "REMS form" not in client.get("/").get_data(as_text=True)
    form = db.session.scalar(sa.select(RemsMonitoringForm))
    response = client.post(f"/rems-forms/{form.id}/submitted", data={}, follow_redirects=True)
    assert "no monitoring form is owed" in response.get_data(as_text=True)
    db.session.refresh(form)
    assert form.submitted_at is None


def test_the_board_runs_no_query_more_for_more_cards_with_forms(client, login_as, team, db):
    def board_queries():
        with count_queries(db.engine) as counter:
            assert client.get("/").status_code == 200
        return counter.count

    gen_dosing_session(esketamine_course(team), team["clinician"], hours_ago=10)
    db.session.commit()
    login_as(team["clinician"])
    board_queries()  # warm up
    few = board_queries()
    for hours in (20, 8 * 24, 9 * 24):
        gen_dosing_session(esketamine_course(team), team["clinician"], hours_ago=hours)
    db.session.commit()
    assert board_queries() == few
