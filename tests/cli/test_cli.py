"""Command-line tasks: the demo clinic, creating users, checking and repairing stored values."""

from datetime import timedelta

import sqlalchemy as sa

from psiflow import demo
from psiflow.access import Role
from psiflow.domain.phases import ACTIVE_PHASES, Phase
from psiflow.models import Course, CourseDueItem, CourseOutcomeScore, Patient, User
from psiflow.models.types import utcnow
from tests.factories import gen_course, gen_patient
from tests.integration_factories import PSILOCYBIN, dosed_course, gen_measure


def test_seed_demo_builds_the_clinic_once(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "clinician@demo.psiflow" in result.output and "psiflow-demo" in result.output
    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    assert set(users) == {a.email for a in demo.ACCOUNTS}
    supervisor = users["supervisor@demo.psiflow"]
    for email in ("clinician@demo.psiflow", "clinician2@demo.psiflow", "trainee@demo.psiflow"):
        assert users[email].supervisor_id == supervisor.id
    assert users["clinician@demo.psiflow"].check_password(demo.DEMO_PASSWORD)
    for email in ("clinician@demo.psiflow", "clinician2@demo.psiflow"):
        patients = db.session.scalars(
            sa.select(Patient).where(Patient.lead_clinician_id == users[email].id)
        ).all()
        assert len(patients) == 12 and not any(p.is_practice for p in patients)
        phases = {c.phase for p in patients for c in p.courses}
        assert set(ACTIVE_PHASES) <= phases and Phase.COMPLETED in phases
    trainee_patients = db.session.scalars(
        sa.select(Patient).where(Patient.lead_clinician_id == users["trainee@demo.psiflow"].id)
    ).all()
    assert trainee_patients and all(p.is_practice for p in trainee_patients)

    again = runner.invoke(args=["seed-demo"])
    assert "already there" in again.output
    assert db.session.query(User).count() == len(demo.ACCOUNTS)


def test_seeded_history_is_consistent(app, db):
    app.test_cli_runner().invoke(args=["seed-demo"])
    for course in db.session.scalars(sa.select(Course)):
        assert course.transitions[-1].to_phase == course.phase
        assert course.transitions[-1].at == course.phase_entered_at
        times = [t.at for t in course.transitions]
        assert times == sorted(times)


def test_seed_if_empty_leaves_a_live_clinic_alone(app, db, team):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert "not added" in result.output
    assert demo.demo_clinic() is None


def test_create_user_command(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Boss@Clinic.test",
            "--name",
            "Boss",
            "--role",
            "admin",
            "--clinic",
            "Riverside",
            "--timezone",
            "Europe/Amsterdam",
            "--password",
            "a sturdy passphrase",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).filter_by(email="boss@clinic.test"))
    assert user.role == Role.ADMIN and user.clinic.timezone == "Europe/Amsterdam"


def test_create_user_refuses_weak_password_and_trainee_without_supervisor(app, db):
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=[
            "create-user",
            "--email",
            "a@b.test",
            "--name",
            "A",
            "--role",
            "clinician",
            "--password",
            "short",
        ]
    )
    assert weak.exit_code != 0 and "12 characters" in weak.output
    trainee = runner.invoke(
        args=[
            "create-user",
            "--email",
            "t@b.test",
            "--name",
            "T",
            "--role",
            "trainee",
            "--password",
            "a sturdy passphrase",
        ]
    )
    assert trainee.exit_code != 0 and "--supervisor" in trainee.output
    bad_zone = runner.invoke(
        args=[
            "create-user",
            "--email",
            "z@b.test",
            "--name",
            "Z",
            "--role",
            "admin",
            "--clinic",
            "New",
            "--timezone",
            "Mars/Olympus",
            "--password",
            "a sturdy passphrase",
        ]
    )
    assert bad_zone.exit_code != 0 and "time zone" in bad_zone.output
    assert db.session.query(User).count() == 0


def test_demo_courses_carry_the_records_their_phase_implies(app, db):
    from psiflow.domain.phases import Phase, gate_numbers, unmet_requirements
    from psiflow.models import Screening, ScreeningFlag

    app.test_cli_runner().invoke(args=["seed-demo"])
    courses = db.session.scalars(sa.select(Course)).all()
    for course in courses:
        if course.patient.is_practice:
            continue  # a trainee's records count once co-signed: they wait in the review queue
        walked = [t.to_phase for t in course.transitions]
        facts = course.facts()
        if Phase.DOSING in walked:
            numbers = gate_numbers(course.protocol)
            assert unmet_requirements(Phase.PREPARATION, Phase.DOSING, numbers, facts) == [], course
        if Phase.PREPARATION in walked:
            assert facts.screening_signed and facts.consent_recorded and not facts.uncleared_flags
    # somebody in screening waits for a supervisor to clear a flag
    open_flags = db.session.scalars(
        sa.select(ScreeningFlag).where(ScreeningFlag.cleared_at.is_(None))
    )
    assert any(f.screening.course.phase == Phase.SCREENING for f in open_flags)
    assert db.session.query(Screening).filter_by(status="draft").count() >= 1


def test_stored_values_verify_names_a_value_changed_in_the_database_and_refresh_repairs_it(
    app, db, team
):
    clinician = team["clinician"]
    course = gen_course(gen_patient(clinician), Phase.PREPARATION, PSILOCYBIN)
    dosed_course(course)
    gen_measure(
        course, clinician, "phq9", "baseline", total=20, occurred_at=utcnow() - timedelta(1)
    )
    gen_measure(course, clinician, "phq9", "integration", total=8)
    untouched = gen_course(gen_patient(clinician), Phase.SCREENING, PSILOCYBIN)
    db.session.commit()
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["stored-values", "verify"])
    assert clean.exit_code == 0 and "Every stored value agrees" in clean.output

    # A change made in the database itself, past the application.
    wrong = utcnow() + timedelta(days=400)
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(Course.__table__)
            .where(Course.__table__.c.id == course.id)
            .values(attention_from=wrong, stored_facts={}, lead_clinician_id=None)
        )
        connection.execute(sa.update(CourseOutcomeScore.__table__).values(latest=99))
        connection.execute(CourseDueItem.__table__.delete())
    verify = runner.invoke(args=["stored-values", "verify"])
    assert verify.exit_code == 1
    lines = verify.output.splitlines()
    assert [line.split(" stored ")[0] for line in lines[:5]] == [
        f"course {course.id}: attention_from",
        f"course {course.id}: care_team",
        f"course {course.id}: due_items",
        f"course {course.id}: outcome_scores.phq9",
        f"course {course.id}: stored_facts",
    ]
    assert f"stored {wrong.isoformat()}, computed " in lines[0]
    assert (
        f"care_team stored (None, None, False), computed ({clinician.id}, None, False)" in lines[1]
    )
    assert "due_items stored [], computed [(<DueKind." in lines[2]
    assert "stored (20.0, 99.0, 'integration'," in lines[3]
    assert "5 stored value(s) disagree" in lines[5]
    assert f"course {untouched.id}:" not in verify.output

    refresh = runner.invoke(args=["stored-values", "refresh"])
    assert refresh.exit_code == 0, refresh.output
    assert "of 2 course(s)" in refresh.output
    assert "attention_from 1, stored_facts 1, outcome_scores 1, care_team 1" in refresh.output
    assert runner.invoke(args=["stored-values", "verify"]).exit_code == 0
    assert runner.invoke(args=["stored-values", "refresh"]).output.endswith(
        "attention_from 0, stored_facts 0, outcome_scores 0, care_team 0.\n"
    )
