"""The patient page's course panels: what each feature shows under each course.

The contract, for every panel:
- it gets the page's courses: the patient's courses, oldest first, as `patients.queries`
  loaded them for the page;
- it returns {course id: what its template needs} for all of them at once, in a fixed number
  of statements however many courses and records the patient has (the page's query count is
  tested not to grow with either);
- its template is drawn under each course, in `order`, with `course`, `patient`, `may` and
  `panel_context` (that course's entry of the returned mapping).

A feature keeps its context function in its own `panel.py`, beside its template
`templates/<feature>/_panel.html`; `PANELS` below is the one list of them. The patient page
draws whatever is listed, so it never imports a feature; a panel reads models, never another
feature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from psiflow.integration import panel as integration
from psiflow.measures import panel as measures
from psiflow.models.courses import Course
from psiflow.preparation import panel as preparation
from psiflow.regulated import panel as regulated
from psiflow.sessions import panel as sessions


@dataclass(frozen=True)
class CoursePanel:
    order: int  # its place under each course: the clinical order of the work it shows
    template: str
    context: Callable[[Sequence[Course]], dict[int, dict]]


PANELS: tuple[CoursePanel, ...] = (
    CoursePanel(10, "preparation/_panel.html", preparation.panel_context),
    CoursePanel(15, "measures/_panel.html", measures.panel_context),
    CoursePanel(20, "sessions/_panel.html", sessions.panel_context),
    CoursePanel(25, "regulated/_panel.html", regulated.panel_context),
    CoursePanel(30, "integration/_panel.html", integration.panel_context),
)


def panels_for(courses: Sequence[Course]) -> list[tuple[CoursePanel, dict[int, dict]]]:
    """Every panel in page order, with its context for these courses."""
    return [(panel, panel.context(courses)) for panel in sorted(PANELS, key=lambda p: p.order)]
