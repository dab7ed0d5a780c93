"""The dosing-session record: entries, refusals, signing, locking and the gate facts."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from psiflow.domain.dosing import DoseKind, EventKind, Outcome, Relatedness
from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning, SigningRefused
from psiflow.domain.vitals import Reading
from psiflow.models import Alert, AlertKind, Course, VitalSign, dosing
from psiflow.models.courses import gather_facts
from psiflow.models.records import RecordLocked, sign_record, void_record
from psiflow.models.types import utcnow
from tests.factories import gen_course, gen_dosing_session, gen_patient

PSILOCYBIN = "psilocybin-single-dose@1.0"
MDMA = "mdma-three-session@1.0"


@pytest.fixture
def course(db, team):
    return gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=PSILOCYBIN)


@pytest.fixture
def pair_course(db, team):
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    return gen_course(patient, Phase.DOSING, protocol_key=MDMA)


def test_a_session_starts_only_in_the_dosing_phase_and_one_at_a_time(db, team):
    preparing = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION)
    with pytest.raises(dosing.SessionRefused, match="only while the course is in dosing"):
        dosing.start_session(preparing, team["clinician"])
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING)
    dosing.start_session(course, team["clinician"])
    db.session.flush()
    with pytest.raises(dosing.SessionRefused, match="already has a dosing session in progress"):
        dosing.start_session(course, team["clinician"])


def test_checklist_ticks_keep_who_and_when_and_the_latest_counts(db, team, course):
    session = gen_dosing_session(course, team["clinician"], complete=False)
    t = utcnow()
    dosing.record_answer(
        session, dosing.AnswerKind.CHECKLIST, "room_prepared", True, team["clinician"], now=t
    )
    dosing.record_answer(
        session,
        dosing.AnswerKind.CHECKLIST,
        "room_prepared",
        False,
        team["clinician2"],
        now=t + timedelta(seconds=5),
    )
    db.session.flush()
    rows = session.answer_rows()
    assert [(r.value, r.recorded_by_id) for r in rows] == [
        (True, team["clinician"].id),
        (False, team["clinician2"].id),
    ]
    state = dosing.current_answers(rows)
    assert state[dosing.AnswerKind.CHECKLIST, "room_prepared"].value is False


def test_an_item_the_protocol_does_not_have_is_refused(db, team, course):
    session = gen_dosing_session(course, team["clinician"], complete=False)
    with pytest.raises(dosing.SessionRefused) as refused:
        dosing.record_answer(
            session, dosing.AnswerKind.CHECKLIST, "rems_patient_enrolled", True, team["clinician"]
        )
    assert refused.value.errors == {"item_id": "This protocol has no such item."}


def test_out_of_range_vitals_are_flagged_until_acknowledged(db, team, course):
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    vital = dosing.record_vitals(
        session, Reading(systolic=172, diastolic=96, heart_rate=88), None, team["clinician"]
    )
    db.session.flush()
    assert vital.flags == ["Systolic blood pressure 172 mmHg is above the limit of 160 mmHg"]
    assert vital.needs_acknowledgement
    assert "Acknowledge 1 out-of-range vital sign reading(s)" in session.missing_for_signing()
    dosing.acknowledge_vital(vital, team["clinician2"], "Rechecked, anxious; repeat in 15 min")
    db.session.flush()
    assert not vital.needs_acknowledgement and vital.acknowledged_by_id == team["clinician2"].id
    with pytest.raises(dosing.SessionRefused, match="Already acknowledged by"):
        dosing.acknowledge_vital(vital, team["clinician"], "")


def test_an_impossible_reading_is_refused_and_nothing_is_saved(db, team, course):
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    with pytest.raises(dosing.SessionRefused) as refused:
        dosing.record_vitals(session, Reading(systolic=400, diastolic=80), None, team["clinician"])
    assert "systolic" in refused.value.errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VitalSign)) == 0


def test_a_serious_adverse_event_alerts_the_supervisor_at_once(db, team, course):
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    dosing.record_adverse_event(
        session,
        onset_at=None,
        description="Nausea",
        severity=1,
        seriousness_criteria=[],
        relatedness=Relatedness.PROBABLE,
        action_taken="",
        outcome=Outcome.RECOVERED,
        by=team["clinician"],
    )
    assert db.session.scalars(sa.select(Alert)).all() == []
    event = dosing.record_adverse_event(
        session,
        onset_at=None,
        description="Syncope with a fall",
        severity=3,
        seriousness_criteria=["hospitalisation"],
        relatedness=Relatedness.POSSIBLE,
        action_taken="Ambulance called",
        outcome=Outcome.RECOVERING,
        by=team["clinician"],
    )
    db.session.commit()
    alerts = db.session.scalars(sa.select(Alert).where(Alert.course_id == course.id)).all()
    assert [(a.kind, a.source_type, a.source_id) for a in alerts] == [
        (AlertKind.SERIOUS_ADVERSE_EVENT, "dosing_session", session.id)
    ]
    assert "Syncope with a fall" in alerts[0].message and event.course_id == course.id


def test_signing_is_refused_with_the_list_of_what_is_missing(db, team, course):
    session = gen_dosing_session(course, team["clinician"], complete=False)
    with pytest.raises(SigningRefused) as refused:
        sign_record(session, team["clinician"], Meaning.AUTHORED)
    missing = refused.value.missing
    assert "The dose given (substance, amount, lot number, time)" in missing
    assert "Discharge (criteria confirmed, time, who accompanies the patient)" in missing
    assert any(m.startswith("Checklist (before): Identity confirmed") for m in missing)


def test_a_complete_session_signs_and_then_locks_every_entry(db, team, course):
    session = gen_dosing_session(course, team["clinician"])
    assert session.missing_for_signing() == []
    signature = sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    with pytest.raises(dosing.SessionRefused, match="signed"):
        dosing.record_event(session, EventKind.NOTE, None, "late note", team["clinician"])
    vital = session.vitals()[0]
    vital.heart_rate = 60
    with pytest.raises(RecordLocked):
        db.session.flush()
    db.session.rollback()
    # The signature binds the rows entered in the session, not only the session row.
    assert signature.content_hash == session.current_hash()
    assert "vitals" in session.content() and session.content()["doses"][0]["lot_number"] == "LOT-1"


def test_the_gate_fact_needs_the_second_facilitator_where_the_protocol_runs_a_pair(
    db, team, pair_course
):
    session = gen_dosing_session(pair_course, team["clinician"], co_facilitator=team["clinician2"])
    assert session.pair_signing
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    facts = gather_facts([pair_course])[pair_course.id]
    assert not facts.dosing_session_signed and facts.dosing_sessions_done == 0
    sign_record(session, team["clinician2"], Meaning.CO_FACILITATED)
    db.session.commit()
    facts = gather_facts([pair_course])[pair_course.id]
    assert facts.dosing_session_signed and facts.dosing_sessions_done == 1


def test_only_a_facilitator_recorded_as_present_co_signs(db, team, pair_course):
    session = gen_dosing_session(pair_course, team["clinician"], co_facilitator=team["clinician2"])
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    assert team["supervisor"].id not in session.facilitator_ids  # on the team, not in the room
    with pytest.raises(SigningRefused, match="recorded as present"):
        sign_record(session, team["supervisor"], Meaning.CO_FACILITATED)
    db.session.rollback()


def test_a_single_facilitator_protocol_needs_one_signature(db, team, course):
    session = gen_dosing_session(course, team["clinician"])
    assert not session.pair_signing
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    with pytest.raises(SigningRefused, match="not co-signed by a second facilitator"):
        sign_record(session, team["clinician2"], Meaning.CO_FACILITATED)
    db.session.rollback()


def test_trainee_sessions_count_only_once_a_supervisor_cosigns(db, team):
    course = gen_course(gen_patient(team["trainee"]), Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["trainee"])
    sign_record(session, team["trainee"], Meaning.AUTHORED)
    db.session.commit()
    assert not gather_facts([course])[course.id].dosing_session_signed
    sign_record(session, team["supervisor"], Meaning.REVIEWED)
    db.session.commit()
    assert gather_facts([course])[course.id].dosing_session_signed


def test_voided_sessions_do_not_count_and_the_latest_session_decides(db, team, course):
    first = gen_dosing_session(course, team["clinician"], hours_ago=30)
    sign_record(first, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    second = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=2)
    db.session.commit()
    facts = gather_facts([course])[course.id]
    assert (facts.dosing_session_signed, facts.dosing_sessions_done) == (False, 1)
    void_record(second, team["clinician"], "Started in error")
    db.session.commit()
    facts = gather_facts([course])[course.id]
    assert (facts.dosing_session_signed, facts.dosing_sessions_done) == (True, 1)


def test_dosing_facts_cost_the_same_queries_for_many_courses(db, team, app):
    from tests.conftest import count_queries

    def courses(n):
        made = []
        for _ in range(n):
            c = gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=MDMA)
            s = gen_dosing_session(c, team["clinician"], co_facilitator=team["clinician2"])
            sign_record(s, team["clinician"], Meaning.AUTHORED)
            sign_record(s, team["clinician2"], Meaning.CO_FACILITATED)
            made.append(c)
        db.session.commit()
        return [c.id for c in made]

    few_ids, many_ids = courses(2), courses(8)
    few = db.session.scalars(sa.select(Course).where(Course.id.in_(few_ids))).all()
    many = db.session.scalars(sa.select(Course).where(Course.id.in_(many_ids))).all()
    with count_queries(db.engine) as small:
        dosing.dosing_facts(few)
    with count_queries(db.engine) as large:
        facts = dosing.dosing_facts(many)
    assert small.count == large.count
    assert all(f["dosing_session_signed"] for f in facts.values())


def test_a_supplemental_dose_counts_toward_the_oregon_minimum(db, team, course):
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=6)
    # psilocybin allows no supplemental dose: the refusal names the field
    dose_at = session.occurred_at + timedelta(minutes=5)
    dosing.record_dose(session, DoseKind.INITIAL, 25, "L1", dose_at, team["clinician"])
    with pytest.raises(dosing.SessionRefused) as refused:
        dosing.record_dose(session, DoseKind.SUPPLEMENTAL, 5, "L1", None, team["clinician"])
    assert refused.value.errors == {"kind": "This protocol gives no supplemental dose."}
    with pytest.raises(dosing.SessionRefused) as early:
        dosing.discharge(
            session,
            discharged_at=dose_at + timedelta(minutes=299),
            ready_to_leave_at=None,
            criteria_met=[c.id for c in course.protocol.discharge_criteria],
            accompanied_by="Sister",
            as_planned=True,
            deviation="",
            transport_plan="Sister drives",
        )
    assert "1 more minute to go" in early.value.errors["discharged_at"]


def test_the_session_sheet_holds_everyone_its_rows_name_by_id(db, team, course):
    from psiflow.sessions.queries import session_sheet
    from tests.conftest import count_queries

    clinician, clinician2 = team["clinician"], team["clinician2"]
    session = gen_dosing_session(course, clinician, complete=False, hours_ago=1)
    dosing.record_answer(session, dosing.AnswerKind.CHECKLIST, "room_prepared", True, clinician2)
    high = dosing.record_vitals(session, Reading(systolic=172, diastolic=96), None, clinician)
    dosing.record_vitals(session, Reading(systolic=120, diastolic=80), None, clinician2)
    dosing.record_event(session, EventKind.MUSIC_CHANGE, None, "Music changed", clinician2)
    db.session.flush()
    dosing.acknowledge_vital(high, clinician2, "Rechecked")
    db.session.commit()
    db.session.expire_all()
    sheet = session_sheet(db.session.get(type(session), session.id))
    # The page names each row's recorder from the people the sheet loaded, by id: no query.
    people = sheet.people
    with count_queries(db.engine) as reading:
        (row,) = [r for _, items in sheet.checklist for _, r in items if r is not None]
        named = (
            people[row.recorded_by_id],
            [(people[v.recorded_by_id], people.get(v.acknowledged_by_id)) for v in sheet.vitals],
            [people[e.recorded_by_id] for e in sheet.events],
        )
    assert reading.count == 0
    assert named == (
        clinician2,
        [(clinician, clinician2), (clinician2, None)],
        [clinician2],
    )
