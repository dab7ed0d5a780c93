"""Each course's stored outcome scores agree with the rule after every kind of write of a
measure, and writes that touch no outcome measure work nothing out again."""

from datetime import timedelta

import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.domain.signing import RecordStatus
from psiflow.models import CourseOutcomeScore
from psiflow.models.stored.outcomes import refresh_all
from psiflow.models.types import utcnow
from tests.conftest import stale_stored_values, statements_of
from tests.factories import TEST_PASSWORD, gen_course, gen_patient
from tests.integration_factories import PSILOCYBIN, gen_measure


def agrees(db) -> None:
    db.session.commit()
    assert stale_stored_values() == []


def stored(db, course) -> dict[str, tuple[float, float]]:
    db.session.expire_all()
    return {
        row.instrument_id: (row.baseline, row.latest)
        for row in db.session.scalars(
            sa.select(CourseOutcomeScore).where(CourseOutcomeScore.course_id == course.id)
        )
    }


def test_every_kind_of_measure_write_keeps_the_stored_scores_equal_to_the_rule(
    client, login_as, team, db
):
    clinician = team["clinician"]
    course = gen_course(gen_patient(clinician), Phase.INTEGRATION, PSILOCYBIN)
    start = utcnow() - timedelta(days=60)
    agrees(db)
    assert stored(db, course) == {}
    gen_measure(course, clinician, "phq9", "baseline", total=20, occurred_at=start)
    agrees(db)
    assert stored(db, course) == {}  # a baseline alone compares with nothing
    later = gen_measure(
        course, clinician, "phq9", "integration", total=12, occurred_at=start + timedelta(days=9)
    )
    agrees(db)
    assert stored(db, course) == {"phq9": (20, 12)}
    draft = gen_measure(
        course,
        clinician,
        "phq9",
        "follow_up_week_4",
        total=6,
        occurred_at=start + timedelta(days=30),
        sign=False,
    )
    agrees(db)
    assert stored(db, course) == {"phq9": (20, 12)}  # a draft does not count
    login_as(clinician)
    response = client.post(
        f"/records/measure/{draft.id}/sign",
        data={"sign-meaning": "authored", "sign-password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    agrees(db)
    assert stored(db, course) == {"phq9": (20, 6)}
    response = client.post(
        f"/records/measure/{draft.id}/void",
        data={"void-reason": "Entered in error", "void-password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    agrees(db)
    assert stored(db, course) == {"phq9": (20, 12)}

    # Through the ORM, on objects expired by the commit: the course is found anyway. Only a
    # draft may be edited; signing it makes it count.
    later = gen_measure(
        course, clinician, "phq9", "integration", total=10, occurred_at=start, sign=False
    )
    agrees(db)
    db.session.expire_all()
    later.occurred_at = start + timedelta(days=40)
    agrees(db)
    db.session.expire_all()
    later.instrument_id, later.timepoint = "gad7", "baseline"
    agrees(db)
    later.instrument_id, later.timepoint, later.total = "phq9", "integration", 9
    agrees(db)
    other = gen_course(gen_patient(clinician), Phase.FOLLOW_UP, PSILOCYBIN)
    gen_measure(other, clinician, "phq9", "baseline", total=18, occurred_at=start)
    later.course_id = other.id
    agrees(db)
    assert stored(db, other) == {}
    # A trainee's measure counts once co-signed.
    later.needs_cosign = True
    agrees(db)
    later.status = RecordStatus.SIGNED
    agrees(db)
    assert stored(db, other) == {}
    later.status = RecordStatus.COSIGNED
    agrees(db)
    assert stored(db, course) == {"phq9": (20, 12)} and stored(db, other) == {"phq9": (18, 9)}
    later.voided_at = utcnow()
    agrees(db)
    assert stored(db, other) == {}
    later.voided_at = None
    agrees(db)
    assert stored(db, other) == {"phq9": (18, 9)}


def _reads_stored_scores(statements) -> bool:
    return any("course_outcome_scores" in s for s in statements)


def test_a_measure_no_outcome_follows_works_nothing_out_again(team, db):
    clinician = team["clinician"]
    course = gen_course(gen_patient(clinician), Phase.INTEGRATION, PSILOCYBIN)
    agrees(db)
    gen_measure(course, clinician, "cssrs", "integration")
    assert not _reads_stored_scores(statements_of(db.engine, db.session.commit))
    gen_measure(course, clinician, "phq9", "integration", total=5)
    assert _reads_stored_scores(statements_of(db.engine, db.session.commit))


def test_a_rolled_back_measure_leaves_nothing_behind_for_the_next_commit(team, db):
    clinician = team["clinician"]
    course = gen_course(gen_patient(clinician), Phase.INTEGRATION, PSILOCYBIN)
    agrees(db)
    gen_measure(course, clinician, "phq9", "baseline", total=20)
    db.session.rollback()
    gen_course(gen_patient(clinician), Phase.PREPARATION, PSILOCYBIN)
    assert not _reads_stored_scores(statements_of(db.engine, db.session.commit))
    assert stale_stored_values() == []


def test_scores_written_around_the_orm_are_filled_in_by_refresh_all(team, db):
    clinician = team["clinician"]
    course = gen_course(gen_patient(clinician), Phase.FOLLOW_UP, PSILOCYBIN)
    start = utcnow() - timedelta(days=30)
    gen_measure(course, clinician, "phq9", "baseline", total=20, occurred_at=start)
    gen_measure(course, clinician, "phq9", "integration", total=8, occurred_at=utcnow())
    agrees(db)
    with db.engine.begin() as connection:
        connection.execute(CourseOutcomeScore.__table__.delete())
    assert [(d.course_id, d.value) for d in stale_stored_values()] == [
        (course.id, "outcome_scores.phq9")
    ]
    with db.engine.begin() as connection:
        assert refresh_all(connection) == 1
        assert refresh_all(connection) == 0
    assert stale_stored_values() == []
    assert stored(db, course) == {"phq9": (20, 8)}
