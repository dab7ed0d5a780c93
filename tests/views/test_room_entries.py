"""Entries sent from the session room with a key and the time they were made: a retry never
records twice, and an entry sent late keeps the time it was made."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.models import (
    AdverseEvent,
    AdverseEventUpdate,
    DoseAdministration,
    EntryReceipt,
    SessionAnswer,
    SessionEvent,
    VitalSign,
)
from psiflow.models.types import utcnow
from tests.conftest import AuthActions
from tests.factories import gen_course, gen_dosing_session, gen_patient

PSILOCYBIN = "psilocybin-single-dose@1.0"


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def session(db, team):
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    course = gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN)
    return gen_dosing_session(course, team["clinician"], complete=False, hours_ago=2)


def url(session, action=""):
    return f"/dosing-sessions/{session.id}" + (f"/{action}" if action else "")


def key() -> str:
    return str(uuid.uuid4())


def iso(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def test_the_same_key_twice_records_once_and_answers_the_same(client, login_as, team, session, db):
    login_as(team["clinician"])
    entry = {"heart_rate": 88, "entry_key": key(), "made_at": iso(utcnow())}
    first = client.post(url(session, "vitals"), data=entry)
    again = client.post(url(session, "vitals"), data=entry)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert (first.headers["X-Entry-Receipt"], again.headers["X-Entry-Receipt"]) == (
        "recorded",
        "repeated",
    )
    assert count(db, VitalSign) == 1
    receipt = db.session.scalar(sa.select(EntryReceipt))
    vital = db.session.scalar(sa.select(VitalSign))
    assert (receipt.entry_type, receipt.entry_id, receipt.user_id) == (
        "vital_signs",
        vital.id,
        team["clinician"].id,
    )
    # The repeated answer says what the first said.
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "Vital signs recorded." in page


@pytest.mark.parametrize(
    ("action", "data", "model"),
    [
        ("answers", {"kind": "checklist", "item_id": "room_prepared", "value": "1"}, SessionAnswer),
        ("events", {"kind": "peak"}, SessionEvent),
        ("vitals", {"heart_rate": 70}, VitalSign),
        (
            "adverse-events",
            {
                "description": "Nausea",
                "severity": 1,
                "relatedness": "probable",
                "action_taken": "none",
                "outcome": "recovered",
            },
            AdverseEvent,
        ),
    ],
)
def test_every_entry_kind_is_recorded_once_per_key(
    client, login_as, team, session, db, action, data, model
):
    login_as(team["clinician"])
    entry = {**data, "entry_key": key(), "made_at": iso(utcnow() - timedelta(minutes=3))}
    for _ in range(3):
        assert client.post(url(session, action), data=entry).status_code == 302
    assert count(db, model) == 1 and count(db, EntryReceipt) == 1


def test_a_dose_and_a_follow_up_are_recorded_once_per_key(client, login_as, team, session, db):
    login_as(team["clinician"])
    dose = {"kind": "initial", "amount": 25, "lot_number": "PSI-1", "entry_key": key()}
    assert client.post(url(session, "doses"), data=dose).status_code == 302
    assert client.post(url(session, "doses"), data=dose).status_code == 302
    assert count(db, DoseAdministration) == 1
    client.post(
        url(session, "adverse-events"),
        data={
            "description": "Headache",
            "severity": 1,
            "relatedness": "possible",
            "action_taken": "water",
            "outcome": "not_recovered",
        },
    )
    event = db.session.scalar(sa.select(AdverseEvent))
    follow_up = {
        f"follow-up-{event.id}-outcome": "recovered",
        f"follow-up-{event.id}-note": "Gone after an hour",
        "entry_key": key(),
    }
    path = url(session, f"adverse-events/{event.id}/follow-up")
    assert client.post(path, data=follow_up).status_code == 302
    assert client.post(path, data=follow_up).headers["X-Entry-Receipt"] == "repeated"
    assert count(db, AdverseEventUpdate) == 1


def test_two_users_may_send_the_same_key_each_records_their_own(app, team, session, db, login_as):
    first = login_as(team["clinician"])
    second = app.test_client()
    assert AuthActions(second).login(team["clinician2"]).status_code == 302
    shared = key()
    assert first.post(url(session, "events"), data={"kind": "onset", "entry_key": shared})
    response = second.post(url(session, "events"), data={"kind": "peak", "entry_key": shared})
    assert response.headers["X-Entry-Receipt"] == "recorded"
    kinds = db.session.scalars(sa.select(SessionEvent.kind).order_by(SessionEvent.id)).all()
    assert [k.value for k in kinds] == ["onset", "peak"]


@pytest.mark.parametrize(
    "forged",
    [
        "1",
        "not-a-key",
        "' OR 1=1 --",
        str(uuid.uuid4()).upper(),
        str(uuid.uuid4()) + "0",
        "x" * 5000,
        str(uuid.uuid1()),
    ],
)
def test_a_key_the_page_does_not_make_is_refused_and_nothing_recorded(
    client, login_as, team, session, db, forged
):
    login_as(team["clinician"])
    response = client.post(url(session, "vitals"), data={"heart_rate": 70, "entry_key": forged})
    assert response.status_code == 400
    assert "nothing was recorded" in response.get_data(as_text=True)
    assert count(db, VitalSign) == 0 and count(db, EntryReceipt) == 0


def test_a_key_sent_again_to_another_entry_is_refused(client, login_as, team, session, db):
    login_as(team["clinician"])
    used = key()
    client.post(url(session, "events"), data={"kind": "onset", "entry_key": used})
    response = client.post(url(session, "vitals"), data={"heart_rate": 70, "entry_key": used})
    assert response.status_code == 400
    assert count(db, VitalSign) == 0


def test_a_refused_entry_leaves_no_receipt_so_the_corrected_one_is_recorded(
    client, login_as, team, session, db
):
    login_as(team["clinician"])
    entry_key = key()
    refused = client.post(url(session, "vitals"), data={"heart_rate": 900, "entry_key": entry_key})
    assert refused.status_code == 422 and count(db, EntryReceipt) == 0
    fixed = client.post(url(session, "vitals"), data={"heart_rate": 90, "entry_key": entry_key})
    assert fixed.status_code == 302 and count(db, VitalSign) == 1


def test_an_entry_without_a_key_works_as_before(client, login_as, team, session, db):
    login_as(team["clinician"])
    for _ in range(2):
        assert client.post(url(session, "events"), data={"kind": "onset"}).status_code == 302
    assert count(db, SessionEvent) == 2 and count(db, EntryReceipt) == 0


# --- the time an entry was made ------------------------------------------------------------


def test_an_entry_sent_late_keeps_the_time_it_was_made(client, login_as, team, session, db):
    login_as(team["clinician"])
    made = utcnow().replace(microsecond=0) - timedelta(minutes=40)
    for action, data in [
        ("vitals", {"heart_rate": 72}),
        ("events", {"kind": "peak"}),
        ("answers", {"kind": "checklist", "item_id": "room_prepared", "value": "1"}),
    ]:
        entry = {**data, "entry_key": key(), "made_at": iso(made)}
        assert client.post(url(session, action), data=entry).status_code == 302
    assert db.session.scalar(sa.select(VitalSign.taken_at)) == made
    assert db.session.scalar(sa.select(SessionEvent.at)) == made
    assert db.session.scalar(sa.select(SessionAnswer.recorded_at)) == made
    # When it reached the server is kept too.
    assert db.session.scalar(sa.select(VitalSign.recorded_at)) > made + timedelta(minutes=39)


def test_a_time_typed_in_the_form_wins_over_the_time_it_was_made(
    client, login_as, team, session, db
):
    login_as(team["clinician"])
    typed = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=30)
    from tests.views.test_sessions import local

    entry = {"kind": "onset", "at": local(typed), "entry_key": key(), "made_at": iso(utcnow())}
    assert client.post(url(session, "events"), data=entry).status_code == 302
    assert db.session.scalar(sa.select(SessionEvent.at)) == typed


@pytest.mark.parametrize(
    ("made", "says"),
    [
        (timedelta(minutes=30), "made in the future"),
        (-timedelta(hours=3), "before the session started"),
    ],
)
def test_a_time_made_that_cannot_be_is_refused_beside_the_field(
    client, login_as, team, session, db, made, says
):
    login_as(team["clinician"])
    entry = {"heart_rate": 70, "entry_key": key(), "made_at": iso(utcnow() + made)}
    response = client.post(url(session, "vitals"), data=entry)
    assert response.status_code == 422
    assert says in response.get_data(as_text=True)
    assert count(db, VitalSign) == 0 and count(db, EntryReceipt) == 0


def test_an_entry_made_more_than_a_day_ago_is_refused(client, login_as, team, db):
    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=30)
    login_as(team["clinician"])
    entry = {"kind": "peak", "entry_key": key(), "made_at": iso(utcnow() - timedelta(hours=25))}
    response = client.post(url(session, "events"), data=entry)
    assert response.status_code == 422
    assert "more than 24 hours ago" in response.get_data(as_text=True)
    assert count(db, SessionEvent) == 0


@pytest.mark.parametrize("made_at", ["yesterday", "2026-12-07T10:00:00", "2026-13-45T99:00Z"])
def test_a_time_made_that_cannot_be_read_is_refused(client, login_as, team, session, db, made_at):
    login_as(team["clinician"])
    entry = {"heart_rate": 70, "entry_key": key(), "made_at": made_at}
    response = client.post(url(session, "vitals"), data=entry)
    assert response.status_code == 400
    assert "could not be read" in response.get_data(as_text=True)
    assert count(db, VitalSign) == 0
