"""The caseload rule in its two SQL forms: with the user's id written in (`caseload_filter`)
and with it bound at execution (`caseload_rule`, for statements built once per role)."""

import pytest
import sqlalchemy as sa

from psiflow.access import Role
from psiflow.extensions import db
from psiflow.models import Patient
from psiflow.models.patients import (
    caseload_filter,
    caseload_key,
    caseload_params,
    caseload_patients,
    caseload_rule,
    team_patients,
)
from tests.factories import gen_patient, gen_user


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
