"""What the migrations that add a stored course value do to the courses already there, and the
`stored-values` commands an administrator runs after an upgrade.

0008 and 0010 fill each existing course's value by a frozen copy of the rule, which must
agree with today's rule on the records these tests write; 0011 leaves the gate facts NULL
(pages work them out from the records) until `flask --app psiflow stored-values refresh`.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from psiflow import create_app
from psiflow.access import Role
from psiflow.domain.phases import GATE_FACTS, Phase
from psiflow.domain.signing import Meaning
from psiflow.extensions import db
from psiflow.models import Course, CourseDueItem, CourseOutcomeScore, IntegrationSession
from psiflow.models.courses import gate_facts
from psiflow.models.due_items import item_row
from psiflow.models.records import sign_record, void_record
from psiflow.models.stored.gates import stored_gate_facts
from psiflow.models.types import utcnow
from tests.conftest import app_config
from tests.factories import gen_clinic, gen_course, gen_dosing_session, gen_patient, gen_user
from tests.integration_factories import (
    MDMA,
    PSILOCYBIN,
    dosed_course,
    gen_check_in,
    gen_integration_session,
    gen_measure,
)
from tests.migrations.test_migrations import fresh_database_url  # noqa: F401  (a fixture)

KETAMINE = "ketamine-assisted-psychotherapy@1.0"
OUTCOME_SCORES = sa.select(
    CourseOutcomeScore.course_id,
    CourseOutcomeScore.instrument_id,
    CourseOutcomeScore.baseline,
    CourseOutcomeScore.latest,
    CourseOutcomeScore.latest_timepoint,
    CourseOutcomeScore.latest_at,
).order_by(CourseOutcomeScore.course_id, CourseOutcomeScore.instrument_id)


def _again_from(revision: str) -> None:
    """Roll the schema back to `revision` and upgrade it again, the rows kept."""
    db.session.remove()
    downgrade(revision=revision)
    upgrade()


def _done() -> None:
    db.session.remove()
    db.engine.dispose()


def _after_the_dose(course, clinician, calls, sign=True):
    """A note, the day-after measures (signed or drafts) and the calls of these days after the
    (only) dose."""
    gen_integration_session(course, clinician)
    for instrument_id in course.protocol.after_dosing_measures:
        gen_measure(course, clinician, instrument_id, "after_dosing_1", sign=sign)
    for day in calls:
        gen_check_in(course, clinician, dosing_number=1, scheduled_day=day, occurred_at=utcnow())


def _courses_of_every_schedule(clinician) -> dict:
    """Courses at each point of the schedule after dosing, committed."""
    # Dosed outside PsiFlow (a transition stands in for the dose): the first session is due.
    stand_in = gen_course(gen_patient(clinician), Phase.INTEGRATION, MDMA)
    dosed_course(stand_in, utcnow() - timedelta(days=1))
    # Dosed in PsiFlow, integrated, measured and called on day 1: the day-7 call is left.
    dosed = gen_course(gen_patient(clinician), Phase.DOSING, PSILOCYBIN)
    session = gen_dosing_session(dosed, clinician, hours_ago=30)
    sign_record(session, clinician, Meaning.AUTHORED)
    dosed_course(dosed, utcnow() - timedelta(hours=20))
    _after_the_dose(dosed, clinician, calls=(1,))
    # Its only note voided: the first integration session is due again.
    voided = gen_course(gen_patient(clinician), Phase.INTEGRATION, PSILOCYBIN)
    dosed_course(voided, utcnow() - timedelta(days=3))
    note = gen_integration_session(voided, clinician)
    void_record(note, clinician, "Entered in error")
    # Every dose done and followed up to week 3 but for one measure: week 3 is due.
    following = gen_course(gen_patient(clinician), Phase.FOLLOW_UP, PSILOCYBIN)
    _after_the_dose(following, clinician, calls=(1, 7))
    for instrument_id in ("phq9", "gad7", "who5", "cssrs"):
        gen_measure(following, clinician, instrument_id, "follow_up_week_3")
    # One dose of three, everything after it done: nothing is due until the next dose.
    between = gen_course(gen_patient(clinician), Phase.INTEGRATION, MDMA)
    _after_the_dose(between, clinician, calls=between.protocol.safety_checkin_days)
    # The day-after measures only drafted: they are due the day after the dose.
    drafted = gen_course(gen_patient(clinician), Phase.INTEGRATION, PSILOCYBIN)
    _after_the_dose(drafted, clinician, calls=(1, 7), sign=False)
    # Two doses of three: the first dose's items are superseded, the second's are due.
    second = gen_course(gen_patient(clinician), Phase.DOSING, KETAMINE)
    for days_ago in (20, 2):
        sign_record(
            gen_dosing_session(second, clinician, hours_ago=24 * days_ago),
            clinician,
            Meaning.AUTHORED,
        )
    waiting = gen_course(gen_patient(clinician), Phase.PREPARATION)
    db.session.commit()
    assert db.session.get(IntegrationSession, note.id).voided_at is not None
    return {
        "stand_in": stand_in,
        "dosed": dosed,
        "voided": voided,
        "following": following,
        "between": between,
        "drafted": drafted,
        "second": second,
        "waiting": waiting,
    }


def test_migration_0008_fills_the_stored_attention_of_existing_courses(fresh_database_url):  # noqa: F811
    app = create_app(app_config(fresh_database_url))
    with app.app_context():
        upgrade()
        courses = _courses_of_every_schedule(gen_user(Role.CLINICIAN, gen_clinic()))
        stand_in, dosed, voided, following, between, drafted, waiting = (
            courses[name]
            for name in (
                "stand_in",
                "dosed",
                "voided",
                "following",
                "between",
                "drafted",
                "waiting",
            )
        )
        (dosed_at,) = [
            t.at
            for t in following.transitions
            if (t.from_phase, t.to_phase) == (Phase.DOSING, Phase.INTEGRATION)
        ]
        expected = dict(db.session.execute(sa.select(Course.id, Course.attention_from)).all())
        assert expected[waiting.id] is None and expected[between.id] is None
        assert expected[drafted.id] == drafted.transitions[-1].at + timedelta(days=1)
        assert None not in [expected[c.id] for c in (stand_in, dosed, voided)]
        assert expected[following.id] == dosed_at + timedelta(weeks=3)

        _again_from("0007_returned_notes_index")

        stored = dict(db.session.execute(sa.select(Course.id, Course.attention_from)).all())
        assert stored == expected
        _done()


DUE_ITEMS = sa.select(CourseDueItem).order_by(CourseDueItem.course_id, CourseDueItem.item)


def _due_items() -> list[tuple]:
    return [(row.course_id, row.item, *item_row(row)) for row in db.session.scalars(DUE_ITEMS)]


def test_migration_0020_fills_the_stored_due_items_of_existing_courses(fresh_database_url):  # noqa: F811
    app = create_app(app_config(fresh_database_url))
    with app.app_context():
        upgrade()
        courses = _courses_of_every_schedule(gen_user(Role.CLINICIAN, gen_clinic()))
        expected = _due_items()
        keys = {(cid, key) for cid, key, *_ in expected}
        assert (courses["dosed"].id, "safety_check_in:1::7:") in keys
        # (A course made in integration has a stand-in transition of its own: dosed again.)
        assert (courses["voided"].id, "first_integration:2:::") in keys
        assert (courses["second"].id, "first_integration:2:::") in keys
        assert (courses["second"].id, "first_integration:1:::") not in keys  # superseded
        assert {cid for cid, *_ in expected} == {
            courses[name].id for name in ("stand_in", "dosed", "voided", "following", "second")
        } | {courses["drafted"].id}

        _again_from("0019_training_clock")

        assert _due_items() == expected
        _done()


def test_migration_0010_fills_the_stored_outcome_scores_of_existing_courses(fresh_database_url):  # noqa: F811
    app = create_app(app_config(fresh_database_url))
    with app.app_context():
        upgrade()
        clinician = gen_user(Role.CLINICIAN, gen_clinic())
        start = utcnow() - timedelta(days=60)
        course = gen_course(gen_patient(clinician), Phase.FOLLOW_UP, PSILOCYBIN)
        # Two baselines at one time: the lower id is the baseline.
        gen_measure(course, clinician, "phq9", "baseline", total=20, occurred_at=start)
        gen_measure(course, clinician, "phq9", "baseline", total=18, occurred_at=start)
        gen_measure(
            course,
            clinician,
            "phq9",
            "integration",
            total=10,
            occurred_at=start + timedelta(days=9),
        )
        gen_measure(course, clinician, "phq9", "follow_up_week_3", total=6, occurred_at=utcnow())
        # A draft counts for nothing; a score before the baseline has nothing to compare with.
        gen_measure(course, clinician, "phq9", "follow_up_week_6", total=2, sign=False)
        gen_measure(course, clinician, "gad7", "integration", total=9, occurred_at=start)
        gen_measure(
            course, clinician, "gad7", "baseline", total=12, occurred_at=start + timedelta(days=1)
        )
        # A baseline taken again later is no latest score.
        other = gen_course(gen_patient(clinician), Phase.INTEGRATION, PSILOCYBIN)
        gen_measure(other, clinician, "gad7", "baseline", total=15, occurred_at=start)
        gen_measure(
            other, clinician, "gad7", "integration", total=11, occurred_at=start + timedelta(days=5)
        )
        gen_measure(other, clinician, "gad7", "baseline", total=14, occurred_at=utcnow())
        db.session.commit()
        expected = db.session.execute(OUTCOME_SCORES).all()
        assert [(row[0], row[1], row[2], row[3]) for row in expected] == [
            (course.id, "phq9", 20, 6),
            (other.id, "gad7", 15, 11),
        ]

        _again_from("0009_outcome_scores_index")

        assert db.session.execute(OUTCOME_SCORES).all() == expected
        _done()


def test_after_migration_0011_pages_read_gates_from_the_records_until_a_refresh_stores_them(
    fresh_database_url,  # noqa: F811
):
    app = create_app(app_config(fresh_database_url))
    with app.app_context():
        upgrade()
        clinician = gen_user(Role.CLINICIAN, gen_clinic())
        dosing = gen_course(gen_patient(clinician), Phase.DOSING)
        sign_record(gen_dosing_session(dosing, clinician), clinician, Meaning.AUTHORED)
        preparing = gen_course(gen_patient(clinician), Phase.PREPARATION)
        db.session.commit()
        expected = dict(db.session.execute(sa.select(Course.id, Course.stored_facts)).all())
        assert expected[dosing.id] == {"dosing_session_signed": True}
        assert set(expected[preparing.id]) == GATE_FACTS[Phase.PREPARATION]

        _again_from("0010_course_outcome_scores")

        stored = dict(db.session.execute(sa.select(Course.id, Course.stored_facts)).all())
        assert stored == {dosing.id: None, preparing.id: None}
        courses = db.session.scalars(sa.select(Course).order_by(Course.id)).all()
        assert stored_gate_facts(courses) == gate_facts(courses)

        runner = app.test_cli_runner()
        verify = runner.invoke(args=["stored-values", "verify"])
        assert verify.exit_code == 1
        assert f"course {dosing.id}: stored_facts stored None" in verify.output
        assert f"course {preparing.id}: stored_facts stored None" in verify.output
        refresh = runner.invoke(args=["stored-values", "refresh"])
        assert refresh.exit_code == 0, refresh.output
        assert "stored_facts 2" in refresh.output

        db.session.remove()
        stored = dict(db.session.execute(sa.select(Course.id, Course.stored_facts)).all())
        assert stored == expected
        assert runner.invoke(args=["stored-values", "verify"]).exit_code == 0
        _done()
