"""The care team on each course: its patient's lead clinician, co-facilitator and kind.

Boards, the due-after-dosing list and the patients without a course list a caseload's courses.
The caseload is the patients a user (and, for a supervisor, a supervisee) leads or
co-facilitates, a property of the patient; found from the patients, a team of a thousand
patients meant searching the courses a thousand times in every such statement. Each course
carries a copy of its patient's care team and kind (`CARE_TEAM`), so the caseload's courses are
one range of an index per clinician (`models.courses.caseload_courses`).

Each alert carries the same copy (`Alert`'s columns of the same names), so a team's open
alerts, counted on every page a supervisor opens, are one range of an index per clinician too
(`models.alerts.team_open_alerts`). The value is kept per course: the course's copy and its
alerts' copies.

The rule is a copy: the patient's columns are the truth, and access asks them. Reassigning a
patient's lead clinician or co-facilitator touches every course the patient has, and every
alert of those courses.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from psiflow.models.alerts import Alert
from psiflow.models.courses import Course
from psiflow.models.patients import Patient
from psiflow.models.stored.watch import Disagreement, StoredValue, batches, refresh_every_course

CARE_TEAM = ("lead_clinician_id", "co_facilitator_id", "is_practice")
NAME = "care_team"
BATCH = 500


# The tables that carry a copy, each row read with its course's patient.
_COPIES = (Course.__table__, Alert.__table__)


def _rows(connection, table, course_ids: list[int], lock: bool = False):
    """(row id, course id, its stored care team, its patient's) for the rows of `table` (the
    courses, or their alerts) of these courses."""
    courses, patients = Course.__table__, Patient.__table__
    course_id = courses.c.id if table is courses else table.c.course_id
    query = sa.select(
        table.c.id,
        course_id,
        *(table.c[key] for key in CARE_TEAM),
        *(patients.c[key] for key in CARE_TEAM),
    ).select_from(table)
    if table is not courses:
        query = query.join(courses, courses.c.id == course_id)
    query = (
        query.join(patients, patients.c.id == courses.c.patient_id)
        .where(course_id.in_(course_ids))
        .order_by(table.c.id)
    )
    if lock:
        # The course rows, as the other values lock them: the patient's row is the truth and
        # is not written here.
        query = query.with_for_update(of=courses)
    width = len(CARE_TEAM)
    for row in connection.execute(query):
        yield row[0], row[1], tuple(row[2 : 2 + width]), tuple(row[2 + width :])


def refresh(connection, course_ids: Iterable[int]) -> dict[int, tuple]:
    """Copy each course's patient's care team where it differs, onto the course and onto its
    alerts; returns the courses whose copies changed."""
    courses = Course.__table__
    copied: dict = {table: {} for table in _COPIES}
    changed: dict[int, tuple] = {}
    for ids in batches(course_ids, BATCH):
        for table in _COPIES:
            for row_id, cid, stored, team in _rows(connection, table, ids, lock=table is courses):
                if stored != team:
                    copied[table][row_id] = changed[cid] = team
    for table, teams in copied.items():
        if teams:
            _copy(connection, table, teams)
    return changed


def _copy(connection, table, teams: dict[int, tuple]) -> None:
    # Core, not the ORM: a copy is no clinical change (no audit event, no version bump).
    connection.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .values({key: sa.bindparam(f"new_{key}") for key in CARE_TEAM}),
        [
            {"row_id": row_id, **{f"new_{key}": v for key, v in zip(CARE_TEAM, team, strict=True)}}
            for row_id, team in teams.items()
        ],
    )


def refresh_all(connection) -> int:
    """Every course, in batches: for rows written around the ORM."""
    return refresh_every_course(connection, refresh)


def stale(connection, course_ids: Iterable[int]) -> list[Disagreement]:
    """Courses whose copy of the care team, or one of whose alerts' copies, is not their
    patient's (none copied counts)."""
    courses = Course.__table__
    return [
        Disagreement(cid, NAME if table is courses else f"{NAME} of alert {row_id}", stored, team)
        for ids in batches(course_ids, BATCH)
        for table in _COPIES
        for row_id, cid, stored, team in _rows(connection, table, ids)
        if stored != team
    ]


@sa.event.listens_for(Course, "before_insert")
def _copy_on_insert(_mapper, connection, course) -> None:
    """A new course carries its care team from its first flush, so a list in the same
    transaction finds it (a later change is the watch's, at commit). Always the patient's,
    whatever the course was given: the watch takes a new course's copy as right."""
    patient = sa.inspect(course).dict.get("patient")  # in hand when the course was made with it
    if patient is not None and patient.id == course.patient_id:
        team = tuple(getattr(patient, key) for key in CARE_TEAM)
    else:
        patients = Patient.__table__
        team = connection.execute(
            sa.select(*(patients.c[key] for key in CARE_TEAM)).where(
                patients.c.id == course.patient_id
            )
        ).one()
    for key, value in zip(CARE_TEAM, team, strict=True):
        setattr(course, key, value)


@sa.event.listens_for(Alert, "before_insert")
def _copy_on_alert_insert(_mapper, connection, alert) -> None:
    """A new alert carries its patient's care team from its first flush, so the team's
    counts in the same transaction find it; always the patient's, read through its course
    (alerts are few: one statement each)."""
    courses, patients = Course.__table__, Patient.__table__
    team = connection.execute(
        sa.select(*(patients.c[key] for key in CARE_TEAM))
        .join(courses, courses.c.patient_id == patients.c.id)
        .where(courses.c.id == alert.course_id)
    ).one()
    for key, value in zip(CARE_TEAM, team, strict=True):
        setattr(alert, key, value)


VALUE = StoredValue(
    name=NAME,
    attribute=CARE_TEAM,
    feeds={Patient: CARE_TEAM, Course: ("patient_id",)},
    refresh=refresh,
    stale=stale,
    # A new patient has no course yet, and a new course copies its care team as it is
    # inserted (`_copy_on_insert`).
    inserts_that_cannot_matter=(Patient, Course),
    owners={Patient: "patient_id"},
)
