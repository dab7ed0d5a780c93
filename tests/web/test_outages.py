"""When what PsiFlow depends on goes away: the rate limiter's storage, the database, the disk
under the audit trail. Nothing is saved half-way, the user is told what happened in words, and
the log says it once, not once per request."""

from __future__ import annotations

import logging
import socket

import pytest
import sqlalchemy as sa

from psiflow import audit, create_app
from psiflow.extensions import db as _db
from psiflow.extensions import limiter
from psiflow.models import AuditEvent
from psiflow.web import errors, outages
from tests.conftest import IsolatedClient, app_config
from tests.factories import TEST_PASSWORD, gen_clinic, gen_patient, gen_user

NAME = "Ottoline Unforgotten"


def _log_in(client, user, **kwargs):
    return client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}, **kwargs)


def _outage_lines(caplog, what: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == outages.log.name and r.getMessage().startswith(what)
    ]


def _assert_our_page_without_patient_data(response):
    html = response.get_data(as_text=True)
    assert "Back to PsiFlow" in html  # our own page, not the server's bare one
    assert NAME not in html
    assert "Traceback" not in html and 'File "' not in html and "sqlalchemy" not in html.lower()
    return html


@pytest.fixture
def named_patient(db, team):
    patient = gen_patient(team["clinician"], display_name=NAME)
    db.session.commit()
    return patient


# --- The rate limiter's storage -------------------------------------------------------------


@pytest.fixture
def limiter_storage_away(make_app, app):
    """An app whose rate limits are counted in a Redis where nothing listens."""
    with socket.socket() as probe:  # a port just given back: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_LOGIN="3 per minute",
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0",
    )
    # The limiter is one object per process and remembers the storage it found dead: the
    # next test's app must find its own storage alive, and the suite's app takes it back.
    limiter._storage_dead = False
    limiter.init_app(app)
    outages.report_back(outages.RATE_LIMIT_STORAGE)


def test_log_in_works_and_is_still_limited_while_the_limiters_storage_is_away(
    limiter_storage_away, team, caplog
):
    caplog.set_level(logging.INFO)
    client = limiter_storage_away.test_client()
    tablet = {"REMOTE_ADDR": "10.15.7.1"}
    clinician = team["clinician"]

    # A facilitator logged out by the idle timeout gets back in (this answered 500).
    assert _log_in(client, clinician, environ_base=tablet).status_code == 302
    assert client.get("/", environ_base=tablet).status_code == 200
    client.post("/logout", environ_base=tablet)

    # The log-in limit (3 a minute) is still counted, in this process.
    wrong = {"email": clinician.email, "password": "not the passphrase"}
    statuses = [client.post("/login", data=wrong, environ_base=tablet).status_code for _ in "abc"]
    assert statuses == [200, 200, 429]
    assert _log_in(client, clinician, environ_base=tablet).status_code == 429
    # Another address has its own count.
    assert _log_in(client, clinician, environ_base={"REMOTE_ADDR": "10.15.7.2"}).status_code == 302

    lines = _outage_lines(caplog, outages.RATE_LIMIT_STORAGE)
    assert len(lines) == 1, lines  # once, not once per request
    assert "unavailable" in lines[0]


# --- The database ---------------------------------------------------------------------------


def _take_the_database_away(app) -> None:
    """Every pooled connection is dropped and no new one can be made, as when the server
    stops: SQLAlchemy meets the driver's own error for a refused connection."""
    with app.app_context():
        engine = _db.engine
    engine.dispose()

    def refuse(*_args, **_kwargs):
        raise engine.dialect.loaded_dbapi.OperationalError("connection refused")

    sa.event.listen(engine, "do_connect", refuse)


@pytest.mark.parametrize("path", ["/", "/patients/{id}", "/no/such/page"])
def test_a_logged_in_user_is_told_the_database_is_away_on_a_page_drawn_without_it(
    make_app, team, named_patient, path
):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    assert _log_in(client, team["clinician"]).status_code == 302
    _take_the_database_away(app)

    response = client.get(path.format(id=named_patient.id))

    assert response.status_code == 503
    html = _assert_our_page_without_patient_data(response)
    title, message = errors.DATABASE_UNAVAILABLE
    assert f"<h1>{title}</h1>" in html
    assert "Nothing was saved" in message and message in html
    assert "Log out" not in html  # who is logged in was not asked of the database
    assert "times shown in" not in html  # nor the zone of their clinic


def test_a_write_refused_by_the_database_answers_the_database_page(make_app, team, db):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    assert _log_in(client, team["clinician"]).status_code == 302
    _take_the_database_away(app)

    response = client.post(
        "/patients/new",
        data={"display_name": NAME, "record_number": "O-1", "co_facilitator_id": 0},
    )

    assert response.status_code == 503
    assert errors.DATABASE_UNAVAILABLE[1] in _assert_our_page_without_patient_data(response)


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


# --- A full disk under the audit trail (SQLite) ---------------------------------------------


@pytest.fixture
def tiny_database(tmp_path):
    """An app on its own SQLite file, whose size can be capped as a full disk would."""
    app = create_app(app_config(f"sqlite:///{tmp_path / 'tiny.sqlite3'}"))
    app.test_client_class = IsolatedClient
    cap = {"pages": None}

    with app.app_context():
        engine = _db.engine

        @sa.event.listens_for(engine, "connect")
        def _cap(dbapi_connection, _record):
            if cap["pages"] is not None:
                dbapi_connection.execute(f"PRAGMA max_page_count = {cap['pages']}")

        _db.create_all()
        clinic = gen_clinic()
        clinician = gen_user(clinic=clinic)
        patient = gen_patient(clinician, display_name=NAME)
        _db.session.commit()
        ids = clinician.email, patient.id

    def fill_up(extra_pages: int | None):
        """Cap the file at its present size plus `extra_pages` (None: no cap)."""
        with app.app_context():
            pages = _db.session.execute(sa.text("PRAGMA page_count")).scalar()
            _db.session.remove()
            engine.dispose()
        cap["pages"] = None if extra_pages is None else pages + extra_pages

    yield app, ids, fill_up
    with app.app_context():
        _db.engine.dispose()
    outages.report_back(outages.AUDIT_TRAIL)


def test_a_full_disk_refuses_the_patient_page_in_words_and_logs_it_once(tiny_database, caplog):
    app, (email, patient_id), fill_up = tiny_database
    caplog.set_level(logging.INFO)
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    page = f"/patients/{patient_id}"
    fill_up(extra_pages=0)

    # Each view writes its audit row until the file has no room for one more.
    for _ in range(500):
        response = client.get(page)
        if response.status_code != 200:
            break
    assert response.status_code == 503
    views = _views_recorded(app)
    html = _assert_our_page_without_patient_data(response)
    assert errors.RECORD_NOT_SHOWN in html
    assert "the record cannot be shown because the audit trail cannot be written" in html.lower()
    assert [client.get(page).status_code for _ in range(3)] == [503, 503, 503]
    assert _views_recorded(app) == views  # refused, so nothing to record
    assert client.get("/").status_code == 200  # the board writes nothing and still works

    lines = _outage_lines(caplog, outages.AUDIT_TRAIL)
    assert len(lines) == 1, lines  # once, not once per refused page
    assert "database or disk is full" in lines[0]
    assert NAME not in caplog.text

    # Room again: the page is shown, its view audited, the chain intact, and the log says so.
    fill_up(extra_pages=None)
    assert client.get(page).status_code == 200
    assert _views_recorded(app) == views + 1
    with app.app_context(), _db.engine.connect() as connection:
        assert audit.verify_chain(connection).ok
    assert _outage_lines(caplog, outages.AUDIT_TRAIL)[1:] == [
        f"{outages.AUDIT_TRAIL} is available again"
    ]


def _views_recorded(app) -> int:
    with app.app_context():
        return _db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "view")
        )
