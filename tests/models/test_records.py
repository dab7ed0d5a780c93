"""The signing, addendum and voiding mechanism every clinical record shares."""

import pytest
import sqlalchemy as sa

from psiflow.access import Role
from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning, RecordStatus, SigningRefused
from psiflow.models import PreparationSession, Signature
from psiflow.models.records import (
    RecordLocked,
    add_addendum,
    addenda_for,
    sign_record,
    signature_intact,
    signatures_for,
    void_record,
)
from tests.factories import gen_course, gen_patient, gen_user


def _session(course, author, **fields):
    record = PreparationSession(
        course=course,
        author=author,
        **{
            "duration_minutes": 90,
            "topics": ["set_and_setting"],
            "notes": "Discussed the day.",
            **fields,
        },
    )
    from psiflow.extensions import db

    db.session.add(record)
    db.session.flush()
    return record


@pytest.fixture
def course(db, team):
    return gen_course(gen_patient(team["clinician"]), Phase.PREPARATION)


def test_signing_records_name_meaning_time_and_hash(db, team, course):
    record = _session(course, team["clinician"])
    signature = sign_record(record, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    assert record.status == RecordStatus.SIGNED
    assert signature.printed_name == team["clinician"].name
    assert signature.meaning == Meaning.AUTHORED and signature.signed_at is not None
    assert len(signature.content_hash) == 64 and signature_intact(signature, record)


def test_signed_content_is_locked_in_code(db, team, course):
    record = _session(course, team["clinician"])
    sign_record(record, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    record.notes = "rewritten history"
    with pytest.raises(RecordLocked):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(PreparationSession, record.id).notes == "Discussed the day."


def test_signed_record_cannot_return_to_draft_or_be_deleted(db, team, course):
    record = _session(course, team["clinician"])
    sign_record(record, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    record.status = RecordStatus.DRAFT
    with pytest.raises(RecordLocked):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(PreparationSession, record.id))
    with pytest.raises(RecordLocked):
        db.session.flush()
    db.session.rollback()


def test_incomplete_record_cannot_be_signed(db, team, course):
    record = _session(course, team["clinician"], topics=[], notes="")
    with pytest.raises(SigningRefused) as refused:
        sign_record(record, team["clinician"], Meaning.AUTHORED)
    assert "At least one preparation topic covered" in refused.value.missing
    assert record.status == RecordStatus.DRAFT


def test_only_the_author_signs_as_author(db, team, course):
    record = _session(course, team["clinician"])
    with pytest.raises(SigningRefused):
        sign_record(record, team["clinician2"], Meaning.AUTHORED)


def test_addendum_follows_signing_and_is_bound_to_the_record(db, team, course):
    record = _session(course, team["clinician"])
    with pytest.raises(SigningRefused):
        add_addendum(record, team["clinician"], "too early")
    sign_record(record, team["clinician"], Meaning.AUTHORED)
    add_addendum(record, team["clinician"], "Patient phoned: feels ready.")
    db.session.commit()
    [addendum] = addenda_for([record])[("preparation_session", record.id)]
    assert addendum.text == "Patient phoned: feels ready." and len(addendum.content_hash) == 64


def test_void_needs_a_reason_and_stops_the_record_counting(db, team, course):
    record = _session(course, team["clinician"])
    sign_record(record, team["clinician"], Meaning.AUTHORED)
    assert record.counts
    with pytest.raises(SigningRefused):
        void_record(record, team["clinician"], "  ")
    void_record(record, team["clinician"], "Entered on the wrong patient")
    db.session.commit()
    assert record.is_voided and not record.counts
    with pytest.raises(SigningRefused):
        void_record(record, team["clinician"], "again")


def test_trainee_record_counts_only_after_supervisor_cosigns(db, team):
    course = gen_course(gen_patient(team["trainee"]), Phase.PREPARATION)
    record = _session(course, team["trainee"])
    sign_record(record, team["trainee"], Meaning.AUTHORED)
    assert record.needs_cosign and not record.counts
    with pytest.raises(SigningRefused):
        sign_record(record, team["trainee"], Meaning.REVIEWED)
    sign_record(record, team["supervisor"], Meaning.REVIEWED)
    assert record.status == RecordStatus.COSIGNED and record.counts


def test_pair_signing_only_where_the_record_type_asks_for_it(db, team, course):
    record = _session(course, team["clinician"])
    sign_record(record, team["clinician"], Meaning.AUTHORED)
    with pytest.raises(SigningRefused):
        sign_record(record, team["clinician2"], Meaning.CO_FACILITATED)


def test_tampered_content_is_detected(db, team, course):
    record = _session(course, team["clinician"])
    signature = sign_record(record, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    db.session.execute(
        sa.text("UPDATE preparation_sessions SET notes = 'forged' WHERE id = :id"),
        {"id": record.id},
    )
    db.session.commit()
    db.session.expire_all()
    record = db.session.get(PreparationSession, record.id)
    signature = db.session.get(Signature, signature.id)
    assert not signature_intact(signature, record)


def test_signatures_load_in_one_query_for_many_records(db, team, course, app):
    from tests.conftest import count_queries

    records = [_session(course, team["clinician"]) for _ in range(5)]
    for r in records:
        sign_record(r, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    for r in records:
        db.session.refresh(r)
    with count_queries(db.engine) as counter:
        found = signatures_for(records)
    assert counter.count == 1 and len(found) == 5


def test_deactivated_author_still_shows_as_signer(db, team, course):
    author = gen_user(Role.CLINICIAN, team["clinician"].clinic)
    record = _session(course, author)
    sign_record(record, author, Meaning.AUTHORED)
    author.deactivate()
    db.session.commit()
    [signature] = signatures_for([record])[("preparation_session", record.id)]
    assert signature.printed_name == author.name
