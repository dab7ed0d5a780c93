"""Every danger reaches a person and stops what it must stop (DESIGN 4), as a clinic sees it."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from psiflow.domain.dosing import DoseKind
from psiflow.domain.phases import Phase
from psiflow.domain.safety import AlertKind, Resolution, Severity
from psiflow.models import (
    AdverseEvent,
    AdverseEventUpdate,
    Alert,
    Course,
    DosingSession,
    PhaseTransition,
    ScreeningFlag,
    VitalSign,
)
from psiflow.models import dosing as dosing_model
from psiflow.models.alerts import raise_alert
from psiflow.models.types import utcnow
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient

KAP = "ketamine-assisted-psychotherapy@1.0"
PSILOCYBIN = "psilocybin-single-dose@1.0"


def count(db, model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def url(session, action=""):
    return f"/dosing-sessions/{session.id}" + (f"/{action}" if action else "")


@pytest.fixture
def kap_session(db, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=KAP)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=3)
    dose_at = utcnow() - timedelta(minutes=125)
    dosing_model.record_dose(session, DoseKind.INITIAL, 200, "K-1", dose_at, team["clinician"])
    db.session.commit()
    return session


def _discharge(client, session, **extra):
    return client.post(
        url(session, "discharge"),
        data={
            "version": session.version,
            "criteria": [c.id for c in session.course.protocol.discharge_criteria],
            "accompanied_by": "Partner",
            "as_planned": "yes",
            **extra,
        },
    )


# --- vitals --------------------------------------------------------------------------------


def test_a_critical_reading_raises_a_critical_alert_and_holds_discharge(
    client, login_as, team, db, kap_session
):
    """The outside test's ketamine reading: 230/130, HR 150, 40.5 °C, SpO2 82 %, 2 h 05 in."""
    login_as(team["clinician"])
    response = client.post(
        url(kap_session, "vitals"),
        data={
            "systolic": "230",
            "diastolic": "130",
            "heart_rate": "150",
            "temperature_c": "40.5",
            "spo2": "82",
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Critical reading: the supervisor has been alerted." in page
    [alert] = db.session.scalars(sa.select(Alert)).all()
    assert (alert.kind, alert.severity) == (AlertKind.VITALS, Severity.CRITICAL)
    assert "SpO2 82 %" in alert.message and alert.acknowledged_at is None
    vital = db.session.scalar(sa.select(VitalSign))
    assert len(vital.critical_flags) == 5

    response = _discharge(client, kap_session)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "not yet acknowledged" in page
    assert db.session.get(DosingSession, kap_session.id).discharged_at is None

    # Acknowledged is not settled: the latest reading is still out of range.
    client.post(url(kap_session, f"vitals/{vital.id}/acknowledge"), data={"note": "O2 given"})
    response = _discharge(client, kap_session, version=kap_session.version)
    assert response.status_code == 422
    assert "still outside the protocol&#39;s limits" in response.get_data(as_text=True)
    assert db.session.get(DosingSession, kap_session.id).discharged_at is None

    client.post(
        url(kap_session, "vitals"),
        data={"systolic": "138", "diastolic": "84", "heart_rate": "88", "spo2": "97"},
    )
    # Each vital is judged by its own latest reading: the temperature is not rechecked yet.
    response = _discharge(client, kap_session)
    assert response.status_code == 422 and "Temperature" in response.get_data(as_text=True)
    client.post(url(kap_session, "vitals"), data={"temperature_c": "37.4"})
    assert _discharge(client, kap_session).status_code == 302
    assert db.session.get(DosingSession, kap_session.id).discharged_at is not None


def test_an_out_of_range_but_not_critical_reading_flags_without_an_alert(
    client, login_as, team, db, kap_session
):
    login_as(team["clinician"])
    client.post(url(kap_session, "vitals"), data={"systolic": "170", "diastolic": "95"})
    assert db.session.scalar(sa.select(VitalSign)).flags
    assert count(db, Alert) == 0


def test_vital_signs_within_limits_is_worked_out_not_ticked(
    client, login_as, team, db, kap_session
):
    protocol = kap_session.course.protocol
    assert "vitals_within_limits" not in {c.id for c in protocol.discharge_criteria}
    login_as(team["clinician"])
    page = client.get(url(kap_session)).get_data(as_text=True)
    assert "Vital signs within the protocol's limits:</strong> not yet" in page
    assert "No vital signs are recorded" in page


# --- instruments and the gate to dosing ----------------------------------------------------


def _phq9(client, course, q9):
    data = {f"item_q{i}": "0" for i in range(1, 9)}
    data.update(item_q9=str(q9), timepoint="baseline", password=TEST_PASSWORD)
    return client.post(
        f"/measures/courses/{course.id}/new?instrument=phq9", data=data, follow_redirects=True
    )


def test_phq9_item_9_alerts_whatever_the_total_and_asks_for_the_cssrs(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, KAP)
    login_as(team["clinician"])
    page = _phq9(client, course, 3).get_data(as_text=True)
    assert "PHQ-9 recorded: 3 (Minimal)" in page
    assert "Give the C-SSRS now" in page
    [alert] = db.session.scalars(sa.select(Alert)).all()
    assert (alert.kind, alert.severity) == (AlertKind.SUICIDE_RISK, Severity.CRITICAL)
    unmet = dict(db.session.get(Course, course.id).gates())[Phase.DOSING]
    assert "1 suicide-risk alert waits for a supervisor's safety plan or clearance" in unmet


def test_phq9_item_9_at_zero_raises_nothing(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, KAP)
    login_as(team["clinician"])
    _phq9(client, course, 0)
    assert count(db, Alert) == 0


def test_a_moderate_cssrs_holds_the_gate_until_a_supervisor_documents_a_safety_plan(
    client, login_as, team, db
):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, KAP)
    login_as(team["clinician"])
    data = {"item_q1": "1", "item_q2": "1", "item_q3": "1", "item_q4": "0", "item_q5": "0"}
    data.update(item_q6="0", timepoint="baseline", password=TEST_PASSWORD)
    client.post(f"/measures/courses/{course.id}/new?instrument=cssrs", data=data)
    alert = db.session.scalar(sa.select(Alert))
    assert alert.kind == AlertKind.SUICIDE_RISK and "moderate" in alert.message
    assert any(
        "suicide-risk" in u for u in dict(db.session.get(Course, course.id).gates())[Phase.DOSING]
    )
    # An override is the only way past it, and the supervisor must still close the alert.
    client.post("/logout")
    login_as(team["supervisor"])
    refused = client.post(
        f"/supervision/alerts/{alert.id}/acknowledge",
        data={"resolution": "acknowledged", "note": "Seen"},
        follow_redirects=True,
    )
    assert "closes with a documented safety plan" in refused.get_data(as_text=True)
    assert db.session.get(Alert, alert.id).acknowledged_at is None
    client.post(
        f"/supervision/alerts/{alert.id}/acknowledge",
        data={"resolution": "safety_plan", "note": "Stanley-Brown safety plan written with her."},
    )
    closed = db.session.get(Alert, alert.id)
    assert closed.resolution == Resolution.SAFETY_PLAN and closed.acknowledged_at is not None
    unmet = dict(db.session.get(Course, course.id).gates())[Phase.DOSING]
    assert not any("suicide-risk" in u for u in unmet)


# --- adverse events ------------------------------------------------------------------------


def _adverse_event(client, session, **data):
    body = {
        "description": "Cardiac arrest",
        "severity": "5",
        "relatedness": "possible",
        "action_taken": "CPR, ambulance",
        "outcome": "fatal",
    }
    body.update(data)
    return client.post(url(session, "adverse-events"), data=body)


@pytest.mark.parametrize(
    ("grade", "criteria", "outcome"),
    [("5", [], "fatal"), ("4", [], "recovering"), ("5", ["life_threatening"], "fatal")],
)
def test_grade_4_and_5_events_cannot_be_saved_as_not_serious(
    client, login_as, team, db, kap_session, grade, criteria, outcome
):
    login_as(team["clinician"])
    response = _adverse_event(
        client, kap_session, severity=grade, seriousness=criteria, outcome=outcome
    )
    assert response.status_code == 422
    assert "21 CFR 312.32" in response.get_data(as_text=True)
    assert count(db, AdverseEvent) == 0 and count(db, Alert) == 0


def test_a_serious_event_raises_a_critical_alert_with_its_criteria(
    client, login_as, team, db, kap_session
):
    login_as(team["clinician"])
    response = _adverse_event(
        client, kap_session, severity="4", seriousness=["life_threatening"], outcome="recovering"
    )
    assert response.status_code == 302
    event = db.session.scalar(sa.select(AdverseEvent))
    assert event.serious and event.seriousness_criteria == ["life_threatening"]
    alert = db.session.scalar(sa.select(Alert))
    assert alert.severity == Severity.CRITICAL and "Life-threatening" in alert.message


def test_an_outcome_is_followed_up_by_appended_updates_even_after_signing(
    client, login_as, team, db
):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"], complete=True)
    event = dosing_model.record_adverse_event(
        session,
        onset_at=session.occurred_at + timedelta(minutes=30),
        description="Panic with hyperventilation",
        severity=2,
        seriousness_criteria=[],
        relatedness=dosing_model.Relatedness.PROBABLE,
        action_taken="Reassurance",
        outcome=dosing_model.Outcome.RECOVERING,
        by=team["clinician"],
    )
    db.session.commit()
    from psiflow.domain.signing import Meaning
    from psiflow.models.records import sign_record

    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    login_as(team["clinician"])
    prefix = f"follow-up-{event.id}"
    response = client.post(
        url(session, f"adverse-events/{event.id}/follow-up"),
        data={f"{prefix}-outcome": "recovered", f"{prefix}-note": "Called day 1: settled."},
    )
    assert response.status_code == 302
    update = db.session.scalar(sa.select(AdverseEventUpdate))
    assert update.outcome == "recovered" and update.adverse_event_id == event.id
    assert db.session.get(AdverseEvent, event.id).outcome == "recovering"  # the original stands
    page = client.get(url(session)).get_data(as_text=True)
    assert "Called day 1: settled." in page and "at entry: Recovering / resolving" in page
    printed = client.get(url(session, "record")).get_data(as_text=True)
    assert "Recovering / resolving (at entry)" in printed and "Called day 1: settled." in printed
    # No note, nothing appended.
    client.post(
        url(session, f"adverse-events/{event.id}/follow-up"),
        data={f"{prefix}-outcome": "recovered", f"{prefix}-note": ""},
    )
    assert count(db, AdverseEventUpdate) == 1


def test_another_caseload_cannot_follow_up_an_event(client, login_as, team, db, kap_session):
    event = dosing_model.record_adverse_event(
        kap_session,
        onset_at=None,
        description="Nausea",
        severity=1,
        seriousness_criteria=[],
        relatedness=dosing_model.Relatedness.PROBABLE,
        action_taken="",
        outcome=dosing_model.Outcome.RECOVERING,
        by=team["clinician"],
    )
    db.session.commit()
    login_as(team["outsider"])
    prefix = f"follow-up-{event.id}"
    response = client.post(
        url(kap_session, f"adverse-events/{event.id}/follow-up"),
        data={f"{prefix}-outcome": "recovered", f"{prefix}-note": "x"},
    )
    assert response.status_code == 404
    assert count(db, AdverseEventUpdate) == 0


# --- emergency end -------------------------------------------------------------------------


def test_an_emergency_end_ends_the_session_holds_the_course_and_alerts(
    client, login_as, team, db, kap_session
):
    login_as(team["clinician"])
    data = {
        "reason": "Seizure lasting two minutes",
        "transferred_to": "St Mary's emergency department",
        "transferred_by": "Ambulance crew, with Dr Lee",
        "notified": "911; supervisor by phone",
    }
    assert (
        client.post(url(kap_session, "end-early"), data={**data, "reason": ""}).status_code == 422
    )
    assert db.session.get(DosingSession, kap_session.id).ended_early_at is None
    response = client.post(url(kap_session, "end-early"), data=data)
    assert response.status_code == 302
    session = db.session.get(DosingSession, kap_session.id)
    assert session.ended_early_at is not None and session.discharged_at is None
    course = db.session.get(Course, session.course_id)
    assert course.phase == Phase.ON_HOLD
    hold = db.session.scalar(
        sa.select(PhaseTransition).where(PhaseTransition.to_phase == Phase.ON_HOLD)
    )
    assert "Seizure" in hold.reason
    alert = db.session.scalar(sa.select(Alert))
    assert (alert.kind, alert.severity) == (AlertKind.EMERGENCY_END, Severity.CRITICAL)
    # No minimum duration, no discharge: the record can be signed with the transfer in it
    # once what the room did record is complete (checklist before and during, facilitators).
    gaps = session.missing_for_signing()
    assert not any("Discharge" in g or "minimum monitoring" in g for g in gaps)
    page = client.get(url(kap_session)).get_data(as_text=True)
    assert "St Mary&#39;s emergency department" in page
    assert "End the session as an emergency" not in page
    printed = client.get(url(kap_session, "record")).get_data(as_text=True)
    assert "Ended early as an emergency" in printed and "Ambulance crew, with Dr Lee" in printed
    # Discharge is refused once the session has ended.
    assert _discharge(client, kap_session).status_code == 422


# --- alerts people notice ------------------------------------------------------------------


def test_the_supervisors_navigation_counts_open_alerts_and_the_board_leads_with_critical_ones(
    client, login_as, team, db, kap_session
):
    course = kap_session.course
    raise_alert(course, AlertKind.SAFETY_CHECK_IN, "Poor sleep.")
    raise_alert(course, AlertKind.VITALS, "Critical vital signs: SpO2 82 %")
    # Another team's critical alert is neither counted nor shown.
    elsewhere = gen_course(gen_patient(team["outsider"]), Phase.DOSING, protocol_key=KAP)
    raise_alert(elsewhere, AlertKind.VITALS, "Critical vital signs: another team's patient")
    db.session.commit()
    login_as(team["supervisor"])
    board = client.get("/").get_data(as_text=True)
    assert 'data-open-alerts="2"' in board and "1 critical" in board
    assert "Critical safety alerts waiting" in board and "Critical vital signs" in board
    assert elsewhere.patient.display_name not in board
    assert 'data-open-alerts="2"' in client.get("/password").get_data(as_text=True)
    page = client.get("/supervision/alerts").get_data(as_text=True)
    assert page.index(">Critical</h2>") < page.index(">Warning</h2>")
    client.post("/logout")
    login_as(team["clinician"])
    assert "data-open-alerts" not in client.get("/").get_data(as_text=True)
    assert "Critical safety alerts waiting" not in client.get("/").get_data(as_text=True)


def test_a_trainees_practice_alert_stays_apart_from_the_real_counts_and_lists(
    client, login_as, team, db, kap_session
):
    raise_alert(kap_session.course, AlertKind.VITALS, "Critical vital signs: real patient")
    practice = gen_course(
        gen_patient(team["trainee"], display_name="Practice Pat"), Phase.DOSING, protocol_key=KAP
    )
    raise_alert(practice, AlertKind.VITALS, "Critical vital signs: SpO2 84 % (scenario)")
    db.session.commit()
    login_as(team["supervisor"])
    board = client.get("/").get_data(as_text=True)
    assert 'data-open-alerts="1"' in board  # the real one only
    assert "Practice Pat" not in board
    real = client.get("/supervision/alerts").get_data(as_text=True)
    assert "Practice Pat" not in real and "1 open alert" in real
    apart = client.get("/supervision/alerts?practice=1").get_data(as_text=True)
    assert "Practice safety alerts" in apart and "PRACTICE" in apart
    assert "Practice Pat" in apart and kap_session.course.patient.display_name not in apart


def test_a_contraindication_alert_closes_itself_once_its_flags_are_cleared(
    client, login_as, team, db
):
    from tests.factories import gen_signed_screening_with_flags

    course, flags = gen_signed_screening_with_flags(team, ["lithium", "bipolar_i"])
    alert = db.session.scalar(sa.select(Alert))
    assert alert.severity == Severity.INFORMATION
    login_as(team["supervisor"])
    for i, flag in enumerate(flags):
        client.post(
            f"/preparation/flags/{flag.id}/clear",
            data={"rationale": "Reviewed with psychiatry.", "password": TEST_PASSWORD},
        )
        closed = db.session.get(Alert, alert.id)
        if i < len(flags) - 1:
            assert closed.acknowledged_at is None  # one flag still waits
    closed = db.session.get(Alert, alert.id)
    assert closed.resolution == Resolution.CAUSE_RESOLVED
    assert "Every contraindication flag" in closed.acknowledgement
    assert count(db, ScreeningFlag, ScreeningFlag.cleared_at.is_(None)) == 0


@pytest.mark.parametrize("intruder", ["outsider", "trainee", "other_supervisor"])
def test_no_one_outside_the_care_team_ends_a_session_early(
    client, login_as, team, db, kap_session, intruder
):
    login_as(team[intruder])
    response = client.post(
        url(kap_session, "end-early"),
        data={"reason": "x", "transferred_to": "x", "transferred_by": "x", "notified": "x"},
    )
    assert response.status_code == 404
    assert db.session.get(DosingSession, kap_session.id).ended_early_at is None
    assert db.session.get(Course, kap_session.course_id).phase == Phase.DOSING
    assert count(db, Alert) == 0
