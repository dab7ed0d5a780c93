"""Integration records feeding the gates, the action plan and the schedule."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from psiflow import catalog
from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning, SigningRefused
from psiflow.models import ActionItem
from psiflow.models.audit import AuditEvent
from psiflow.models.courses import gather_facts
from psiflow.models.integration import (
    ActionStatus,
    Sleep,
    note_rows,
    open_action_items,
    save_note,
    schedule_done,
    update_action_plan,
)
from psiflow.models.records import sign_record, void_record
from psiflow.models.types import utcnow
from tests.conftest import count_queries
from tests.factories import gen_course, gen_patient
from tests.integration_factories import (
    dosed_course,
    gen_check_in,
    gen_integration_session,
    gen_measure,
)

MDMA = "mdma-three-session@1.0"
PSILOCYBIN = "psilocybin-single-dose@1.0"


@pytest.fixture
def course(db, team):
    return gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION, MDMA)


def _facts(course):
    return gather_facts([course])[course.id]


def test_signed_notes_since_the_last_dosing_count_toward_the_gate(db, team, course):
    clinician = team["clinician"]
    last = utcnow() - timedelta(days=3)
    gen_integration_session(course, clinician, occurred_at=last - timedelta(days=20))  # before
    dosed_course(course, last)
    gen_integration_session(course, clinician, occurred_at=last + timedelta(hours=20))
    gen_integration_session(course, clinician, occurred_at=last + timedelta(days=1))
    gen_integration_session(course, clinician, sign=False)  # a draft does not count
    voided = gen_integration_session(course, clinician)
    void_record(voided, clinician, "wrong patient")
    assert _facts(course).integration_sessions_since_last_dosing == 2


def test_trainee_note_counts_only_once_co_signed(db, team):
    course = gen_course(gen_patient(team["trainee"]), Phase.INTEGRATION, PSILOCYBIN)
    note = gen_integration_session(course, team["trainee"])
    assert _facts(course).integration_sessions_since_last_dosing == 0
    sign_record(note, team["supervisor"], Meaning.REVIEWED)
    assert _facts(course).integration_sessions_since_last_dosing == 1


def test_integration_gate_opens_with_the_protocol_minimum(db, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION, PSILOCYBIN)
    before = dict(course.gates())
    assert any("integration session" in u for u in before[Phase.FOLLOW_UP])
    gen_integration_session(course, team["clinician"])
    after = dict(course.gates(_facts(course)))
    assert not any("integration session" in u for u in after[Phase.FOLLOW_UP])


def test_final_follow_up_needs_every_measure_at_the_last_week(db, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.FOLLOW_UP, PSILOCYBIN)
    protocol = course.protocol
    last_week = f"follow_up_week_{protocol.follow_up_weeks[-1]}"
    first_week = f"follow_up_week_{protocol.follow_up_weeks[0]}"
    facts = _facts(course)
    assert not facts.final_follow_up_recorded
    assert "PHQ-9" in facts.missing_follow_up_measures
    for instrument_id in protocol.follow_up_measures:
        gen_measure(course, team["clinician"], instrument_id, first_week, total=4)
    assert not _facts(course).final_follow_up_recorded  # an earlier week is not the final one
    for instrument_id in protocol.follow_up_measures[:-1]:
        gen_measure(course, team["clinician"], instrument_id, last_week, total=4)
    facts = _facts(course)
    last_instrument = catalog.instruments()[protocol.follow_up_measures[-1]]
    assert facts.missing_follow_up_measures == (last_instrument.short_name,)
    gen_measure(course, team["clinician"], protocol.follow_up_measures[-1], last_week)
    facts = _facts(course)
    assert facts.final_follow_up_recorded and facts.missing_follow_up_measures == ()
    assert dict(course.gates(facts))[Phase.COMPLETED] == []


def test_integration_facts_take_a_fixed_number_of_queries(db, team, app):
    def queries(n):
        courses = []
        for _ in range(n):
            c = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION, MDMA)
            gen_integration_session(c, team["clinician"])
            courses.append(c)
        db.session.commit()
        for c in courses:
            db.session.refresh(c)
        with count_queries(db.engine) as counter:
            gather_facts(courses)
        return counter.count

    assert queries(2) == queries(12)


def test_action_items_carry_forward_until_marked(db, team, course):
    first = gen_integration_session(course, team["clinician"], sign=False)
    update_action_plan(first, {}, ["Walk every morning", "Call my sister", " "])
    sign_record(first, team["clinician"], Meaning.AUTHORED)
    walk, call = open_action_items([course.id])
    assert [walk.text, call.text] == ["Walk every morning", "Call my sister"]
    second = gen_integration_session(course, team["clinician"], sign=False)
    update_action_plan(
        second, {walk.id: ActionStatus.DONE, call.id: ActionStatus.OPEN}, ["Journal after dreams"]
    )
    db.session.flush()
    assert [i.text for i in open_action_items([course.id])] == [
        "Call my sister",
        "Journal after dreams",
    ]
    assert walk.status == ActionStatus.DONE and walk.closed_in_id == second.id
    # the draft may still change its mind about what it closed
    assert walk in open_action_items([course.id], before=second)


def test_a_signed_note_s_action_plan_is_locked(db, team, course):
    note = gen_integration_session(course, team["clinician"])
    with pytest.raises(SigningRefused):
        update_action_plan(note, {}, ["Late addition"])


def test_the_signature_binds_the_action_plan(db, team, course):
    note = gen_integration_session(course, team["clinician"], sign=False)
    update_action_plan(note, {}, ["Walk every morning"])
    signature = sign_record(note, team["clinician"], Meaning.AUTHORED)
    db.session.flush()
    item = db.session.query(ActionItem).one()
    item.text = "Something else"  # a forged change outside the note
    db.session.flush()
    assert signature.content_hash != note.current_hash()


def test_check_in_concerns_are_the_positive_answers(db, team, course):
    calm = gen_check_in(course, team["clinician"])
    assert calm.concerns() == []
    worried = gen_check_in(
        course,
        team["clinician"],
        sleep=Sleep.BADLY_DISTURBED,
        suicidal_thoughts=True,
        back_to_normal=False,
    )
    assert worried.concerns() == [
        "badly disturbed sleep",
        "not back to normal activities",
        "current suicidal thoughts",
    ]


def test_schedule_done_reads_dosing_notes_measures_and_calls(db, team, course):
    dosed = utcnow() - timedelta(days=1)
    dosed_course(course, dosed)
    gen_integration_session(course, team["clinician"])
    gen_measure(course, team["clinician"], "ceq", "after_dosing_2", total=2)
    gen_check_in(course, team["clinician"], context="call", dosing_number=2, scheduled_day=2)
    done = schedule_done([course])[course.id]
    assert len(done.dosing_times) == 2 and done.dosing_times[-1] == dosed
    assert len(done.integration_times) == 1
    assert ("ceq", "after_dosing_2") in done.measures
    assert done.check_ins == frozenset({(2, 2)})


def _note_as_it_stands(note, carried, own):
    fields = {
        name: getattr(note, name)
        for name in ("duration_minutes", "themes", "emotions", "meaning_made", "notes")
    }
    return {
        "fields": fields,
        "reviewed": {item.id: ActionStatus.OPEN for item in carried},
        "own_items": {item.id: item.text for item in own},
        "new_items": ["", ""],
        "measure_ids": {m.id for m in note.measures_given},
    }


def _audit_rows(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


def test_a_save_that_changes_nothing_writes_nothing(db, team, course):
    clinician = team["clinician"]
    earlier = gen_integration_session(course, clinician, sign=False)
    update_action_plan(earlier, {}, ["Walk every morning"])
    sign_record(earlier, clinician, Meaning.AUTHORED)
    note = gen_integration_session(course, clinician, sign=False, emotions=["grief"])
    update_action_plan(note, {}, ["Call my sister"])
    phq = gen_measure(course, clinician, "phq9", "integration")
    note.measures_given = [phq]
    db.session.commit()
    rows = note_rows(note)
    assert [i.text for i in rows.carried] == ["Walk every morning"]
    assert [i.text for i in rows.own] == ["Call my sister"]
    version, events = note.version, _audit_rows(db)

    save_note(note, **_note_as_it_stands(note, rows.carried, rows.own), loaded=rows)
    # Nothing changed: the flush neither takes the audit chain head nor writes a row.
    assert not any(db.session.is_modified(o) for o in db.session.dirty)
    assert not db.session.new and not db.session.deleted
    with count_queries(db.engine) as flushing:
        db.session.flush()
    assert flushing.count == 0
    db.session.commit()
    assert (note.version, _audit_rows(db)) == (version, events)

    rows = note_rows(note)
    again = _note_as_it_stands(note, rows.carried, rows.own)
    again["fields"]["themes"] = "A changed theme."
    save_note(note, **again, loaded=rows)
    db.session.commit()
    assert note.version == version + 1
    update = db.session.scalars(
        sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)
    ).one()
    assert update.action == "update" and update.object_id == str(note.id)
    assert list(update.changes) == ["themes"]
    assert [m.id for m in note.measures_given] == [phq.id]


def test_a_voided_note_s_plan_is_void_for_the_note_form_and_the_panel_alike(db, team, course):
    from psiflow.integration.panel import open_items

    kept = gen_integration_session(course, team["clinician"], sign=False)
    update_action_plan(kept, {}, ["Walk every morning"])
    sign_record(kept, team["clinician"], Meaning.AUTHORED)
    dropped = gen_integration_session(course, team["clinician"], sign=False)
    update_action_plan(dropped, {}, ["Written on the wrong patient"])
    sign_record(dropped, team["clinician"], Meaning.AUTHORED)
    void_record(dropped, team["clinician"], "wrong patient")
    db.session.flush()
    standing = [(i.course_id, i.text, i.created_at) for i in open_action_items([course.id])]
    assert [text for _, text, _ in standing] == ["Walk every morning"]
    assert [tuple(item) for item in open_items([course.id])] == standing
