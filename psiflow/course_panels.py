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
    template: str  # rendered with `course`, `patient`, `may` and `panel` (the context dict)
    context: Callable  # (course) -> dict of what the template needs


def add_panel(app, panel: CoursePanel) -> None:
    app.extensions.setdefault("psiflow", {}).setdefault("course_panels", []).append(panel)
    app.extensions["psiflow"]["course_panels"].sort(key=lambda p: p.order)


def panels(app) -> list[CoursePanel]:
    return app.extensions.get("psiflow", {}).get("course_panels", [])
