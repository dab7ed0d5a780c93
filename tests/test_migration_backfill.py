"""Migrations 0008 and 0011 fill each existing course's stored values by the app's own rules:
`attention_from` by the schedule rule, `stored_facts` by the gate fact sources."""

from datetime import timedelta

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from psiflow import create_app
from psiflow.access import Role
from psiflow.domain.phases import GATE_FACTS, Phase
from psiflow.domain.signing import Meaning
from psiflow.extensions import db
from psiflow.models import Course
from psiflow.models.records import sign_record
from psiflow.models.types import utcnow
from tests.conftest import app_config
from tests.factories import gen_clinic, gen_course, gen_dosing_session, gen_patient, gen_user
from tests.integration_factories import dosed_course
from tests.test_migrations import fresh_database_url  # noqa: F401  (a fixture)


def test_the_migration_fills_the_stored_attention_of_existing_courses(fresh_database_url):  # noqa: F811
    app = create_app(app_config(fresh_database_url))
    with app.app_context():
        upgrade()
        clinician = gen_user(Role.CLINICIAN, gen_clinic())
        dosed = gen_course(gen_patient(clinician), Phase.INTEGRATION, "mdma-three-session@1.0")
        dosed_course(dosed, utcnow() - timedelta(days=1))
        waiting = gen_course(gen_patient(clinician), Phase.PREPARATION)
        db.session.commit()
        expected = dict(db.session.execute(sa.select(Course.id, Course.attention_from)).all())
        assert expected[dosed.id] is not None and expected[waiting.id] is None
        db.session.remove()

        downgrade(revision="0007_returned_notes_index")
        upgrade()

        stored = dict(db.session.execute(sa.select(Course.id, Course.attention_from)).all())
        assert stored == expected
        db.session.remove()
        db.engine.dispose()


def test_the_migration_fills_the_stored_gate_facts_of_existing_courses(fresh_database_url):  # noqa: F811
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
        db.session.remove()

        downgrade(revision="0009_outcome_scores_index")
        upgrade()

        stored = dict(db.session.execute(sa.select(Course.id, Course.stored_facts)).all())
        assert stored == expected
        db.session.remove()
        db.engine.dispose()
