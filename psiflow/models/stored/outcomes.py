"""`CourseOutcomeScore`: each course's two scores per outcome instrument.

The team outcome table and its chart compare, per course and outcome instrument, the first
counting baseline score with the latest counting score after it (the rule of
`domain.outcomes.course_outcomes`). Picking those two out of a team's measures on every visit
cost more than all the rest of the page, though they change only when a measure is written:
each course stores them instead, in a table of their own, and the page reads one row per course
and instrument. No row means the course has no such pair.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import sqlalchemy as sa

from psiflow.domain.outcomes import BASELINE, OUTCOME_INSTRUMENTS
from psiflow.models.courses import Course
from psiflow.models.measures import MeasureResponse
from psiflow.models.outcome_scores import CourseOutcomeScore
from psiflow.models.stored.watch import Disagreement, StoredValue, refresh_every_course, values

# The columns of a measure the picks read. An insert or delete counts whole.
FEEDS = (
    "course_id",
    "instrument_id",
    "timepoint",
    "occurred_at",
    "total",
    "status",
    "needs_cosign",
    "voided_at",
)
BATCH = 500
NAME = "outcome_scores"

# --- The rule over many courses --------------------------------------------------------------


def compute(connection, course_ids: Iterable[int]) -> dict[tuple[int, str], tuple]:
    """{(course id, instrument id): (baseline, latest, latest timepoint, latest at)} of these
    courses, from what is on record now; a pair without both scores is absent."""
    ids = sorted(set(course_ids))
    found = {}
    for start in range(0, len(ids), BATCH):
        for course_id, instrument_id, *scores in connection.execute(
            _picks_statement(), {"course_ids": ids[start : start + BATCH]}
        ):
            found[course_id, instrument_id] = tuple(scores)
    return found


@functools.cache  # built once: building it and its cache key took 1.1 ms, each measure written
def _picks_statement():
    """The two scores of every outcome instrument of some courses, picked in SQL so a batch of
    courses is one statement. Ties in time go to the lower id for the baseline and the higher
    id for the latest, as a stable sort of the measures in id order does in `course_outcomes`.

    Each (course, instrument)'s scores are ranked twice in one pass, baselines first and the
    latest of the rest first: the statement costs a sort of the batch's scores. (It was
    anti-joins of the scores with themselves, which PostgreSQL ran as nested loops over the
    batch: 0.6 s for 500 courses, 85 s of the seed at 100,000 patients.)
    """
    m = MeasureResponse
    key = (m.course_id, m.instrument_id)
    is_baseline = m.timepoint == BASELINE
    baselines_first = {"partition_by": key, "order_by": (~is_baseline, m.occurred_at, m.id)}
    picks = (
        sa.select(
            m.course_id,
            m.instrument_id,
            m.timepoint,
            m.occurred_at,
            m.total,
            sa.func.first_value(m.timepoint).over(**baselines_first).label("base_timepoint"),
            sa.func.first_value(m.occurred_at).over(**baselines_first).label("base_at"),
            sa.func.first_value(m.total).over(**baselines_first).label("base_total"),
            sa.func.row_number()
            .over(partition_by=key, order_by=(is_baseline, m.occurred_at.desc(), m.id.desc()))
            .label("latest_rank"),
        )
        .where(
            m.course_id.in_(sa.bindparam("course_ids", expanding=True, required=True)),
            m.instrument_id.in_(OUTCOME_INSTRUMENTS),
            m.counting(),
        )
        .subquery("picks")
    )
    # The latest score that is not a baseline, where the first score is a baseline before it.
    return sa.select(
        picks.c.course_id,
        picks.c.instrument_id,
        picks.c.base_total,
        picks.c.total,
        picks.c.timepoint,
        picks.c.occurred_at,
    ).where(
        picks.c.latest_rank == 1,
        picks.c.timepoint != BASELINE,
        picks.c.base_timepoint == BASELINE,
        picks.c.occurred_at > picks.c.base_at,
    )


def stored(connection, course_ids: Iterable[int]) -> dict[tuple[int, str], tuple]:
    """What the courses store now, in the shape of `compute`."""
    table = CourseOutcomeScore.__table__
    ids = sorted(set(course_ids))
    found = {}
    for start in range(0, len(ids), BATCH):
        for course_id, instrument_id, *scores in connection.execute(
            sa.select(
                table.c.course_id,
                table.c.instrument_id,
                table.c.baseline,
                table.c.latest,
                table.c.latest_timepoint,
                table.c.latest_at,
            ).where(table.c.course_id.in_(ids[start : start + BATCH]))
        ):
            found[course_id, instrument_id] = tuple(scores)
    return found


def refresh(connection, course_ids: Iterable[int]) -> set[int]:
    """Work the stored scores out again for these courses; returns the courses that changed.

    The course rows are locked first (PostgreSQL), so two transactions writing measures of
    one course store the scores of both, not of whichever committed last.
    """
    table = CourseOutcomeScore.__table__
    ids = sorted(set(course_ids))
    changed: set[int] = set()
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        connection.execute(
            sa.select(Course.__table__.c.id)
            .where(Course.__table__.c.id.in_(batch))
            .order_by(Course.__table__.c.id)
            .with_for_update()
        ).all()
        fresh, old = compute(connection, batch), stored(connection, batch)
        differ = {key[0] for key in fresh.keys() | old.keys() if fresh.get(key) != old.get(key)}
        if not differ:
            continue
        changed |= differ
        # Core, not the ORM: a derived value is no clinical change (no audit event).
        connection.execute(table.delete().where(table.c.course_id.in_(sorted(differ))))
        rows = [
            {
                "course_id": course_id,
                "instrument_id": instrument_id,
                "baseline": baseline,
                "latest": latest,
                "latest_timepoint": timepoint,
                "latest_at": at,
            }
            for (course_id, instrument_id), (baseline, latest, timepoint, at) in fresh.items()
            if course_id in differ
        ]
        if rows:
            connection.execute(table.insert(), rows)
    return changed


def refresh_all(connection) -> int:
    """Every course, in batches: for rows written around the ORM."""
    return refresh_every_course(connection, refresh)


def stale(connection, course_ids: Iterable[int]) -> list[Disagreement]:
    """Each (course, instrument) whose stored scores differ from the rule over what is on
    record now; a missing pair shows as None."""
    ids = list(course_ids)
    now, fresh = stored(connection, ids), compute(connection, ids)
    return [
        Disagreement(key[0], f"{NAME}.{key[1]}", now.get(key), fresh.get(key))
        for key in sorted(now.keys() | fresh.keys())
        if now.get(key) != fresh.get(key)
    ]


# --- Noticing the writes ---------------------------------------------------------------------


def _can_matter(_cls, state) -> bool:
    # A risk screen or an experience scale is never picked; a value not known here (expired)
    # counts.
    instruments = values(state, "instrument_id")
    return not instruments or any(i is None or i in OUTCOME_INSTRUMENTS for i in instruments)


VALUE = StoredValue(
    name=NAME,
    attribute=None,
    feeds={MeasureResponse: FEEDS},
    refresh=refresh,
    stale=stale,
    can_matter=_can_matter,
)
