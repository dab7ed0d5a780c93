"""Committing a request's write when all that follows is its answer (a redirect)."""

from psiflow.extensions import db


def commit_for_the_answer() -> None:
    """Commit, keeping the loaded objects as they were written.

    A commit normally expires everything, so the answer's first read of the record, the
    session it belongs to or the signed-in user reloads each row: a statement apiece for
    values this request has just written or read. Only for a request that answers at once,
    from what it wrote; a later read of an attribute not loaded still goes to the database.
    """
    session = db.session()
    expiring = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring
