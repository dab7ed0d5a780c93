"""The session room's record in the database: music rows, both facilitators' signatures and
the supervisor's attestation of every real patient's dosing record (issue 17)."""

from datetime import timedelta

import pytest

from psiflow.access import Role
from psiflow.domain.dosing import EventKind
from psiflow.domain.phases import Phase
from psiflow.domain.review import Decision, ReviewRefused
from psiflow.domain.signing import Meaning, RecordStatus, SigningRefused
from psiflow.extensions import db as _db
from psiflow.models import dosing, stored
from psiflow.models.records import sign_record
from psiflow.models.reviews import awaiting_review_page, awaiting_review_query, review_record
from tests.factories import gen_course, gen_dosing_session, gen_patient, gen_user

PSILOCYBIN = "psilocybin-single-dose@1.0"
MDMA = "mdma-three-session@1.0"


def _queue(supervisor):
    return [(t, i) for t, i, _ in _db.session.execute(awaiting_review_query(supervisor))]


def _set_workflow(session, **values):
    """Write a signed session's workflow columns behind the app's back (as an older version
    left them), then work out its course's stored values again, as an upgrade's refresh does."""
    table = dosing.DosingSession.__table__
    _db.session.execute(table.update().where(table.c.id == session.id).values(**values))
    stored.refresh(_db.session.connection(), [session.course_id])
    _db.session.commit()


@pytest.fixture
def patient(db, team):
    return gen_patient(team["clinician"], co_facilitator=team["clinician2"])


def _session(team, patient, *, pair=True, protocol=PSILOCYBIN):
    course = gen_course(patient, Phase.DOSING, protocol_key=protocol)
    co = team["clinician2"] if pair else None
    return gen_dosing_session(course, team["clinician"], co_facilitator=co)


# --- music ---------------------------------------------------------------------------------


def test_a_music_change_is_stored_with_playlist_and_track(db, team, patient):
    session = gen_dosing_session(
        gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN),
        team["clinician"],
        complete=False,
        hours_ago=1,
    )
    event = dosing.record_event(
        session,
        EventKind.MUSIC_CHANGE,
        None,
        " softer ",
        team["clinician"],
        playlist=" Hopkins 2.0 ",
        track="Lux Aeterna",
    )
    assert (event.playlist, event.track, event.note) == ("Hopkins 2.0", "Lux Aeterna", "softer")
    assert event.detail == "Playlist: Hopkins 2.0 · Track: Lux Aeterna · softer"
    with pytest.raises(dosing.SessionRefused) as refused:
        dosing.record_event(session, EventKind.MUSIC_CHANGE, None, "", team["clinician"])
    assert "playlist" in refused.value.errors
    # Only a music change carries them.
    peak = dosing.record_event(
        session, EventKind.PEAK, None, "", team["clinician"], playlist="ignored"
    )
    assert peak.playlist == ""


def test_events_without_music_hash_as_they_did_before_music_had_fields(db, team, patient):
    session = gen_dosing_session(
        gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN),
        team["clinician"],
        complete=False,
        hours_ago=1,
    )
    dosing.record_event(session, EventKind.ONSET, None, "", team["clinician"])
    dosing.record_event(
        session, EventKind.MUSIC_CHANGE, None, "", team["clinician"], track="Spiegel im Spiegel"
    )
    db.session.flush()
    onset, music = session.content()["events"]
    assert "playlist" not in onset and "track" not in onset
    assert music["track"] == "Spiegel im Spiegel" and "playlist" not in music
    # Signing workflow columns are not part of what a signature binds.
    assert "co_facilitator_signs" not in session.content()
    assert "attestation_due" not in session.content()


# --- both facilitators sign ----------------------------------------------------------------


def test_two_facilitators_present_both_sign_even_where_the_protocol_needs_one(db, team, patient):
    session = _session(team, patient)
    assert session.course.protocol.facilitators_required == 1
    assert session.pair_signing
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    assert session.co_facilitator_signs is True
    facts = dosing.dosing_facts([session.course])[session.course_id]
    assert facts["dosing_session_signed"] is False  # signed only when both have
    sign_record(session, team["clinician2"], Meaning.CO_FACILITATED)
    db.session.commit()
    facts = dosing.dosing_facts([session.course])[session.course_id]
    assert facts["dosing_session_signed"] is True


def test_one_facilitator_signs_alone(db, team, patient):
    session = _session(team, patient, pair=False)
    assert not session.pair_signing
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    assert session.co_facilitator_signs is False
    assert dosing.dosing_facts([session.course])[session.course_id]["dosing_session_signed"]
    with pytest.raises(SigningRefused):
        sign_record(session, team["clinician2"], Meaning.CO_FACILITATED)


def test_someone_not_present_cannot_sign_as_the_second_facilitator(db, team, patient):
    session = _session(team, patient)
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    with pytest.raises(SigningRefused) as refused:
        sign_record(session, team["outsider"], Meaning.CO_FACILITATED)
    assert refused.value.missing == [
        "Only the other facilitator recorded as present in the session co-signs it."
    ]


def test_a_session_signed_before_the_rule_keeps_the_protocol_pair_rule(db, team, patient):
    session = _session(team, patient)
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    # As a session signed before the rule was: the decision was never stored.
    _set_workflow(session, co_facilitator_signs=None, attestation_due=False)
    db.session.expire_all()
    legacy = db.session.get(dosing.DosingSession, session.id)
    assert not legacy.pair_signing  # psilocybin runs one facilitator
    assert dosing.dosing_facts([legacy.course])[legacy.course_id]["dosing_session_signed"]
    assert _queue(team["supervisor"]) == []  # nor does it flood the queue


# --- the supervisor attests ----------------------------------------------------------------


def test_a_real_patients_record_waits_for_attestation_once_both_signed(db, team, patient):
    session = _session(team, patient)
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    assert session.attestation_due
    assert _queue(team["supervisor"]) == []  # the second facilitator has not signed
    with pytest.raises(ReviewRefused) as early:
        review_record(session, team["supervisor"], Decision.COSIGNED)
    assert early.value.problems == ["The second facilitator signs before the supervisor attests."]
    sign_record(session, team["clinician2"], Meaning.CO_FACILITATED)
    db.session.commit()
    assert _queue(team["supervisor"]) == [("dosing_session", session.id)]
    rows, total = awaiting_review_page(team["supervisor"], 10, 0)
    assert total == 1 and rows[0].record_label == "Dosing session"
    assert _queue(team["other_supervisor"]) == []
    review_record(session, team["supervisor"], Decision.COSIGNED)
    db.session.commit()
    assert session.status == RecordStatus.COSIGNED
    assert _queue(team["supervisor"]) == []
    # Attested, it still counts as signed for the gates.
    assert dosing.dosing_facts([session.course])[session.course_id]["dosing_session_signed"]


def test_a_single_facilitators_record_waits_at_once(db, team, patient):
    session = _session(team, patient, pair=False)
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    assert _queue(team["supervisor"]) == [("dosing_session", session.id)]


def test_a_supervisor_of_another_team_cannot_attest(db, team, patient):
    session = _session(team, patient, pair=False)
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    with pytest.raises(ReviewRefused) as refused:
        review_record(session, team["other_supervisor"], Decision.COSIGNED)
    assert refused.value.problems == [
        "Only a supervisor of the patient's care team who was not in the room attests this record."
    ]
    assert session.status == RecordStatus.SIGNED


def test_a_supervisor_who_facilitated_does_not_attest_the_session(db, team, clinic):
    patient = gen_patient(team["clinician"], co_facilitator=team["supervisor"])
    course = gen_course(patient, Phase.DOSING, protocol_key=MDMA)
    session = gen_dosing_session(course, team["clinician"], co_facilitator=team["supervisor"])
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    sign_record(session, team["supervisor"], Meaning.CO_FACILITATED)
    with pytest.raises(ReviewRefused):
        review_record(session, team["supervisor"], Decision.COSIGNED)
    assert session.status == RecordStatus.SIGNED


def test_the_co_facilitators_supervisor_is_on_the_care_team_and_may_attest(db, team, clinic):
    second_team_lead = gen_user(Role.SUPERVISOR, clinic)
    colleague = gen_user(Role.CLINICIAN, clinic, supervisor=second_team_lead)
    patient = gen_patient(team["clinician"], co_facilitator=colleague)
    course = gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"])
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    review_record(session, second_team_lead, Decision.COSIGNED)
    assert session.status == RecordStatus.COSIGNED


def test_a_practice_record_goes_to_the_supervisor_as_trainee_work_not_attestation(db, team):
    course = gen_course(gen_patient(team["trainee"]), Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["trainee"])
    sign_record(session, team["trainee"], Meaning.AUTHORED)
    db.session.commit()
    assert session.needs_cosign and not session.attestation_due
    assert _queue(team["supervisor"]) == [("dosing_session", session.id)]


def test_a_record_both_attested_and_co_signed_is_queued_once(db, team, patient):
    # The queue asks the two ways a dosing record comes to wait apart: one record that waits
    # both ways is still one line.
    session = _session(team, patient, pair=False)
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    _set_workflow(session, needs_cosign=True, attestation_due=True)
    assert _queue(team["supervisor"]) == [("dosing_session", session.id)]
    assert awaiting_review_page(team["supervisor"], 10, 0)[1] == 1


def test_a_voided_record_leaves_the_queue(db, team, patient):
    from psiflow.models.records import void_record

    session = _session(team, patient, pair=False)
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    void_record(session, team["clinician"], "Wrong patient", now=session.occurred_at + timedelta(1))
    db.session.commit()
    assert _queue(team["supervisor"]) == []
