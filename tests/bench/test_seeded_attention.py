"""The benchmark's seed fills each course's stored values by the app's own rules: `attention_from`
by the schedule rule, `stored_facts` by the gate fact sources."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import run
from psiflow import catalog, create_app
from psiflow.extensions import db
from psiflow.models import Course
from psiflow.models.stored import gates
from psiflow.models.stored.attention import compute


@pytest.mark.bench
def test_the_seeded_courses_store_the_schedule_rule_and_their_gate_facts(tmp_path, monkeypatch):
    monkeypatch.delenv("PSIFLOW_BENCH_DATABASE_URL", raising=False)
    url = run.database.database_url(tmp_path)
    run.seed(url, 60)
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": url})
    with app.app_context():
        rows = db.session.execute(
            sa.select(Course.id, Course.protocol_id, Course.protocol_version, Course.attention_from)
        ).all()
        fresh = compute(db.session, [row[:3] for row in rows], catalog.protocols())
        stale_gates = gates.stale(db.session.connection(), [row[0] for row in rows])
        facts = db.session.scalars(sa.select(Course.stored_facts)).all()
        db.session.remove()
        db.engine.dispose()
    assert {row[0]: row[3] for row in rows} == fresh
    assert any(at is not None for at in fresh.values())
    assert not stale_gates and None not in facts and any(facts)
