"""Fixtures: one app per test session on a fresh database, emptied after every test.

The database is SQLite in a temporary folder, or PostgreSQL when PSIFLOW_TEST_DATABASE_URL
names one, so the same suite proves both.
"""

from __future__ import annotations

import contextvars
import os
import re
import secrets

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient

from psiflow import create_app
from psiflow.extensions import db as _db
from tests.factories import TEST_PASSWORD, gen_clinic, gen_user

TEST_DATABASE_URL = os.environ.get("PSIFLOW_TEST_DATABASE_URL")


def app_config(database_url: str, **overrides) -> dict:
    return {
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        **overrides,
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'psiflow-test.sqlite3'}"


class IsolatedClient(FlaskClient):
    """A test client whose requests run as they would in production: in their own app
    context, with their own `g` and database session, never the test's.

    What the test has built is committed first, so the request sees it; the test's objects
    then reload from the database when next read, so assertions see what was stored.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            _db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(app_config(database_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield app
    with app.app_context():
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def make_app(database_url, app):
    """Another app on the same database with some settings changed (CSRF on, rate limits...)."""

    made = []

    def make(**overrides):
        other = create_app(app_config(database_url, **overrides))
        other.test_client_class = IsolatedClient
        made.append(other)
        return other

    yield make
    # Each app has its own engine: close its pooled connections, or PostgreSQL's linger until
    # garbage collection and surface as a ResourceWarning in whichever test runs then.
    for other in made:
        with other.app_context():
            _db.engine.dispose()


def _empty_tables() -> None:
    _db.session.rollback()
    with _db.engine.begin() as connection:
        for table in reversed(_db.metadata.sorted_tables):
            connection.execute(table.delete())


def stale_stored_values() -> list:
    """Stored values that disagree with their rules over what is committed, as
    `flask --app psiflow stored-values verify` lists them (`Disagreement`s)."""
    from psiflow.models import stored

    with _db.engine.connect() as connection:
        return stored.verify(connection)


def _commit_what_the_test_left() -> None:
    # What a test built and only flushed is committed too, so every write path the suite
    # takes, factories included, goes past the stored-value check below.
    try:
        _db.session.commit()
    except Exception:  # noqa: BLE001 - a test may leave a session it broke on purpose
        _db.session.rollback()


@pytest.fixture
def db(app):
    with app.app_context():
        yield _db
        _commit_what_the_test_left()
        _db.session.remove()
        stale = stale_stored_values()
        _empty_tables()
        assert not stale, f"stored values disagree with their rules: {stale}"


@pytest.fixture
def client(app, db):
    return app.test_client()


class AuthActions:
    """Logs in through the real login form, as a user would."""

    def __init__(self, client):
        self._client = client

    def login(self, user, password: str = TEST_PASSWORD):
        return self._client.post(
            "/login", data={"email": user.email, "password": password}, follow_redirects=False
        )

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def clinic(db):
    return gen_clinic()


@pytest.fixture
def team(db, clinic):
    """A supervisor with two clinicians and a trainee, and an unrelated clinician."""
    from psiflow.access import Role

    supervisor = gen_user(Role.SUPERVISOR, clinic)
    members = {
        "supervisor": supervisor,
        "clinician": gen_user(Role.CLINICIAN, clinic, supervisor=supervisor),
        "clinician2": gen_user(Role.CLINICIAN, clinic, supervisor=supervisor),
        "trainee": gen_user(Role.TRAINEE, clinic, supervisor=supervisor),
        "outsider": gen_user(Role.CLINICIAN, clinic),
        "other_supervisor": gen_user(Role.SUPERVISOR, clinic),
        "admin": gen_user(Role.ADMIN, clinic),
    }
    _db.session.commit()
    return members


@pytest.fixture
def login_as(client, auth):
    def login(user):
        response = auth.login(user)
        assert response.status_code == 302, "log-in failed"
        return client

    return login


_CELL = re.compile(r"<td(\s[^>]*)?>\s*(<a\s)?")


def unlabelled_cells(html: str) -> list[str]:
    """The table cells a phone would stack without a name: every data cell names its column
    in data-label (psiflow.css), save a cell spanning the row or holding only a link."""
    return [
        m.group(0)
        for m in _CELL.finditer(html)
        if "data-label=" not in (m.group(1) or "")
        and "colspan=" not in (m.group(1) or "")
        and not m.group(2)
    ]


def count_queries(engine):
    """A context manager counting the SQL statements run on `engine`."""
    return _QueryCounter(engine)


def statements_of(engine, action) -> list[str]:
    """The SQL statements `action()` runs on `engine`, in order."""
    with count_queries(engine) as counter:
        action()
    return counter.statements


class _QueryCounter:
    def __init__(self, engine):
        self.engine = engine
        self.count = 0
        self.statements: list[str] = []

    def _on_execute(self, _conn, _cursor, statement, *args, **kwargs):
        self.count += 1
        self.statements.append(statement)

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._on_execute)
