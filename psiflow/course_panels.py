"""Sections of the patient page that features contribute for each course.

A blueprint adds its panel when it is registered (`bp.record_once`), so the patient page
never imports another blueprint: it renders whatever panels the app has, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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
