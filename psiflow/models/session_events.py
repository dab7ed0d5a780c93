"""Listeners on every database session, whoever opened it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so


def listen_on_every_session(listeners: Iterable[tuple[str, Callable]]) -> None:
    """Register each (event name, listener) on the base Session class, so every session is
    covered, including ones a worker thread or a command opens itself; once, however many
    apps are made (the tests make several)."""
    for name, listener in listeners:
        if not sa.event.contains(so.Session, name, listener):
            sa.event.listen(so.Session, name, listener)
