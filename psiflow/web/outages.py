"""The log's record of what PsiFlow depends on going away and coming back.

A dependency that is away fails or degrades every request that needs it: its outage is logged
once, when this process first meets it, and once more when it is back, not once per request.
Each process (each gunicorn worker) keeps its own note and so logs its own line.
"""

from __future__ import annotations

import logging
import threading

from psiflow.extensions import limiter

AUDIT_TRAIL = "The audit trail"
RATE_LIMIT_STORAGE = "The rate limiter's storage"

log = logging.getLogger(__name__)
_away: set[str] = set()
_lock = threading.Lock()


def report_away(what: str, consequence: str) -> None:
    """Log that `what` is unavailable, unless this process has already said so."""
    with _lock:
        if what in _away:
            return
        _away.add(what)
    log.error("%s is unavailable: %s", what, consequence)


def report_back(what: str) -> None:
    if what not in _away:  # the usual case, answered without taking the lock
        return
    with _lock:
        if what not in _away:
            return
        _away.discard(what)
    log.warning("%s is available again", what)


def init_app(app) -> None:
    if app.config["RATELIMIT_ENABLED"]:
        app.teardown_request(_note_rate_limit_storage)


def _note_rate_limit_storage(_error) -> None:
    # While its storage (Redis) is away the limiter counts in this process instead (see
    # extensions.py); its own warning goes to a logger nobody reads. Both are public: the
    # storage it was given, and the one the limiter in use counts in.
    if not limiter.enabled:
        return
    if limiter.limiter.storage is limiter.storage:
        report_back(RATE_LIMIT_STORAGE)
    else:
        report_away(
            RATE_LIMIT_STORAGE,
            "log-ins and other limited requests are counted in each server process until "
            "it is back",
        )
