"""Statements built once and reused, the values of a request bound when they run.

Building a SQLAlchemy statement and the cache key that finds its compiled SQL took as long as
running it (about 0.2 ms each on the bench machine), and the patient and live session pages run
twenty statements on every visit. A statement of one shape is a module constant; a builder
whose shape depends on a few fixed things (record types, a role, which filters are set) is
marked `built_once` and runs once per distinct argument (never a request's values, which would
grow the cache without end). The statement names its values as bound parameters, given to
`db.session.execute`; a caseload's user is `models.patients.CASELOAD_USER`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sqlalchemy as sa

# The courses a statement is for: `db.session.execute(statement, {"course_ids": [...]})`.
COURSE_IDS = sa.bindparam("course_ids", expanding=True)


def built_once(build: Callable) -> Callable:
    return functools.cache(build)
