"""The session room's record through the web: music, both facilitators signing, the
supervisor's attestation, the discharge rule, the pickup and adverse-event follow-ups."""

import dataclasses
from datetime import datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from psiflow.domain.dosing import DoseKind, Outcome, Relatedness
from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning, RecordStatus
from psiflow.models import Course, DosingSession, SessionEvent, SetIntake, Signature
from psiflow.models import dosing as dosing_model
from psiflow.models.records import sign_record
from psiflow.models.types import utcnow
from tests.conftest import AuthActions
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient

PSILOCYBIN = "psilocybin-single-dose@1.0"
MDMA = "mdma-three-session@1.0"
ZONE = ZoneInfo("America/Los_Angeles")  # the test clinic's zone


def url(session, action=""):
    return f"/dosing-sessions/{session.id}" + (f"/{action}" if action else "")


def sign_url(session):
    return f"/records/dosing_session/{session.id}/sign"


def review_url(session):
    return f"/supervision/reviews/dosing_session/{session.id}"


@pytest.fixture
def patient(db, team):
    return gen_patient(team["clinician"], co_facilitator=team["clinician2"])


@pytest.fixture
def open_session(db, team, patient):
    course = gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN)
    return gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)


@pytest.fixture
def pair_session(db, team, patient):
    """A complete psilocybin session with both of the patient's clinicians in the room."""
    course = gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"], co_facilitator=team["clinician2"])
    db.session.commit()
    return session


def _signatures(db, session):
    rows = db.session.execute(
        sa.select(Signature.meaning, Signature.signer_id)
        .where(Signature.record_type == "dosing_session", Signature.record_id == session.id)
        .order_by(Signature.id)
    )
    return [tuple(row) for row in rows]


# --- music ---------------------------------------------------------------------------------


def test_a_music_change_carries_what_was_played_onto_the_page_and_the_print(
    client, login_as, team, db, open_session
):
    login_as(team["clinician"])
    live = client.get(url(open_session)).get_data(as_text=True)
    assert 'id="music"' in live and "data-room-entry" in live
    refused = client.post(url(open_session, "events"), data={"kind": "music_change"})
    assert refused.status_code == 422
    assert "Say what is playing now" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SessionEvent)) == 0
    response = client.post(
        url(open_session, "events"),
        data={
            "kind": "music_change",
            "playlist": "Johns Hopkins 2.0",
            "track": "Lux Aeterna",
            "note": "",
        },
    )
    assert response.status_code == 302
    event = db.session.scalar(sa.select(SessionEvent))
    assert (event.playlist, event.track) == ("Johns Hopkins 2.0", "Lux Aeterna")
    line = "Playlist: Johns Hopkins 2.0 · Track: Lux Aeterna"
    assert line in client.get(url(open_session)).get_data(as_text=True)
    printed = client.get(url(open_session, "record")).get_data(as_text=True)
    assert line in printed
    assert '<h2 id="rec-music">Music</h2>' in printed and "<td>Lux Aeterna</td>" in printed


def test_an_old_music_change_with_only_a_note_still_reads(client, login_as, team, db, open_session):
    dosing_model.record_event(
        open_session,
        dosing_model.EventKind.MUSIC_CHANGE,
        None,
        "Switched to the quiet set",
        team["clinician"],
    )
    db.session.commit()
    login_as(team["clinician"])
    assert "Switched to the quiet set" in client.get(url(open_session)).get_data(as_text=True)


# --- both facilitators sign ----------------------------------------------------------------


def test_both_facilitators_present_sign_each_with_their_own_password(
    app, client, login_as, team, db, pair_session
):
    login_as(team["clinician"])
    client.post(
        sign_url(pair_session), data={"sign-meaning": "authored", "sign-password": TEST_PASSWORD}
    )
    course = db.session.get(Course, pair_session.course_id)
    assert not course.facts().dosing_session_signed  # one signature of two
    page = client.get(f"/patients/{pair_session.course.patient_id}").get_data(as_text=True)
    assert "Awaiting a signature" in page
    second = app.test_client()
    AuthActions(second).login(team["clinician2"])
    # The second facilitator cannot sign as the author, in someone else's name.
    second.post(
        sign_url(pair_session), data={"sign-meaning": "authored", "sign-password": TEST_PASSWORD}
    )
    # Nor with the first facilitator's password, or none.
    second.post(
        sign_url(pair_session), data={"sign-meaning": "co_facilitated", "sign-password": "x"}
    )
    assert _signatures(db, pair_session) == [(Meaning.AUTHORED, team["clinician"].id)]
    second.post(
        sign_url(pair_session),
        data={"sign-meaning": "co_facilitated", "sign-password": TEST_PASSWORD},
    )
    assert _signatures(db, pair_session) == [
        (Meaning.AUTHORED, team["clinician"].id),
        (Meaning.CO_FACILITATED, team["clinician2"].id),
    ]
    assert db.session.get(Course, pair_session.course_id).facts().dosing_session_signed


def test_a_clinician_not_on_the_care_team_cannot_sign(client, login_as, team, db, pair_session):
    sign_record(pair_session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    login_as(team["outsider"])
    response = client.post(
        sign_url(pair_session),
        data={"sign-meaning": "co_facilitated", "sign-password": TEST_PASSWORD},
    )
    assert response.status_code == 404
    assert len(_signatures(db, pair_session)) == 1


def test_the_supervisor_cannot_sign_as_a_facilitator_through_the_signing_route(
    client, login_as, team, db, pair_session
):
    sign_record(pair_session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    login_as(team["supervisor"])
    for meaning in ("co_facilitated", "reviewed"):
        client.post(
            sign_url(pair_session), data={"sign-meaning": meaning, "sign-password": TEST_PASSWORD}
        )
    assert len(_signatures(db, pair_session)) == 1


# --- the supervisor attests ----------------------------------------------------------------


def _fully_signed(db, team, session):
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    sign_record(session, team["clinician2"], Meaning.CO_FACILITATED)
    db.session.commit()


def test_the_care_team_supervisor_attests_from_the_queue(client, login_as, team, db, pair_session):
    sign_record(pair_session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    login_as(team["supervisor"])
    patient_name = pair_session.course.patient.display_name
    assert patient_name not in client.get("/supervision/reviews").get_data(as_text=True)
    sign_record(pair_session, team["clinician2"], Meaning.CO_FACILITATED)
    db.session.commit()
    queue = client.get("/supervision/reviews").get_data(as_text=True)
    assert patient_name in queue and "Dosing session" in queue
    assert "1 notes awaiting your review" in queue  # the queue's count
    response = client.post(review_url(pair_session), data={"decision": "cosigned", "password": "x"})
    assert "password is not correct" in response.get_data(as_text=True)
    assert db.session.get(DosingSession, pair_session.id).status == RecordStatus.SIGNED
    response = client.post(
        review_url(pair_session), data={"decision": "cosigned", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert db.session.get(DosingSession, pair_session.id).status == RecordStatus.COSIGNED
    assert patient_name not in client.get("/supervision/reviews").get_data(as_text=True)


def test_attestation_by_a_supervisor_of_another_team_is_refused(
    client, login_as, team, db, pair_session
):
    _fully_signed(db, team, pair_session)
    login_as(team["other_supervisor"])
    assert client.get(review_url(pair_session)).status_code == 404
    response = client.post(
        review_url(pair_session), data={"decision": "cosigned", "password": TEST_PASSWORD}
    )
    assert response.status_code == 404
    assert db.session.get(DosingSession, pair_session.id).status == RecordStatus.SIGNED


def test_a_facilitator_cannot_attest_their_own_teams_record(
    client, login_as, team, db, pair_session
):
    _fully_signed(db, team, pair_session)
    login_as(team["clinician2"])
    response = client.post(
        review_url(pair_session), data={"decision": "cosigned", "password": TEST_PASSWORD}
    )
    assert response.status_code == 403
    assert db.session.get(DosingSession, pair_session.id).status == RecordStatus.SIGNED


# --- the discharge tile and the schedule before the dose -----------------------------------


def test_before_the_dose_the_tile_states_the_rule_and_the_schedule_its_offsets(
    client, login_as, team, db, open_session
):
    login_as(team["clinician"])
    page = client.get(url(open_session)).get_data(as_text=True)
    assert "300 min after the dose once given" in page
    assert "240 min minimum" not in page and "240 min after the dose once" not in page
    assert "+60 min after the dose" in page and "+360 min after the dose" in page
    assert page.count("Before the dose") == 1  # the baseline only


def test_after_the_dose_the_tile_states_the_time_and_its_rule(
    client, login_as, team, db, open_session
):
    dose_at = utcnow() - timedelta(minutes=30)
    dosing_model.record_dose(open_session, DoseKind.INITIAL, 25, "L-7", dose_at, team["clinician"])
    db.session.commit()
    login_as(team["clinician"])
    page = client.get(url(open_session)).get_data(as_text=True)
    earliest = (dose_at + timedelta(minutes=300)).astimezone(ZONE).strftime("%H:%M")
    given = dose_at.astimezone(ZONE).strftime("%H:%M")
    assert f'<p class="clock-value">{earliest}</p>' in page
    assert f"300 min after the dose at {given}, the minimum for 25 mg in total" in page


def test_after_the_dose_the_tile_says_a_supplemental_dose_would_not_change_it(
    client, login_as, team, db, patient
):
    course = gen_course(patient, Phase.DOSING, protocol_key=MDMA)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    dose_at = utcnow() - timedelta(minutes=30)
    dosing_model.record_dose(session, DoseKind.INITIAL, 120, "M-3", dose_at, team["clinician"])
    db.session.commit()
    login_as(team["clinician"])
    page = client.get(url(session)).get_data(as_text=True)
    given = dose_at.astimezone(ZONE).strftime("%H:%M")
    assert f"480 min after the dose at {given}, protocol minimum" in page
    assert "A supplemental dose (40–60 mg) would not change it." in page


def test_the_tile_says_when_a_supplemental_dose_would_move_the_earliest_discharge(app, team):
    """A clinic whose protocol gives a supplemental dose counted in Oregon's total: 25 mg keeps
    the patient 300 minutes, 15 mg more would keep them 360 (OAR 333-333-5250)."""
    from flask import render_template
    from flask_login import login_user

    from psiflow import catalog
    from psiflow.domain.dosing import DoseGiven, discharge_rule

    psilocybin = catalog.protocol(PSILOCYBIN)
    oregon = dataclasses.replace(
        psilocybin,
        dose=dataclasses.replace(
            psilocybin.dose,
            supplemental_allowed=True,
            supplemental_min=5.0,
            supplemental_max=15.0,
            supplemental_after_minutes=(60, 120),
        ),
    )
    dose_at = datetime(2026, 12, 7, 16, 45, tzinfo=ZONE)
    rule = discharge_rule(oregon, [DoseGiven(DoseKind.INITIAL, 25.0, dose_at)])
    with app.test_request_context():
        login_user(team["clinician"])
        tile = render_template(
            "sessions/_discharge_tile.html",
            sheet=SimpleNamespace(discharge_rule=rule, pickup=None),
            protocol=oregon,
        )
    assert '<p class="clock-value">21:45</p>' in tile
    assert "A supplemental dose (up to 15 mg) would make it 360 min: 22:45." in tile


# --- the pickup ----------------------------------------------------------------------------


def _signed_intake(db, team, course, pickup):
    intake = SetIntake(
        course=course,
        author_id=team["clinician"].id,
        intention="To grieve my father",
        emotional_readiness=7,
        transport_plan="Sister drives me home",
        pickup_time=pickup,
    )
    db.session.add(intake)
    sign_record(intake, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    return intake


def test_a_pickup_before_the_earliest_discharge_is_flagged_at_intake(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, PSILOCYBIN)
    course.planned_dosing_at = datetime(2026, 12, 20, 16, 45, tzinfo=ZONE)
    db.session.commit()
    login_as(team["clinician"])
    data = {
        "intention": "To grieve my father",
        "emotional_readiness": 7,
        "transport_plan": "Sister drives me home",
        "pickup_time": "17:00",
    }
    response = client.post(
        f"/preparation/courses/{course.id}/set-intake", data=data, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "Pickup at 17:00 is before the earliest discharge at 21:45" in page
    intake = db.session.scalar(sa.select(SetIntake))
    assert intake.pickup_time == time(17, 0)
    form = client.get(f"/preparation/set-intakes/{intake.id}/edit").get_data(as_text=True)
    assert 'id="pickup-warning"' in form and "285 minutes before the earliest discharge" in form
    data.update(pickup_time="22:00", version=intake.version)
    response = client.post(
        f"/preparation/set-intakes/{intake.id}/edit", data=data, follow_redirects=True
    )
    assert "before the earliest discharge" not in response.get_data(as_text=True)
    form = client.get(f"/preparation/set-intakes/{intake.id}/edit").get_data(as_text=True)
    assert 'id="pickup-ok"' in form


def test_a_pickup_before_the_earliest_discharge_is_flagged_on_the_live_page(
    client, login_as, team, db, open_session
):
    dose_at = utcnow() - timedelta(minutes=30)
    dosing_model.record_dose(open_session, DoseKind.INITIAL, 25, "L-7", dose_at, team["clinician"])
    # Picked up an hour after the dose: four hours too early.
    pickup = (dose_at + timedelta(minutes=60)).astimezone(ZONE).time().replace(second=0)
    _signed_intake(db, team, open_session.course, pickup)
    login_as(team["clinician"])
    page = client.get(url(open_session)).get_data(as_text=True)
    assert 'id="pickup-warning"' in page and "before the earliest discharge" in page
    assert "Before the earliest discharge</span>" in page


# --- adverse events followed up --------------------------------------------------------------


def test_a_signed_records_adverse_event_is_followed_up_and_printed(
    client, login_as, team, db, pair_session
):
    event = dosing_model.record_adverse_event(
        pair_session,
        onset_at=pair_session.occurred_at + timedelta(minutes=30),
        description="Panic with hyperventilation",
        severity=2,
        seriousness_criteria=[],
        relatedness=Relatedness.PROBABLE,
        action_taken="Reassurance",
        outcome=Outcome.RECOVERING,
        by=team["clinician"],
    )
    db.session.commit()
    _fully_signed(db, team, pair_session)
    login_as(team["clinician2"])
    live = client.get(url(pair_session)).get_data(as_text=True)
    assert "Add a follow-up of this event's outcome" in live
    prefix = f"follow-up-{event.id}"
    client.post(
        url(pair_session, f"adverse-events/{event.id}/follow-up"),
        data={f"{prefix}-outcome": "recovered", f"{prefix}-note": "Called day 1: settled."},
    )
    printed = client.get(url(pair_session, "record")).get_data(as_text=True)
    assert "Recovered / resolved as of" in printed and "Called day 1: settled." in printed
