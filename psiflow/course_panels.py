"""Sections of the patient page that features contribute for each course.

A blueprint adds its panel when it is registered (`bp.record_once`), so the patient page
never imports another blueprint: it renders whatever panels the app has, in order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from psiflow.domain.signing import RecordStatus
from psiflow.extensions import db
from psiflow.models.records import RecordState
from psiflow.models.users import User
from psiflow.statements import COURSE_IDS


@dataclass(frozen=True)
class CoursePanel:
    order: int  # clinical order on the page: preparation 10, dosing 20, integration 30...
    template: str  # rendered with `course`, `patient`, `may` and `panel_context`
    # (courses) -> {course id: what the template needs}: one call for all the patient's
    # courses, so the page runs a fixed number of queries however long the history.
    context: Callable


def add_panel(app, panel: CoursePanel) -> None:
    app.extensions.setdefault("psiflow", {}).setdefault("course_panels", []).append(panel)
    app.extensions["psiflow"]["course_panels"].sort(key=lambda p: p.order)


def panels(app) -> list[CoursePanel]:
    return app.extensions.get("psiflow", {}).get("course_panels", [])


def group_by_course(rows, course_ids) -> dict[int, list]:
    """Rows that carry a `course_id`, grouped per course (every course gets a list)."""
    grouped: dict[int, list] = {cid: [] for cid in course_ids}
    for row in rows:
        grouped[row.course_id].append(row)
    return grouped


@dataclass(frozen=True, slots=True)
class RecordLine(RecordState):
    """One line of a panel's record list: the few columns it shows, not the whole record
    (a long history lists hundreds of records whose text the page never shows)."""

    record_type: str
    id: int
    course_id: int
    occurred_at: datetime
    status: RecordStatus
    needs_cosign: bool
    voided_at: datetime | None
    author_name: str | None = None


def record_lines(models, course_ids, *, newest_first=False, author=False) -> list[RecordLine]:
    """The record lines of several record types for these courses in one query, ordered by
    when they occurred (ties by id), oldest first unless `newest_first`."""
    query = _record_lines_query(tuple(models), newest_first, author)
    return [RecordLine(*row) for row in db.session.execute(query, {"course_ids": list(course_ids)})]


@functools.cache  # built once: building it and its cache key took 0.32 ms a visit
def _record_lines_query(models: tuple, newest_first: bool, author: bool):
    # Of tables, not of mapped classes: the session runs a plain SQL statement without the
    # ORM's preparation of one, which took as long as SQLite answering it.
    users = User.__table__
    selects = []
    for model in models:
        table = model.__table__
        columns = [
            sa.literal(model.record_type).label("record_type"),
            table.c.id,
            table.c.course_id,
            table.c.occurred_at,
            table.c.status,
            table.c.needs_cosign,
            table.c.voided_at,
        ]
        query = sa.select(*columns, *([users.c.name] if author else []))
        if author:
            query = query.join(users, users.c.id == table.c.author_id)
        selects.append(query.where(table.c.course_id.in_(COURSE_IDS)))
    # Ordered by the columns' names, not through a subquery: building a subquery's columns
    # took a third of the time a long history spent on its preparation list.
    query = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    order = [query.selected_columns.occurred_at, query.selected_columns.id]
    if newest_first:
        order = [o.desc() for o in order]
    return query.order_by(*order)
