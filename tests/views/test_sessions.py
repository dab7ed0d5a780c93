"""The live dosing session through the browser's eyes: forms, refusals, signing, two tablets."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.domain.signing import RecordStatus
from psiflow.domain.vitals import Reading
from psiflow.models import (
    Alert,
    AlertKind,
    DoseAdministration,
    DosingSession,
    SessionAnswer,
    SessionEvent,
    VitalSign,
)
from psiflow.models.types import utcnow
from tests.conftest import AuthActions, count_queries
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient

PSILOCYBIN = "psilocybin-single-dose@1.0"
MDMA = "mdma-three-session@1.0"
ESKETAMINE = "esketamine-monitoring@1.0"
CLINIC_ZONE = ZoneInfo("America/Los_Angeles")  # the test clinic's zone (tests/factories.py)


def local(dt) -> str:
    """A UTC time as the tablet's datetime-local input sends it."""
    return dt.astimezone(CLINIC_ZONE).strftime("%Y-%m-%dT%H:%M")


def count(db, model, **where):
    query = sa.select(sa.func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalar(query)


@pytest.fixture
def course(db, team):
    return gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=PSILOCYBIN)


@pytest.fixture
def session(db, team, course):
    return gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)


def url(session, action=""):
    return f"/dosing-sessions/{session.id}" + (f"/{action}" if action else "")


# --- starting -------------------------------------------------------------------------------


def test_patient_page_offers_to_start_a_session_in_the_dosing_phase(
    client, login_as, team, course, db
):
    login_as(team["clinician"])
    page = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    assert "Dosing sessions" in page and "Start dosing session" in page
    response = client.post(f"/courses/{course.id}/dosing-sessions")
    session = db.session.scalar(
        sa.select(DosingSession).where(DosingSession.course_id == course.id)
    )
    assert response.status_code == 302 and response.headers["Location"] == url(session)
    page = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    assert "Continue the session in progress" in page and "Start dosing session" not in page


def test_no_session_starts_outside_the_dosing_phase(client, login_as, team, db):
    preparing = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION)
    login_as(team["clinician"])
    assert "Start dosing session" not in client.get(f"/patients/{preparing.patient_id}").get_data(
        as_text=True
    )
    response = client.post(f"/courses/{preparing.id}/dosing-sessions", follow_redirects=True)
    assert "starts only while the course is in dosing" in response.get_data(as_text=True)
    assert count(db, DosingSession) == 0


# --- checklist ------------------------------------------------------------------------------


def test_ticking_a_checklist_item_records_who_and_when(client, login_as, team, session, db):
    login_as(team["clinician"])
    response = client.post(
        url(session, "answers"),
        data={"kind": "checklist", "item_id": "room_prepared", "value": "1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#checklist-room_prepared")
    row = db.session.scalar(sa.select(SessionAnswer))
    assert (row.item_id, row.value, row.recorded_by_id) == (
        "room_prepared",
        True,
        team["clinician"].id,
    )
    page = client.get(url(session)).get_data(as_text=True)
    assert f"Done by {team['clinician'].name}" in page


def test_an_item_the_protocol_does_not_have_is_refused_on_the_page(
    client, login_as, team, session, db
):
    login_as(team["clinician"])
    response = client.post(
        url(session, "answers"),
        data={"kind": "checklist", "item_id": "rems_patient_enrolled", "value": "1"},
    )
    assert response.status_code == 422
    assert "This protocol has no such item." in response.get_data(as_text=True)
    assert count(db, SessionAnswer) == 0


# --- vitals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"systolic": 20, "diastolic": 10}, "systolic", "20 mmHg is not a possible reading"),
        ({"systolic": 400, "diastolic": 80}, "systolic", "400 mmHg is not a possible reading"),
        ({"heart_rate": 0}, "heart_rate", "0 bpm is not a possible reading"),
        ({"spo2": 101}, "spo2", "101 % is not a possible reading"),
    ],
)
def test_implausible_vitals_are_refused_beside_the_field(
    client, login_as, team, session, db, data, field, message
):
    login_as(team["clinician"])
    response = client.post(url(session, "vitals"), data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page and message in page
    assert count(db, VitalSign) == 0


def test_out_of_range_vitals_show_until_acknowledged_with_who_and_when(
    client, login_as, team, session, db
):
    login_as(team["clinician"])
    response = client.post(
        url(session, "vitals"), data={"systolic": 175, "diastolic": 95, "heart_rate": 90}
    )
    assert response.headers["Location"].endswith("#alerts")
    page = client.get(url(session)).get_data(as_text=True)
    assert "Out-of-range vital signs to acknowledge" in page
    assert "Systolic blood pressure 175 mmHg is above the limit of 160 mmHg" in page
    vital = db.session.scalar(sa.select(VitalSign))
    client.post(url(session, f"vitals/{vital.id}/acknowledge"), data={"note": "Repeat in 15"})
    vital = db.session.scalar(sa.select(VitalSign))
    assert vital.acknowledged_by_id == team["clinician"].id and vital.acknowledged_at
    page = client.get(url(session)).get_data(as_text=True)
    assert "Out-of-range vital signs to acknowledge" not in page
    assert f"Acknowledged by {team['clinician'].name}" in page
    record = client.get(url(session, "record")).get_data(as_text=True)
    assert f"(acknowledged by {team['clinician'].name}, " in record
    assert ": Repeat in 15)" in record and "175/95" in record


def test_a_reading_of_another_session_cannot_be_acknowledged_here(
    client, login_as, team, session, course, db
):
    other = gen_dosing_session(
        gen_course(gen_patient(team["clinician"]), Phase.DOSING),
        team["clinician"],
        complete=False,
        hours_ago=1,
    )
    from psiflow.domain.vitals import Reading
    from psiflow.models.dosing import record_vitals

    vital = record_vitals(other, Reading(systolic=200, diastolic=100), None, team["clinician"])
    login_as(team["clinician"])
    response = client.post(url(session, f"vitals/{vital.id}/acknowledge"), data={"note": "x"})
    assert response.status_code == 404
    assert db.session.get(VitalSign, vital.id).acknowledged_at is None


def test_next_reading_due_and_overdue_warning(client, login_as, team, course, db):
    from psiflow.domain.dosing import DoseKind
    from psiflow.domain.vitals import Reading
    from psiflow.models import dosing

    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=3)
    dose_at = utcnow() - timedelta(minutes=70)
    dosing.record_vitals(
        session,
        Reading(systolic=120, diastolic=80),
        dose_at - timedelta(minutes=5),
        team["clinician"],
    )
    dosing.record_dose(session, DoseKind.INITIAL, 25, "L-9", dose_at, team["clinician"])
    login_as(team["clinician"])
    page = client.get(url(session)).get_data(as_text=True)
    assert "60 min after dose" in page and "Overdue" in page
    assert 'class="clock-tile overdue"' in page


# --- doses, events, times -------------------------------------------------------------------


def test_a_dose_outside_the_protocol_range_is_refused(client, login_as, team, session, db):
    login_as(team["clinician"])
    response = client.post(
        url(session, "doses"), data={"kind": "initial", "amount": "40", "lot_number": "L1"}
    )
    assert response.status_code == 422
    assert "The dose in this protocol is 25 mg." in response.get_data(as_text=True)
    assert count(db, DoseAdministration) == 0
    response = client.post(
        url(session, "doses"), data={"kind": "initial", "amount": "25", "lot_number": "PSI-2025-07"}
    )
    assert response.status_code == 302
    dose = db.session.scalar(sa.select(DoseAdministration))
    assert (dose.substance, dose.amount, dose.unit, dose.route, dose.lot_number) == (
        "psilocybin",
        25,
        "mg",
        "oral",
        "PSI-2025-07",
    )


def test_a_time_before_the_session_started_is_refused(client, login_as, team, session, db):
    login_as(team["clinician"])
    early = local(session.occurred_at - timedelta(hours=2))
    response = client.post(url(session, "events"), data={"kind": "note", "note": "x", "at": early})
    assert response.status_code == 422
    assert "before the session started" in response.get_data(as_text=True)
    assert count(db, SessionEvent) == 0


def test_one_tap_events_are_appended_to_the_timeline(client, login_as, team, session, db):
    login_as(team["clinician"])
    for kind in ("onset", "peak"):
        assert client.post(url(session, "events"), data={"kind": kind}).status_code == 302
    # A music change says what was played (tests/views/test_room_records.py).
    music = {"kind": "music_change", "playlist": "Set A"}
    assert client.post(url(session, "events"), data=music).status_code == 302
    kinds = db.session.scalars(sa.select(SessionEvent.kind).order_by(SessionEvent.id)).all()
    assert [k.value for k in kinds] == ["onset", "peak", "music_change"]
    assert "Music change" in client.get(url(session)).get_data(as_text=True)


# --- adverse events -------------------------------------------------------------------------


def test_a_serious_adverse_event_raises_an_alert_at_once(
    client, login_as, team, session, course, db
):
    login_as(team["clinician"])
    response = client.post(
        url(session, "adverse-events"),
        data={
            "description": "Chest pain, ECG arranged",
            "severity": "3",
            "seriousness": ["hospitalisation", "important_medical_event"],
            "relatedness": "possible",
            "action_taken": "Emergency services called",
            "outcome": "recovering",
        },
    )
    assert response.status_code == 302
    alerts = db.session.scalars(sa.select(Alert).where(Alert.course_id == course.id)).all()
    assert [a.kind for a in alerts] == [AlertKind.SERIOUS_ADVERSE_EVENT]
    assert "Chest pain" in alerts[0].message
    page = client.get(url(session)).get_data(as_text=True)
    assert "Grade 3 – severe or medically significant" in page


def test_an_adverse_event_needs_a_grade_from_1_to_5(client, login_as, team, session, db):
    login_as(team["clinician"])
    response = client.post(
        url(session, "adverse-events"),
        data={
            "description": "Nausea",
            "severity": "7",
            "relatedness": "probable",
            "outcome": "recovered",
        },
    )
    assert response.status_code == 422
    assert count(db, Alert) == 0


# --- discharge and signing ------------------------------------------------------------------


def _ready_for_discharge(session, team, minutes_ago):
    from psiflow.domain.dosing import DoseKind
    from psiflow.models import dosing

    dosing.record_dose(
        session,
        DoseKind.INITIAL,
        25,
        "L1",
        utcnow() - timedelta(minutes=minutes_ago),
        team["clinician"],
    )
    # Discharge reads the vitals: a last reading within the protocol's limits.
    dosing.record_vitals(
        session,
        Reading(systolic=122, diastolic=78, heart_rate=70, spo2=98),
        None,
        team["clinician"],
    )


def _discharge_data(session, **overrides):
    data = {
        "version": session.version,
        "criteria": [c.id for c in session.course.protocol.discharge_criteria],
        "accompanied_by": "Partner, Sam",
        "as_planned": "yes",
    }
    data.update(overrides)
    return data


def test_discharge_is_refused_before_the_oregon_minimum(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=5)
    _ready_for_discharge(session, team, minutes_ago=280)
    login_as(team["clinician"])
    response = client.post(url(session, "discharge"), data=_discharge_data(session))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The minimum session for 25 mg is 300 minutes from the first dose" in page
    assert db.session.get(DosingSession, session.id).discharged_at is None


def test_a_departure_from_the_transport_plan_is_recorded_as_such(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=7)
    _ready_for_discharge(session, team, minutes_ago=320)
    login_as(team["clinician"])
    response = client.post(
        url(session, "discharge"), data=_discharge_data(session, as_planned="no")
    )
    assert "Describe how leaving differs" in response.get_data(as_text=True)
    response = client.post(
        url(session, "discharge"),
        data=_discharge_data(
            session, as_planned="no", deviation="Partner unwell; taxi booked by the clinic"
        ),
    )
    assert response.status_code == 302
    stored = db.session.get(DosingSession, session.id)
    assert stored.left_as_planned is False
    assert stored.transport_deviation == "Partner unwell; taxi booked by the clinic"
    page = client.get(url(session)).get_data(as_text=True)
    assert "Deviation from the plan:" in page


def test_signing_is_refused_with_the_list_of_what_is_missing(client, login_as, team, session, db):
    login_as(team["clinician"])
    page = client.get(url(session)).get_data(as_text=True)
    assert "Before this record can be signed, complete:" in page
    response = client.post(
        f"/records/dosing_session/{session.id}/sign",
        data={"sign-meaning": "authored", "sign-password": TEST_PASSWORD},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Not signed." in page and "The dose given (substance, amount, lot number, time)" in page
    assert db.session.get(DosingSession, session.id).status == RecordStatus.DRAFT


def test_both_facilitators_sign_a_pair_protocol_and_the_gate_opens(app, client, login_as, team, db):
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    course = gen_course(patient, Phase.DOSING, protocol_key=MDMA)
    session = gen_dosing_session(course, team["clinician"], co_facilitator=team["clinician2"])
    login_as(team["clinician"])
    client.post(
        f"/records/dosing_session/{session.id}/sign",
        data={"sign-meaning": "authored", "sign-password": TEST_PASSWORD},
    )
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Awaiting a signature" in page
    assert "Dosing session record signed (checklist, dose and discharge complete)" in page
    assert not db.session.get(type(course), course.id).facts().dosing_session_signed
    second = app.test_client()
    AuthActions(second).login(team["clinician2"])
    second.post(
        f"/records/dosing_session/{session.id}/sign",
        data={"sign-meaning": "co_facilitated", "sign-password": TEST_PASSWORD},
    )
    course = db.session.get(type(course), course.id)
    assert course.facts().dosing_session_signed
    gates = dict(course.gates())
    assert gates[Phase.INTEGRATION] == []
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Awaiting a signature" not in page
    assert '<span class="badge status-signed">Signed</span>' in page


# --- two tablets ----------------------------------------------------------------------------


@pytest.fixture
def two_tablets(app, team, login_as, client):
    login_as(team["clinician"])
    other = app.test_client()
    assert AuthActions(other).login(team["clinician2"]).status_code == 302
    return client, other


def test_vitals_from_two_tablets_at_once_are_both_kept(team, db, two_tablets):
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    session = gen_dosing_session(
        gen_course(patient, Phase.DOSING, protocol_key=MDMA),
        team["clinician"],
        complete=False,
        hours_ago=1,
    )
    first, second = two_tablets
    assert first.get(url(session)).status_code == 200
    assert second.get(url(session)).status_code == 200
    assert first.post(url(session, "vitals"), data={"heart_rate": 88}).status_code == 302
    assert second.post(url(session, "vitals"), data={"heart_rate": 91}).status_code == 302
    assert first.post(url(session, "events"), data={"kind": "onset"}).status_code == 302
    assert second.post(url(session, "events"), data={"kind": "peak"}).status_code == 302
    rates = db.session.scalars(sa.select(VitalSign.heart_rate).order_by(VitalSign.id)).all()
    assert rates == [88, 91] and count(db, SessionEvent) == 2


def test_a_stale_edit_is_refused_with_the_current_values_shown(team, db, two_tablets):
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    session = gen_dosing_session(
        gen_course(patient, Phase.DOSING, protocol_key=MDMA),
        team["clinician"],
        complete=False,
        hours_ago=1,
    )
    first, second = two_tablets
    seen = session.version  # both tablets load the page at this version
    both = [team["clinician"].id, team["clinician2"].id]
    response = first.post(
        url(session, "details"),
        data={
            "version": seen,
            "facilitator_ids": both,
            "notes": "Calm arrival; intention read aloud.",
        },
    )
    assert response.status_code == 302
    response = second.post(
        url(session, "details"),
        data={"version": seen, "facilitator_ids": both, "notes": "Second tablet's notes"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this session while you were editing it" in page
    assert "Calm arrival; intention read aloud." in page  # the current values, not theirs
    stored = db.session.get(DosingSession, session.id)
    assert stored.notes == "Calm arrival; intention read aloud."


def test_the_same_dose_recorded_from_two_tablets_is_kept_once(team, db, two_tablets):
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    session = gen_dosing_session(
        gen_course(patient, Phase.DOSING, protocol_key=MDMA),
        team["clinician"],
        complete=False,
        hours_ago=1,
    )
    first, second = two_tablets
    data = {"kind": "initial", "amount": "120", "lot_number": "MDMA-77"}
    assert first.post(url(session, "doses"), data=data).status_code == 302
    response = second.post(url(session, "doses"), data=data)
    assert response.status_code == 422
    assert "The initial dose is already recorded." in response.get_data(as_text=True)
    assert count(db, DoseAdministration) == 1


# --- access, printing, query counts ---------------------------------------------------------


@pytest.mark.parametrize("intruder", ["outsider", "other_supervisor", "trainee"])
def test_a_session_of_another_caseload_is_404_and_unchanged(
    client, login_as, team, session, db, intruder
):
    login_as(team[intruder])
    assert client.get(url(session)).status_code == 404
    assert client.get(url(session, "record")).status_code == 404
    for action, data in [
        ("vitals", {"heart_rate": 80}),
        ("events", {"kind": "onset"}),
        ("answers", {"kind": "checklist", "item_id": "room_prepared", "value": "1"}),
    ]:
        assert client.post(url(session, action), data=data).status_code == 404
    assert count(db, VitalSign) == count(db, SessionEvent) == count(db, SessionAnswer) == 0


def test_the_supervisor_sees_but_does_not_write_in_a_supervisees_session(
    client, login_as, team, session, db
):
    login_as(team["supervisor"])
    page = client.get(url(session)).get_data(as_text=True)
    assert "Record vital signs" not in page
    assert client.post(url(session, "vitals"), data={"heart_rate": 80}).status_code == 404


def test_the_printable_record_is_one_document(client, login_as, team, course, db):
    session = gen_dosing_session(course, team["clinician"])
    login_as(team["clinician"])
    page = client.get(url(session, "record")).get_data(as_text=True)
    assert "Dosing session record" in page and "LOT-1" in page
    assert "Setting checklist" in page and "Discharge" in page
    assert "REMS" not in page


def test_the_esketamine_record_also_prints_as_the_rems_monitoring_form(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=ESKETAMINE)
    session = gen_dosing_session(course, team["clinician"])
    login_as(team["clinician"])
    page = client.get(url(session, "record")).get_data(as_text=True)
    assert "REMS Patient Monitoring Form" in page
    assert "Currently taking a benzodiazepine" in page
    assert "Blood pressure before administration" in page and "120/78 mmHg" in page
    assert "from the first device to the end of monitoring" in page
    assert "125 minutes" in page  # 120-minute minimum + 5, from the factory


def test_live_page_queries_do_not_grow_with_the_readings(app, client, login_as, team, db):
    from psiflow.domain.vitals import Reading
    from psiflow.models import dosing

    def session_with(n):
        course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=MDMA)
        s = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=3)
        for i in range(n):
            vital = dosing.record_vitals(
                s,
                Reading(systolic=170, diastolic=80, heart_rate=80),
                s.occurred_at + timedelta(minutes=i),
                team["clinician"],
            )
            if i % 2:
                dosing.acknowledge_vital(vital, team["clinician2"], "ok")
            dosing.record_event(s, dosing.EventKind.NOTE, None, f"note {i}", team["clinician"])
        db.session.commit()
        return s.id

    few, many = session_with(3), session_with(30)
    login_as(team["clinician"])
    client.get(f"/dosing-sessions/{few}")  # warm up: first-request set-up is not the page
    with count_queries(db.engine) as small:
        assert client.get(f"/dosing-sessions/{few}").status_code == 200
    with count_queries(db.engine) as large:
        assert client.get(f"/dosing-sessions/{many}").status_code == 200
    assert small.count == large.count


def test_an_entry_posted_after_the_other_tablet_signed_is_refused_with_a_reason(
    client, login_as, team, course, db
):
    from psiflow.domain.signing import Meaning
    from psiflow.models.records import sign_record

    session = gen_dosing_session(course, team["clinician"])
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    login_as(team["clinician"])
    response = client.post(url(session, "vitals"), data={"heart_rate": 80})
    assert response.status_code == 422
    assert "This session is signed: add an addendum instead." in response.get_data(as_text=True)
    assert count(db, VitalSign) == 1  # the factory's baseline only
