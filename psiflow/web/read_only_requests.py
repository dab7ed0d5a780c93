"""A request that wrote nothing ends its transaction with COMMIT instead of ROLLBACK.

PostgreSQL's driver (psycopg) prepares each statement a connection has run five times, and
PostgreSQL then plans it once for every later run. A ROLLBACK makes the driver drop every
statement it prepared (a rollback may have undone what they name). The session's close at the
end of every request rolled back, so no statement ever stayed prepared and every page planned
each of its statements again: on the supervisor's board 6-7 ms of planning for nine
statements, the review queue's count alone ~3 ms. To the database, committing a transaction
that wrote nothing is the same as rolling it back. A request that wrote, left changes
unflushed, or failed still ends as before: the session's close rolls it back.
"""

from __future__ import annotations

import sqlalchemy as sa

from psiflow.models.session_events import listen_on_every_session

_WROTE = "psiflow.read_only_requests.wrote"


def init_app(app) -> None:
    from psiflow.extensions import db

    listen_on_every_session(
        (
            ("after_flush", _note_flush),
            ("do_orm_execute", _note_statement),
            ("after_transaction_end", _forget),
        )
    )

    # Registered after the extension's own teardown, so it runs before the session's removal.
    @app.teardown_appcontext
    def _end_read_only(exc):
        if exc is not None or not db.session.registry.has():
            return
        session = db.session()
        if not session.in_transaction() or session.info.get(_WROTE):
            return
        if session.new or session.dirty or session.deleted:
            return  # changes a view chose not to save: the close rolls them back
        try:
            session.commit()
        except sa.exc.SQLAlchemyError:
            # Nothing was written, so nothing is lost: the page already answered, and a
            # connection lost now is the pool's to replace, not a reason to fail it.
            session.rollback()


def _note_flush(session, _flush_context) -> None:
    session.info[_WROTE] = True


def _note_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def _forget(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)
