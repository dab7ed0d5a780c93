"""`Course.stored_facts`: the gate facts a course stores, kept by every write that changes them.

Every test of the suite ends by checking each course's stored facts against its records
(tests/conftest.py); these tests pin the stored form, the fallback and what a write costs.
"""

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import GATE_FACTS, CourseFacts, Phase
from psiflow.domain.signing import Meaning
from psiflow.domain.vitals import Reading
from psiflow.models import Course, dosing
from psiflow.models.audit import AuditEvent
from psiflow.models.courses import gate_facts
from psiflow.models.records import sign_record
from psiflow.models.stored.gates import VALUE, decode, encode, refresh, stored_gate_facts
from tests.factories import gen_course, gen_dosing_session, gen_patient

MDMA = "mdma-three-session@1.0"

_EVERY_FACT_SET = CourseFacts(
    screening_signed=True,
    uncleared_flags=2,
    consent_recorded=True,
    signed_preparation_sessions=3,
    set_intake_complete=True,
    intention_written=True,
    missing_baseline_measures=("PHQ-9", "GAD-7"),
    baseline_recorded=True,
    transport_arranged=True,
    last_preparation_at=datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC),
    planned_dosing_at=datetime(2026, 3, 8, 8, 0, tzinfo=UTC),
    unsigned_required_forms=("Consent (draft since 2026-02-01)",),
    dosing_session_signed=True,
    dosing_sessions_done=2,
    integration_sessions_since_last_dosing=4,
    final_follow_up_recorded=True,
    missing_follow_up_measures=("WHO-5",),
)


@pytest.mark.parametrize("phase", list(Phase))
def test_a_phase_stores_what_its_gates_read_and_reads_it_back_unchanged(phase):
    stored = json.loads(json.dumps(encode(_EVERY_FACT_SET, phase)))
    assert set(stored) == set(GATE_FACTS.get(phase, ()))
    wanted = {name: getattr(_EVERY_FACT_SET, name) for name in stored}
    assert decode(stored) == CourseFacts(**wanted)


def test_a_course_without_stored_facts_is_read_from_its_records(db, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION)
    db.session.commit()
    assert course.stored_facts is not None
    db.session.execute(sa.update(Course).where(Course.id == course.id).values(stored_facts=None))
    db.session.expire(course)
    assert course.stored_facts is None
    assert stored_gate_facts([course]) == gate_facts([course])
    refresh(db.session.connection(), [course.id])
    db.session.commit()


def test_the_second_facilitators_signature_updates_the_stored_facts_without_an_audit_row(db, team):
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    course = gen_course(patient, Phase.DOSING, protocol_key=MDMA)
    session = gen_dosing_session(course, team["clinician"], co_facilitator=team["clinician2"])
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    assert course.stored_facts == {"dosing_session_signed": False}
    version, last = course.version, db.session.scalar(sa.select(sa.func.max(AuditEvent.seq)))

    sign_record(session, team["clinician2"], Meaning.CO_FACILITATED)
    db.session.commit()

    assert course.stored_facts == {"dosing_session_signed": True}
    assert stored_gate_facts([course])[course.id].dosing_session_signed
    # A derived value is no clinical change: no version bump, and only the signature audited.
    assert course.version == version
    audited = db.session.scalars(sa.select(AuditEvent.object_type).where(AuditEvent.seq > last))
    assert set(audited) == {"Signature"}


def test_a_phase_change_stores_the_facts_of_the_new_phases_gates(db, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.SCREENING)
    db.session.commit()
    assert set(course.stored_facts) == GATE_FACTS[Phase.SCREENING]
    course.phase = Phase.ON_HOLD
    db.session.commit()
    assert course.stored_facts == {}


def test_a_vitals_reading_leaves_the_stored_facts_alone(db, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING)
    session = gen_dosing_session(course, team["clinician"], complete=False)
    db.session.commit()
    dosing.record_vitals(
        session,
        Reading(systolic=120, diastolic=80, heart_rate=70, spo2=98),
        None,
        team["clinician"],
    )
    db.session.flush()
    assert not VALUE.pending(db.session)
    db.session.commit()
