"""Statements are plain functions that build a SQLAlchemy statement, a request's values bound
as parameters when it runs (`db.session.execute(statement, {...})`; a caseload's user is
`models.patients.CASELOAD_USER`).

Building a statement and the cache key that finds its compiled SQL can take as long as running
it: from 0.04 ms for a one-table select to 1-5 ms for a board's or the review queue's (the
least of fifteen runs on the shared two-core machine), and 1-10 ms for all the statements of
one page. So a builder that a page runs on every visit is decorated with `functools.cache`, the
figure beside it; its arguments are a few fixed things (record types, a role, which filters
are set), never a request's values, which would grow the cache without end. A builder run
rarely (a command, a migration check) needs none.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from psiflow.extensions import db


def fixed(column, value) -> sa.BindParameter:
    """`value` for comparing with `column`, written into the statement's text rather than sent
    as a parameter. PostgreSQL plans a prepared statement once for all executions only when
    its parameters are the request's own values (a user's id): with a record's status sent as
    one, it estimated every status as common, judged the shared plan worse, and planned the
    review queue's nine-table union again on each execution (~2 ms of a supervisor's board,
    against ~0.1 ms to run the shared plan)."""
    return sa.bindparam(None, value, type_=column.type, literal_execute=True)


class _Likely(sa.sql.expression.ColumnElement):
    """A condition with how often it holds, for SQLite's planner (`likely`)."""

    inherit_cache = True
    type = sa.Boolean()
    _is_implicitly_boolean = True  # a condition as it is, not compared with true

    # Both in the cache key: the probability is written into the SQL.
    _traverse_internals = [
        ("condition", sa.sql.visitors.InternalTraversal.dp_clauseelement),
        ("probability", sa.sql.visitors.InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, condition, probability: float):
        self.condition = condition
        self.probability = probability


@compiles(_Likely)
def _likely_as_is(element, compiler, **kw):
    return compiler.process(element.condition, **kw)


@compiles(_Likely, "sqlite")
def _likely_on_sqlite(element, compiler, **kw):
    return f"likelihood({compiler.process(element.condition, **kw)}, {element.probability})"


def likely(condition, probability: float):
    """`condition`, telling SQLite's planner it holds for about `probability` of the rows
    (`likelihood()`; other databases read their own statistics). A column's statistics give
    the rows per value, so SQLite took `acknowledged_at IS NULL`, true of every open alert,
    for one row and searched the network's open alerts by it instead of a team's range of a
    partial index of them (3.7 ms, then 0.07 ms, at 100,000 patients)."""
    return _Likely(condition, probability)


# The courses a statement is for: `db.session.execute(statement, {"course_ids": [...]})`.
COURSE_IDS = sa.bindparam("course_ids", expanding=True)


def read_columns(statement, params: dict) -> sa.CursorResult:
    """Run a statement that selects columns, not mapped objects, on the session's connection,
    in its transaction and after what is pending is flushed, as the session would. The ORM's
    way, made for statements that load objects, cost 0.14 ms more a statement: 0.8 ms of a
    supervisor's board, which runs six such statements."""
    session = db.session
    session.flush()
    return session.connection().execute(statement, params)
