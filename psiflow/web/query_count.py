"""Counts the SQL statements each request runs, for the benchmark and the query-count tests.

Off unless `QUERY_COUNT_HEADER` is set: then every response carries `X-Query-Count`. A live
clinic never sets it, so its engine has no listener and its responses say nothing about its SQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_app_context

HEADER = "X-Query-Count"


def init_app(app) -> None:
    if not app.config["QUERY_COUNT_HEADER"]:
        return
    from psiflow.extensions import db

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", _count_statement)
    app.after_request(_add_header)


def _count_statement(*_args, **_kwargs) -> None:
    if has_app_context():
        g.query_count = g.get("query_count", 0) + 1


def _add_header(response):
    response.headers[HEADER] = str(g.get("query_count", 0))
    return response
