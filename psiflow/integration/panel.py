"""The integration panel of the patient page (`templates/integration/_panel.html`): its
context, per the contract in `psiflow.web.panels`."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa

from psiflow import catalog
from psiflow.domain.charts import trajectory_chart
from psiflow.domain.outcomes import OUTCOME_INSTRUMENTS, course_outcomes, is_outcome_instrument
from psiflow.domain.phases import Phase
from psiflow.domain.schedule import (
    AFTER_DOSING_PREFIX,
    FOLLOW_UP_PREFIX,
    Done,
    DueStatus,
    outstanding,
    schedule_numbers,
)
from psiflow.domain.signing import RecordStatus
from psiflow.integration.queries import CallLine
from psiflow.models import Course, IntegrationSession, SafetyCheckIn
from psiflow.models.courses import group_by_course
from psiflow.models.integration import (
    ActionItem,
    ActionStatus,
    CheckInContext,
    done_from,
    dosing_times,
    instrument_names,
    standing_items,
)
from psiflow.models.measures import MeasureResponse, timepoint_label
from psiflow.models.records import record_counts, record_lines
from psiflow.models.statements import COURSE_IDS, read_columns
from psiflow.models.types import utcnow
from psiflow.web.presentation import local_date_writer


def course_charts(course: Course, measures, dosing_times, now):
    """One trajectory per outcome instrument the course has scores for."""
    instruments = catalog.instruments()
    scores: dict[str, list] = {}
    for m in measures:
        instrument = instruments.get(m.instrument_id)
        if instrument is not None and is_outcome_instrument(instrument):
            scores.setdefault(m.instrument_id, []).append(
                (m.occurred_at, m.total, timepoint_label(m.timepoint))
            )
    order = [i for i in OUTCOME_INSTRUMENTS if i in scores]
    order += sorted(set(scores) - set(order))
    end = max(now, course.started_at + timedelta(days=1))
    fmt = local_date_writer()
    return [
        trajectory_chart(instruments[iid], scores[iid], dosing_times, course.started_at, end, fmt)
        for iid in order
    ]


@dataclass(frozen=True, slots=True)
class ScoreLine:
    """What charts and outcomes read of a measure that counts."""

    course_id: int
    instrument_id: str
    occurred_at: datetime
    total: float
    timepoint: str


class PanelLines(NamedTuple):
    """What the integration panel reads of its courses, each table once."""

    notes: list  # RecordLine of every note, newest first, with its author's name
    check_ins: list[CallLine]  # the calls and every scheduled check-in, newest first
    given: list  # (ScoreLine columns..., status, needs_cosign) of measures not voided or draft


def panel_lines(ids) -> PanelLines:
    notes = record_lines([IntegrationSession], ids, newest_first=True, author=True)
    params = {"course_ids": list(ids)}
    check_ins = [CallLine(*row) for row in read_columns(_check_ins_query(), params)]
    given = read_columns(_given_query(), params).all()
    return PanelLines(notes, check_ins, given)


# The panel's statements select from tables, not mapped classes: the session runs them without
# the ORM's preparation of a statement, which took as long as SQLite answering it.
_CHECK_INS = SafetyCheckIn.__table__
_MEASURES = MeasureResponse.__table__
_ITEMS = ActionItem.__table__


@functools.cache  # built once: building it and its cache key took 0.13 ms a visit
def _check_ins_query():
    return (
        sa.select(*[_CHECK_INS.c[f.name] for f in fields(CallLine)])
        .where(
            _CHECK_INS.c.course_id.in_(COURSE_IDS),
            sa.or_(
                _CHECK_INS.c.context == CheckInContext.CALL,
                _CHECK_INS.c.scheduled_day.is_not(None),
            ),
        )
        .order_by(_CHECK_INS.c.occurred_at.desc())
    )


@functools.cache  # built once: building it and its cache key took 0.1 ms a visit
def _given_query():
    # Charts read the measures that count, the schedule those given at all (co-signed or not).
    return (
        sa.select(
            *[_MEASURES.c[f.name] for f in fields(ScoreLine)],
            _MEASURES.c.status,
            _MEASURES.c.needs_cosign,
        )
        .where(
            _MEASURES.c.course_id.in_(COURSE_IDS),
            _MEASURES.c.voided_at.is_(None),
            _MEASURES.c.status != RecordStatus.DRAFT,
        )
        .order_by(_MEASURES.c.occurred_at)
    )


class OpenItem(NamedTuple):
    """An open action item as the panel lists it."""

    course_id: int
    text: str
    created_at: datetime


@functools.cache  # built once: building it and its cache key took 0.12 ms a visit
def _open_items_query():
    # As `open_action_items(ids)`, as the panel's columns: open items oldest first.
    return (
        standing_items(sa.select(_ITEMS.c.course_id, _ITEMS.c.text, _ITEMS.c.created_at))
        .where(_ITEMS.c.course_id.in_(COURSE_IDS), _ITEMS.c.status == ActionStatus.OPEN)
        .order_by(_ITEMS.c.created_at, _ITEMS.c.id)
    )


def open_items(ids) -> list[OpenItem]:
    return [OpenItem(*row) for row in read_columns(_open_items_query(), {"course_ids": ids})]


def schedule_done_from(ids, lines: PanelLines) -> dict[int, Done]:
    """`schedule_done` for these courses from the lines the panel has already read (only the
    dosing times are read here): the same rules, tested to agree with it."""
    doses = dosing_times(ids)
    notes: dict[int, list[datetime]] = {cid: [] for cid in ids}
    for note in lines.notes:
        if not note.is_voided:
            notes[note.course_id].append(note.occurred_at)
    measures: dict[int, set] = {cid: set() for cid in ids}
    for course_id, instrument_id, _at, _total, timepoint, _status, _cosign in lines.given:
        if timepoint.startswith((AFTER_DOSING_PREFIX, FOLLOW_UP_PREFIX)):
            measures[course_id].add((instrument_id, timepoint))
    calls: dict[int, set] = {cid: set() for cid in ids}
    for check_in in lines.check_ins:
        if not check_in.is_voided and check_in.scheduled_day is not None:
            calls[check_in.course_id].add((check_in.dosing_number, check_in.scheduled_day))
    return done_from(ids, doses, notes, measures, calls)


def panel_context(courses: list[Course]) -> dict[int, dict]:
    """The integration progress panel of the patient page, for all of a patient's courses in
    a fixed number of queries; lists read only the columns they show, and the schedule is
    worked out from those lists rather than read again."""
    now = utcnow()
    ids = [c.id for c in courses]
    lines = panel_lines(ids)
    done = schedule_done_from(ids, lines)
    notes = group_by_course(lines.notes, ids)
    calls = group_by_course((c for c in lines.check_ins if c.context == CheckInContext.CALL), ids)
    measures = group_by_course(
        (
            ScoreLine(course_id, iid, at, total, timepoint)
            for course_id, iid, at, total, timepoint, status, needs_cosign in lines.given
            if record_counts(status, needs_cosign, voided=False)
        ),
        ids,
    )
    items = group_by_course(open_items(ids), ids)
    names = instrument_names()
    return {
        c.id: _course_panel(
            c, done[c.id], notes[c.id], calls[c.id], measures[c.id], items[c.id], names, now
        )
        for c in courses
    }


def _course_panel(course, done, notes, calls, measures, open_items, names, now) -> dict:
    show = bool(done.dosing_times) or course.phase in (
        Phase.INTEGRATION,
        Phase.FOLLOW_UP,
        Phase.COMPLETED,
    )
    if not show:
        return {"show": False}
    contacts = [r.occurred_at for r in [*notes, *calls] if not r.is_voided]
    last_contact = max(contacts) if contacts else None
    last_dose = done.dosing_times[-1] if done.dosing_times else None
    since_last = [n for n in notes if n.counts and last_dose and n.occurred_at >= last_dose]
    items = outstanding(schedule_numbers(course.protocol), done, names)
    return {
        "show": True,
        "now": now,
        "notes": notes,
        "calls": calls,
        "dosings": len(done.dosing_times),
        "dosing_times": done.dosing_times,
        "sessions_since_last": len(since_last),
        "sessions_counting": sum(1 for n in notes if n.counts),
        "last_contact": last_contact,
        "days_since_contact": (now - last_contact).days if last_contact else None,
        "open_items": open_items,
        # What is due or overdue, and what falls due in the next two weeks.
        "schedule": [
            (item, item.status(now))
            for item in items
            if item.status(now) != DueStatus.UPCOMING or item.due_from - now < timedelta(days=14)
        ],
        "charts": course_charts(course, measures, done.dosing_times, now),
        "outcomes": course_outcomes(catalog.instruments(), measures),
        "names": names,
        "may_record": course.phase in (Phase.INTEGRATION, Phase.FOLLOW_UP, Phase.DOSING),
    }
