"""Supervisor review: the queue, co-signing, returning and re-submitting."""

from datetime import timedelta

import pytest

from psiflow.domain.phases import Phase
from psiflow.domain.review import Decision, ReviewRefused
from psiflow.domain.signing import RecordStatus
from psiflow.extensions import db as _db
from psiflow.models import PreparationSession
from psiflow.models.records import add_addendum, sign_record
from psiflow.models.reviews import (
    awaiting_review_query,
    oldest_waiting_by_course,
    resubmit,
    returned_to,
    review_record,
)
from psiflow.models.types import utcnow
from tests.conftest import count_queries
from tests.factories import gen_course, gen_patient
from tests.integration_factories import gen_integration_session

PSILOCYBIN = "psilocybin-single-dose@1.0"


def _queue(supervisor):
    return [(t, i) for t, i, _ in _db.session.execute(awaiting_review_query(supervisor))]


@pytest.fixture
def course(db, team):
    return gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION, PSILOCYBIN)


def _all_met(course):
    return {a.id: "met" for a in course.protocol.adherence_items}


def test_queue_holds_supervisees_signed_notes_oldest_first(db, team, course):
    newer = gen_integration_session(course, team["clinician"])
    older = gen_integration_session(course, team["clinician"])
    older_signature_time = utcnow() - timedelta(days=3)
    from psiflow.models import Signature

    for s in db.session.query(Signature).filter_by(
        record_type="integration_session", record_id=older.id
    ):
        s.signed_at = older_signature_time
    gen_integration_session(course, team["clinician"], sign=False)  # drafts wait for the author
    outsider_course = gen_course(gen_patient(team["outsider"]), Phase.INTEGRATION, PSILOCYBIN)
    gen_integration_session(outsider_course, team["outsider"])
    assert _queue(team["supervisor"]) == [
        ("integration_session", older.id),
        ("integration_session", newer.id),
    ]
    assert _queue(team["other_supervisor"]) == []


def test_queue_holds_trainee_records_of_any_type(db, team):
    course = gen_course(gen_patient(team["trainee"]), Phase.PREPARATION, PSILOCYBIN)
    record = PreparationSession(
        course=course,
        author=team["trainee"],
        duration_minutes=60,
        topics=["intention"],
        notes="Practised grounding.",
    )
    db.session.add(record)
    db.session.flush()
    assert _queue(team["supervisor"]) == []
    sign_record(record, team["trainee"], "authored")
    assert _queue(team["supervisor"]) == [("preparation_session", record.id)]


def test_clinician_s_other_records_are_not_queued(db, team, course):
    record = PreparationSession(
        course=course,
        author=team["clinician"],
        duration_minutes=60,
        topics=["intention"],
        notes="Talked.",
    )
    db.session.add(record)
    db.session.flush()
    sign_record(record, team["clinician"], "authored")
    assert _queue(team["supervisor"]) == []


def test_a_note_on_a_patient_no_longer_in_the_caseload_leaves_the_queue(db, team, course):
    note = gen_integration_session(course, team["clinician"])
    assert _queue(team["supervisor"]) == [("integration_session", note.id)]
    # The patient moves to a clinician of another team: the supervisee's note goes with them.
    course.patient.lead_clinician = team["outsider"]
    db.session.flush()
    assert _queue(team["supervisor"]) == []


def test_cosigning_removes_the_note_from_the_queue(db, team, course):
    note = gen_integration_session(course, team["clinician"])
    review = review_record(note, team["supervisor"], Decision.COSIGNED)
    assert note.status == RecordStatus.COSIGNED and review.decision == Decision.COSIGNED
    assert _queue(team["supervisor"]) == []


def test_return_needs_comments_and_waits_for_an_addendum_then_resubmission(db, team, course):
    note = gen_integration_session(course, team["clinician"])
    with pytest.raises(ReviewRefused):
        review_record(note, team["supervisor"], Decision.RETURNED, comments="  ")
    review_record(
        note,
        team["supervisor"],
        Decision.RETURNED,
        comments="Say how the risk screen was followed up.",
    )
    assert _queue(team["supervisor"]) == []
    [returned] = returned_to(team["clinician"], 10)
    assert returned.record_id == note.id
    with pytest.raises(ReviewRefused) as refused:
        resubmit(note, team["clinician"])
    assert "addendum" in str(refused.value)
    with pytest.raises(ReviewRefused):
        review_record(note, team["supervisor"], Decision.COSIGNED)  # it is with its author
    add_addendum(note, team["clinician"], "Screen negative; safety plan reviewed.")
    with pytest.raises(ReviewRefused):
        resubmit(note, team["clinician2"])  # only the author
    resubmit(note, team["clinician"])
    assert returned_to(team["clinician"], 10) == []
    assert _queue(team["supervisor"]) == [("integration_session", note.id)]
    review_record(note, team["supervisor"], Decision.COSIGNED)
    assert note.status == RecordStatus.COSIGNED


def test_only_the_author_s_own_supervisor_reviews(db, team, course):
    note = gen_integration_session(course, team["clinician"])
    with pytest.raises(ReviewRefused):
        review_record(note, team["other_supervisor"], Decision.COSIGNED)
    assert note.status == RecordStatus.SIGNED


def test_trainee_record_is_cosigned_with_a_full_fidelity_rating(db, team):
    course = gen_course(gen_patient(team["trainee"]), Phase.INTEGRATION, PSILOCYBIN)
    note = gen_integration_session(course, team["trainee"])
    with pytest.raises(ReviewRefused) as refused:
        review_record(note, team["supervisor"], Decision.COSIGNED)
    assert "fidelity" in str(refused.value)
    with pytest.raises(ReviewRefused):
        review_record(
            note,
            team["supervisor"],
            Decision.COSIGNED,
            fidelity={**_all_met(course), "invented": "met"},
        )
    review = review_record(note, team["supervisor"], Decision.COSIGNED, fidelity=_all_met(course))
    assert note.counts and review.fidelity == _all_met(course)


def test_queue_and_waiting_times_take_a_fixed_number_of_queries(db, team, course):
    def queries(n):
        for _ in range(n):
            gen_integration_session(course, team["clinician"])
        db.session.commit()
        with count_queries(db.engine) as counter:
            _queue(team["supervisor"])
            oldest_waiting_by_course(team["supervisor"], [course.id])
        return counter.count

    assert queries(1) == queries(8)
