"""The benchmark's seed fills each course's stored outcome scores by the app's own rule."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import run
from psiflow import create_app
from psiflow.extensions import db
from psiflow.models import Course
from psiflow.models.stored.outcomes import compute, stored


@pytest.mark.bench
def test_the_seeded_courses_store_their_outcome_scores(tmp_path, monkeypatch):
    monkeypatch.delenv("PSIFLOW_BENCH_DATABASE_URL", raising=False)
    url = run.database.database_url(tmp_path)
    run.seed(url, 60)
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": url})
    with app.app_context():
        with db.engine.connect() as connection:
            ids = connection.execute(sa.select(Course.id)).scalars().all()
            found, fresh = stored(connection, ids), compute(connection, ids)
        db.engine.dispose()
    assert found == fresh
    assert fresh
