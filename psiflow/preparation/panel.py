"""The preparation panel of the patient page (`templates/preparation/_panel.html`): its
context, per the contract in `psiflow.web.panels`."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime

import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.models import (
    Consent,
    PreparationSession,
    Screening,
    ScreeningFlag,
    SetIntake,
    TouchConsentEntry,
    User,
)
from psiflow.models.courses import group_by_course
from psiflow.models.preparation import TouchChange
from psiflow.models.records import record_lines
from psiflow.models.statements import COURSE_IDS, read_columns
from psiflow.preparation.forms import TouchConsentForm, planned_dosing_form


@dataclass(frozen=True, slots=True)
class FlagLine:
    """A contraindication flag as the panel shows it, with the name of who cleared it."""

    id: int
    course_id: int
    label: str
    detail: str
    cleared_at: datetime | None
    rationale: str | None
    cleared_by_name: str | None


@dataclass(frozen=True, slots=True)
class TouchLine:
    """An entry of the touch consent log as the panel shows it, with who recorded it."""

    course_id: int
    recorded_at: datetime
    change: TouchChange
    agreed_touch: list
    note: str
    recorded_by_name: str

    agreed_labels = TouchConsentEntry.agreed_labels


# Columns of tables, with the names of who cleared or recorded joined in: whole flags and
# entries cost the ORM's loading of each and a query for each person not yet loaded.
_FLAGS, _TOUCH, _USERS = ScreeningFlag.__table__, TouchConsentEntry.__table__, User.__table__


@functools.cache  # built once: building it and its cache key took 0.089 ms a visit
def _flags_query():
    return (
        sa.select(*[_FLAGS.c[f.name] for f in fields(FlagLine)[:-1]], _USERS.c.name)
        .outerjoin(_USERS, _USERS.c.id == _FLAGS.c.cleared_by_id)
        .where(_FLAGS.c.course_id.in_(COURSE_IDS))
        .order_by(_FLAGS.c.raised_at)
    )


@functools.cache  # built once: building it and its cache key took 0.096 ms a visit
def _touch_query():
    return (
        sa.select(*[_TOUCH.c[f.name] for f in fields(TouchLine)[:-1]], _USERS.c.name)
        .join(_USERS, _USERS.c.id == _TOUCH.c.recorded_by_id)
        .where(_TOUCH.c.course_id.in_(COURSE_IDS))
        .order_by(_TOUCH.c.recorded_at.desc(), _TOUCH.c.id.desc())
    )


def panel_context(courses) -> dict[int, dict]:
    """The preparation panel: the screening, consent, set intake and preparation session
    records, the contraindication flags and the touch consent log of each course (three
    statements), with the forms the panel offers while the course is open to them."""
    ids = [c.id for c in courses]

    def rows(query, line):
        found = read_columns(query, {"course_ids": ids})
        return group_by_course((line(*row) for row in found), ids)

    # One query for the four record lists, which show a line per record, never its content.
    models = (Screening, Consent, SetIntake, PreparationSession)
    records = {model: {cid: [] for cid in ids} for model in models}
    by_type = {model.record_type: records[model] for model in models}
    for line in record_lines(models, ids):
        by_type[line.record_type][line.course_id].append(line)
    flags = rows(_flags_query(), FlagLine)
    touch = rows(_touch_query(), TouchLine)
    return {course.id: _course_panel(course, records, flags, touch) for course in courses}


def _course_panel(course, records, flags, touch) -> dict:
    in_preparation = course.phase in (Phase.SCREENING, Phase.PREPARATION)
    return {
        "screenings": records[Screening][course.id],
        "consents": records[Consent][course.id],
        "intakes": records[SetIntake][course.id],
        "sessions": records[PreparationSession][course.id],
        "flags": flags[course.id],
        "touch_log": touch[course.id],
        # The forms only where the panel shows them: a closed course is read, not added to.
        # Named after the course (`touch<id>-note`): a page with several courses keeps each
        # course's fields apart, and the post reads them under the same prefix.
        "touch_form": None
        if course.is_closed
        else TouchConsentForm(formdata=None, prefix=f"touch{course.id}"),
        "planned_form": planned_dosing_form(course, formdata=None) if in_preparation else None,
        "in_preparation": in_preparation,
    }
