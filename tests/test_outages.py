"""When what PsiFlow depends on goes away: the rate limiter's storage, the database, the disk
under the audit trail. Nothing is saved half-way, the user is told what happened in words, and
the log says it once, not once per request."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from psiflow.extensions import db as _db
from tests.factories import TEST_PASSWORD, gen_patient

NAME = "Ottoline Unforgotten"


def _log_in(client, user, **kwargs):
    return client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}, **kwargs)


@pytest.fixture
def named_patient(db, team):
    patient = gen_patient(team["clinician"], display_name=NAME)
    db.session.commit()
    return patient


# --- Dead pooled connections ----------------------------------------------------------------


def test_a_connection_dropped_under_the_pool_costs_no_request(make_app, team, named_patient, db):
    """A database restart leaves every pooled connection dead: the next requests must not
    fail on them (four did per restart)."""
    app = make_app()
    with app.app_context():
        engine = _db.engine
    opened = []
    sa.event.listen(
        engine, "connect", lambda dbapi_connection, _record: opened.append(dbapi_connection)
    )
    client = app.test_client()
    assert _log_in(client, team["clinician"]).status_code == 302
    assert client.get(f"/patients/{named_patient.id}").status_code == 200
    assert opened

    if engine.dialect.name == "postgresql":
        # The server ends the pooled connections, as a restart does.
        for connection in opened:
            pid = connection.info.backend_pid
            assert db.session.scalar(sa.select(sa.func.pg_terminate_backend(pid)))
    else:
        # SQLite has no server: the connections are closed under the pool instead.
        for connection in opened:
            connection.close()

    responses = [client.get(f"/patients/{named_patient.id}") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]


def test_the_engine_checks_a_pooled_connection_before_using_it(app):
    with app.app_context():
        assert _db.engine.pool._pre_ping
