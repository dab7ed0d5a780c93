"""The caseload rule in its two SQL forms: with the user's id written in (`caseload_filter`)
and with it bound at execution (`caseload_rule`, for statements built once per role)."""

import pytest
import sqlalchemy as sa

from psiflow.access import Role
from psiflow.domain.phases import Phase
from psiflow.extensions import db
from psiflow.models import Course, Patient
from psiflow.models.courses import caseload_courses
from psiflow.models.patients import (
    caseload_filter,
    caseload_key,
    caseload_params,
    caseload_patients,
    caseload_rule,
    team_patients,
)
from tests.factories import gen_course, gen_patient, gen_user


@pytest.fixture
def caseloads(team, clinic):
    clinician, clinician2, trainee = team["clinician"], team["clinician2"], team["trainee"]
    gen_patient(clinician)
    gen_patient(clinician, co_facilitator=clinician2)
    gen_patient(clinician2, co_facilitator=team["outsider"])
    gen_patient(trainee)  # a practice patient
    gen_patient(team["outsider"])
    gen_patient(team["outsider"], co_facilitator=clinician)
    inactive = gen_user(Role.CLINICIAN, clinic, supervisor=team["supervisor"])
    gen_patient(inactive)
    inactive.active = False
    db.session.commit()
    return [*team.values(), inactive]


def test_the_bound_rule_selects_exactly_the_patients_of_the_written_rule(caseloads):
    statements = {}
    for user in caseloads:
        written = set(db.session.scalars(sa.select(Patient.id).where(caseload_filter(user))))
        key = caseload_key(user)
        statements.setdefault(key, sa.select(Patient.id).where(caseload_rule(*key)))
        bound = set(db.session.scalars(statements[key], caseload_params(user)))
        assert bound == written, user.role
    # One statement served several users of a role, each seeing only their own caseload.
    assert len(statements) < len(caseloads)


def test_a_statement_built_on_the_bound_rule_refuses_to_run_without_the_user(db):
    with pytest.raises(sa.exc.StatementError, match="caseload_user_id"):
        db.session.scalars(sa.select(Patient.id).where(caseload_rule(Role.CLINICIAN))).all()


def test_a_team_found_from_its_members_is_exactly_the_supervisors_caseload(caseloads):
    # The lists of a supervisor's caseload start from the team and ask no rule of each patient:
    # they show what the rule allows only because the two select the same patients.
    checked = 0
    for user in caseloads:
        key = caseload_key(user)
        params = caseload_params(user)
        rule = set(db.session.scalars(sa.select(Patient.id).where(caseload_rule(*key)), params))
        assert set(db.session.scalars(caseload_patients(*key), params)) == rule, user.role
        for practice in (sa.false(), sa.true()):
            kind = rule & set(
                db.session.scalars(sa.select(Patient.id).where(Patient.is_practice == practice))
            )
            of_kind = caseload_patients(*key, practice=practice)
            assert set(db.session.scalars(of_kind, params)) == kind, user.role
        team = team_patients(*key)
        if team is not None:
            assert set(db.session.scalars(team, params)) == rule
            checked += 1
    assert checked  # the fixture has a supervisor


def test_an_inactive_supervisors_team_is_empty(caseloads, team):
    supervisor = team["supervisor"]
    supervisor.active = False
    key = caseload_key(supervisor)
    assert key == (Role.SUPERVISOR, False)
    assert not db.session.scalars(team_patients(*key), caseload_params(supervisor)).all()


def test_postgresql_finds_a_teams_members_first_and_searches_the_clinician_indexes():
    # `IN (subquery)` led PostgreSQL to read every patient of the network for each team
    # statement; `= ANY(ARRAY(subquery))` finds the members, then searches the index.
    from sqlalchemy.dialects import postgresql, sqlite

    statement = sa.select(Patient.id).where(
        caseload_rule(Role.SUPERVISOR), Patient.id.in_(team_patients(Role.SUPERVISOR))
    )
    on_postgresql = str(statement.compile(dialect=postgresql.dialect()))
    assert on_postgresql.count("= ANY(ARRAY(SELECT users.id") == 4
    assert " IN (SELECT users.id" not in on_postgresql
    on_sqlite = str(statement.compile(dialect=sqlite.dialect()))
    assert on_sqlite.count(" IN (SELECT users.id") == 4 and "ANY" not in on_sqlite
    # A comparison, not a value compared with true: `IN (...) = 1` made SQLite scan the index.
    assert "= 1" not in on_sqlite and "= true" not in on_postgresql.lower()


def test_a_caseloads_courses_found_by_care_team_are_exactly_the_courses_of_its_patients(
    caseloads, team
):
    # Every list of a caseload's courses reads the care team each course carries, never the
    # patient: they show what the rule allows only because the copy selects the same courses.
    for patient in db.session.scalars(sa.select(Patient)).all():
        gen_course(patient, Phase.COMPLETED)
        gen_course(patient, Phase.PREPARATION)
    # A patient whose lead and co-facilitator are both of the supervisor's team: once.
    both = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    gen_course(both, Phase.SCREENING)
    db.session.commit()
    checked = cut_by_phase = 0
    for user in caseloads:
        key, params = caseload_key(user), caseload_params(user)
        for practice in (None, sa.false(), sa.true()):
            rule = [caseload_rule(*key)]
            if practice is not None:
                rule.append(Patient.is_practice == practice)
            expected = sorted(
                db.session.scalars(sa.select(Course.id).join(Course.patient).where(*rule), params)
            )
            courses = caseload_courses(*key, practice=practice)
            found = db.session.scalars(sa.select(courses.c.id), params).all()
            assert sorted(found) == expected, (user.role, practice)
            checked += bool(expected)
        in_preparation = caseload_courses(*key, where=lambda c: [c.c.phase == Phase.PREPARATION])
        phases = set(db.session.scalars(sa.select(in_preparation.c.phase), params))
        assert phases <= {Phase.PREPARATION}
        cut_by_phase += phases == {Phase.PREPARATION}
    assert checked and cut_by_phase


def test_a_caseloads_courses_follow_a_patient_handed_to_another_clinician(team):
    # The copy is kept by the stored-values watch: a reassignment moves every course of the
    # patient, within the transaction that reassigns it.
    clinician, clinician2 = team["clinician"], team["clinician2"]
    patient = gen_patient(clinician)
    first, second = gen_course(patient, Phase.COMPLETED), gen_course(patient, Phase.PREPARATION)
    courses = caseload_courses(Role.CLINICIAN)

    def caseload_of(user):
        return set(db.session.scalars(sa.select(courses.c.id), caseload_params(user)))

    # A new course carries it from its insert: listed in the transaction that started it.
    assert {first.id, second.id} <= caseload_of(clinician)
    db.session.commit()
    patient.lead_clinician_id = clinician2.id
    patient.co_facilitator_id = clinician.id
    db.session.commit()
    assert (second.lead_clinician_id, second.co_facilitator_id) == (clinician2.id, clinician.id)
    assert {first.id, second.id} <= caseload_of(clinician2)
    patient.co_facilitator_id = None
    db.session.commit()
    assert not {first.id, second.id} & caseload_of(clinician)


def test_an_inactive_users_caseload_has_no_courses(caseloads, team):
    supervisor = team["supervisor"]
    gen_course(gen_patient(team["clinician"]))
    db.session.commit()
    courses = caseload_courses(Role.SUPERVISOR, active=False)
    assert not db.session.scalars(sa.select(courses.c.id), caseload_params(supervisor)).all()


def test_a_supervisors_open_alert_counts_are_their_teams_open_alerts_only(team):
    # Counted from the team's courses by their care team: another team's alerts, a closed
    # alert and a practice patient's alert (counted on the practice side) stay out.
    from psiflow.domain.safety import AlertKind, Severity
    from psiflow.models import Alert
    from psiflow.models.alerts import open_alert_counts
    from psiflow.models.types import utcnow

    def alert(lead, severity, kind, closed=False, **patient):
        course = gen_course(gen_patient(lead, **patient), Phase.INTEGRATION)
        db.session.add(
            Alert(
                course=course,
                kind=kind,
                severity=severity,
                message="test",
                acknowledged_at=utcnow() if closed else None,
            )
        )

    alert(team["clinician"], Severity.CRITICAL, AlertKind.SUICIDE_RISK)
    alert(team["clinician2"], Severity.WARNING, AlertKind.SAFETY_CHECK_IN)
    alert(
        team["outsider"],
        Severity.WARNING,
        AlertKind.SAFETY_CHECK_IN,
        co_facilitator=team["clinician"],
    )
    alert(team["clinician"], Severity.WARNING, AlertKind.SAFETY_CHECK_IN, closed=True)
    alert(team["outsider"], Severity.CRITICAL, AlertKind.VITALS)  # another team's
    alert(team["trainee"], Severity.INFORMATION, AlertKind.SCREENING_FLAG)  # practice
    db.session.commit()
    supervisor = team["supervisor"]
    assert open_alert_counts(supervisor) == {
        Severity.CRITICAL: 1,
        Severity.WARNING: 2,
        Severity.INFORMATION: 0,
    }
    assert open_alert_counts(supervisor, practice=True) == {
        Severity.CRITICAL: 0,
        Severity.WARNING: 0,
        Severity.INFORMATION: 1,
    }
    assert open_alert_counts(team["other_supervisor"]) == dict.fromkeys(Severity, 0)


def test_a_new_course_takes_its_patients_care_team_whatever_it_was_given(team):
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    course = gen_course(patient)
    db.session.commit()
    stray = Course(
        patient=patient,
        protocol_id=course.protocol_id,
        protocol_version=course.protocol_version,
        phase=Phase.COMPLETED,
        phase_entered_at=course.phase_entered_at,
        started_by_id=team["clinician"].id,
        lead_clinician_id=team["outsider"].id,
        is_practice=True,
    )
    db.session.add(stray)
    db.session.flush()
    team_ids = (team["clinician"].id, team["clinician2"].id, False)
    assert (stray.lead_clinician_id, stray.co_facilitator_id, stray.is_practice) == team_ids


def test_a_teams_open_alerts_follow_a_patient_handed_to_another_team(team):
    # Each alert carries its patient's care team from its insert, whatever it was given, and
    # the stored-values watch moves it with the patient: the counts and the board's critical
    # alerts are the new team's within the transaction that hands the patient over.
    from psiflow.domain.safety import AlertKind, Severity
    from psiflow.models import Alert
    from psiflow.models.alerts import open_alert_counts, open_critical_alerts
    from psiflow.models.stored import care_team

    supervisor, other = team["supervisor"], team["other_supervisor"]
    team["outsider"].supervisor_id = other.id
    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.INTEGRATION)
    alert = Alert(
        course=course,
        kind=AlertKind.SUICIDE_RISK,
        severity=Severity.CRITICAL,
        message="test",
        lead_clinician_id=team["outsider"].id,
        is_practice=True,
    )
    db.session.add(alert)
    db.session.flush()
    assert (alert.lead_clinician_id, alert.co_facilitator_id, alert.is_practice) == (
        team["clinician"].id,
        None,
        False,
    )
    assert open_alert_counts(supervisor)[Severity.CRITICAL] == 1
    assert open_critical_alerts(supervisor, 5) == [alert]
    assert open_alert_counts(other)[Severity.CRITICAL] == 0
    db.session.commit()

    patient.lead_clinician_id = team["outsider"].id
    db.session.commit()
    assert alert.lead_clinician_id == team["outsider"].id
    assert open_alert_counts(supervisor)[Severity.CRITICAL] == 0
    assert open_critical_alerts(supervisor, 5) == []
    assert open_alert_counts(other)[Severity.CRITICAL] == 1
    assert open_critical_alerts(other, 5) == [alert]
    # Co-facilitated by a member of the team: the team's again, counted once.
    patient.co_facilitator_id = team["clinician2"].id
    db.session.commit()
    assert open_alert_counts(supervisor)[Severity.CRITICAL] == 1
    assert open_alert_counts(other)[Severity.CRITICAL] == 1

    # A copy changed past the application is found by the check, and put right by refresh.
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(Alert.__table__)
            .where(Alert.__table__.c.id == alert.id)
            .values(lead_clinician_id=None)
        )
    with db.engine.begin() as connection:
        assert [d.value for d in care_team.stale(connection, [course.id])] == [
            f"care_team of alert {alert.id}"
        ]
        care_team.refresh(connection, [course.id])
        assert care_team.stale(connection, [course.id]) == []


def test_sqlite_counts_a_teams_open_alerts_from_the_partial_indexes_whatever_its_statistics(team):
    # SQLite's statistics give rows per value: with most alerts closed at distinct moments,
    # `acknowledged_at IS NULL` looked like one row and the network's open alerts were searched
    # by it. Stated as true of most rows (`likely`), each member's range is read instead. The
    # statistics are those `ANALYZE` wrote for the benchmark's 100,000 patients.
    from psiflow.models.alerts import _open_counts_statement

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL keeps the share of NULLs in its statistics")
    connection = db.session.connection()
    connection.exec_driver_sql("ANALYZE")  # makes the statistics table
    connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'alerts'")
    for index, stat in [
        ("ix_alerts_acknowledged_at", "47754 1"),
        ("ix_alerts_raised_at", "47754 1"),
        ("ix_alerts_course_id", "47754 2"),
        ("ix_alerts_open_course", "756 1 1"),
        ("ix_alerts_open_lead", "756 2 2 2 1 1"),
        ("ix_alerts_open_co", "756 4 4 3 1 1"),
    ]:
        connection.exec_driver_sql(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('alerts', ?, ?)", (index, stat)
        )
    connection.exec_driver_sql("ANALYZE sqlite_schema")  # reads them again
    compiled = _open_counts_statement(*caseload_key(team["supervisor"])).compile(
        dialect=db.engine.dialect
    )
    params = compiled.construct_params({**caseload_params(team["supervisor"]), "practice": False})
    try:
        plan = " ".join(
            row[3]
            for row in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}",
                tuple(params[key] for key in compiled.positiontup),
            )
        )
    finally:  # no other test plans with these statistics
        connection.exec_driver_sql("DELETE FROM sqlite_stat1")
        connection.exec_driver_sql("ANALYZE sqlite_schema")
    assert "INDEX ix_alerts_open_lead" in plan and "INDEX ix_alerts_open_co" in plan, plan
    assert "ix_alerts_acknowledged_at" not in plan
