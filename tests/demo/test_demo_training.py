"""The demo clinic's training: one signed, rated and commented scenario run for the trainee."""

import sqlalchemy as sa

from psiflow import catalog, demo
from psiflow.models import ScenarioRun
from psiflow.models.training import adherence_report, comments_of, fidelity_of


def test_the_demo_trainee_has_a_scored_reviewed_run_missing_one_response(app, db):
    demo.seed_demo()
    db.session.commit()
    run = db.session.scalar(sa.select(ScenarioRun))
    assert run.patient.is_practice and run.trainee.email == "trainee@demo.psiflow"
    assert run.session.is_signed
    report = adherence_report(run, catalog.scenarios()[run.scenario_id])
    missed = [i.key for i in report.items if not i.met]
    assert missed == ["vomiting.adverse_event"], [(i.key, i.evidence) for i in report.items]
    assert fidelity_of(run)
    assert list(comments_of(run)) == ["vomiting.adverse_event"]
