"""A request that wrote nothing ends with COMMIT (PostgreSQL's driver keeps its prepared
statements then); one that wrote, left changes unsaved or failed still rolls back."""

import contextvars

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.models import Patient
from tests.factories import gen_patient


@pytest.fixture
def endings(app, db):
    seen = []
    listeners = {
        "commit": lambda _conn: seen.append("commit"),
        "rollback": lambda _conn: seen.append("rollback"),
    }
    for name, listener in listeners.items():
        sa.event.listen(db.engine, name, listener)
    yield seen
    for name, listener in listeners.items():
        sa.event.remove(db.engine, name, listener)


def _in_a_request(app, work) -> None:
    """`work` inside a request of its own, ended as the server ends one."""

    def request():
        with app.test_request_context("/"):
            work()

    contextvars.Context().run(request)


def _name(db, patient_id) -> str:
    with db.engine.connect() as connection:
        return connection.scalar(sa.select(Patient.display_name).where(Patient.id == patient_id))


def test_a_page_that_only_read_ends_its_transaction_with_commit(client, login_as, team, endings):
    login_as(team["clinician"])
    endings.clear()
    assert client.get("/").status_code == 200
    assert endings == ["commit"]


def test_a_request_that_changed_a_record_without_saving_it_rolls_back(app, db, team, endings):
    patient_id = gen_patient(team["clinician"], display_name="Kept Name").id
    db.session.commit()

    def unsaved():
        db.session.get(Patient, patient_id).display_name = "Never Saved"

    def flushed():
        db.session.get(Patient, patient_id).display_name = "Flushed Only"
        db.session.flush()

    def failed():
        db.session.get(Patient, patient_id)
        raise RuntimeError("the view failed")

    for work in (unsaved, flushed):
        endings.clear()
        _in_a_request(app, work)
        assert endings == ["rollback"], work.__name__
        assert _name(db, patient_id) == "Kept Name"
    endings.clear()
    with pytest.raises(RuntimeError):
        _in_a_request(app, failed)
    assert endings == ["rollback"]


def test_postgresql_keeps_a_pages_statements_prepared_from_one_visit_to_the_next(
    client, login_as, team, db
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's driver's")
    login_as(team["supervisor"])
    used = []

    def note(_conn, cursor, *_args):
        used.append(cursor.connection)

    sa.event.listen(db.engine, "after_cursor_execute", note)
    try:
        for _ in range(7):  # the driver prepares a statement on its fifth run
            assert client.get("/").status_code == 200
    finally:
        sa.event.remove(db.engine, "after_cursor_execute", note)
    connection = used[-1]  # idle in the pool now
    prepared = connection.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
    connection.rollback()
    assert prepared > 0


def test_a_read_only_request_whose_commit_fails_still_answers(client, login_as, team, db):
    # Nothing was written, so a commit lost with the connection loses nothing: the page the
    # user already has must not turn into a server error.
    login_as(team["clinician"])
    tests_own = db.session()  # committed before each request: not the request's

    def lost(session):
        if session is not tests_own:
            raise sa.exc.OperationalError("COMMIT", {}, Exception("connection lost"))

    sa.event.listen(so.Session, "before_commit", lost)
    try:
        assert client.get("/").status_code == 200
    finally:
        sa.event.remove(so.Session, "before_commit", lost)
