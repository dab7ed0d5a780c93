"""Statements built once and reused, the values of a request bound when they run.

Building a SQLAlchemy statement and the cache key that finds its compiled SQL took as long as
running it (about 0.2 ms each on the bench machine), and the patient and live session pages run
twenty statements on every visit. A builder marked `built_once` runs once per distinct argument
(record types, flags: never a request's values, which would grow the cache without end); its
statement names its values as bound parameters, given to `db.session.execute`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sqlalchemy as sa

# The courses a statement is for: `db.session.execute(statement, {"course_ids": [...]})`.
COURSE_IDS = sa.bindparam("course_ids", expanding=True)


def built_once(build: Callable) -> Callable:
    return functools.cache(build)
