"""The benchmark's seed fills each course's stored values by the app's own rules: its schedule
after dosing (`attention_from` and its due items) by the schedule rule, `stored_facts` by the
gate fact sources; each course and each alert carries its patient's care team."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import run
from psiflow import create_app
from psiflow.extensions import db
from psiflow.models import Alert, Course, CourseDueItem
from psiflow.models.stored import attention, care_team, gates


@pytest.mark.bench
def test_the_seeded_courses_store_the_schedule_rule_and_their_gate_facts(tmp_path, monkeypatch):
    monkeypatch.delenv("PSIFLOW_BENCH_DATABASE_URL", raising=False)
    url = run.database.database_url(tmp_path)
    run.seed(url, 60)
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": url})
    with app.app_context():
        ids = db.session.scalars(sa.select(Course.id)).all()
        moments = db.session.scalars(sa.select(Course.attention_from)).all()
        items = db.session.scalar(sa.select(sa.func.count()).select_from(CourseDueItem))
        stale_schedules = attention.stale(db.session.connection(), ids)
        stale_gates = gates.stale(db.session.connection(), ids)
        stale_care_teams = care_team.stale(db.session.connection(), ids)
        alerts = db.session.scalar(sa.select(sa.func.count()).select_from(Alert))
        facts = db.session.scalars(sa.select(Course.stored_facts)).all()
        db.session.remove()
        db.engine.dispose()
    assert not stale_schedules
    assert any(at is not None for at in moments) and items
    assert not stale_gates and None not in facts and any(facts)
    assert not stale_care_teams and alerts
