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


def _rows(connection, ids: list[int], lock: bool = False):
    """(course id, its stored care team, its patient's) for these courses."""
    courses, patients = Course.__table__, Patient.__table__
    query = (
        sa.select(
            courses.c.id,
            *(courses.c[key] for key in CARE_TEAM),
            *(patients.c[key] for key in CARE_TEAM),
        )
        .join(patients, patients.c.id == courses.c.patient_id)
        .where(courses.c.id.in_(ids))
        .order_by(courses.c.id)
    )
    if lock:
        # The course rows, as the other values lock them: the patient's row is the truth and
        # is not written here.
        query = query.with_for_update(of=courses)
    width = len(CARE_TEAM)
    for row in connection.execute(query):
        yield row[0], tuple(row[1 : 1 + width]), tuple(row[1 + width :])


def _alert_rows(connection, course_ids: list[int]):
    """(alert id, course id, its stored care team, its patient's) for these courses' alerts."""
    alerts, courses, patients = Alert.__table__, Course.__table__, Patient.__table__
    query = (
        sa.select(
            alerts.c.id,
            alerts.c.course_id,
            *(alerts.c[key] for key in CARE_TEAM),
            *(patients.c[key] for key in CARE_TEAM),
        )
        .join(courses, courses.c.id == alerts.c.course_id)
        .join(patients, patients.c.id == courses.c.patient_id)
        .where(alerts.c.course_id.in_(course_ids))
        .order_by(alerts.c.id)
    )
    width = len(CARE_TEAM)
    for row in connection.execute(query):
        yield row[0], row[1], tuple(row[2 : 2 + width]), tuple(row[2 + width :])


def refresh(connection, course_ids: Iterable[int]) -> dict[int, tuple]:
    """Copy each course's patient's care team where it differs, onto the course and onto its
    alerts; returns the courses whose copies changed."""
    courses_changed: dict[int, tuple] = {}
    alerts_changed: dict[int, tuple[int, tuple]] = {}
    for ids in batches(course_ids, BATCH):
        courses_changed.update(
            (cid, team) for cid, stored, team in _rows(connection, ids, lock=True) if stored != team
        )
        alerts_changed.update(
            (alert_id, (cid, team))
            for alert_id, cid, stored, team in _alert_rows(connection, ids)
            if stored != team
        )
    if courses_changed:
        _copy(connection, Course.__table__, courses_changed)
    if alerts_changed:
        _copy(connection, Alert.__table__, {aid: team for aid, (_, team) in alerts_changed.items()})
    return {**dict(alerts_changed.values()), **courses_changed}


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
    found = []
    for ids in batches(course_ids, BATCH):
        found += [
            Disagreement(cid, NAME, stored, team)
            for cid, stored, team in _rows(connection, ids)
            if stored != team
        ]
        found += [
            Disagreement(cid, f"{NAME} of alert {alert_id}", stored, team)
            for alert_id, cid, stored, team in _alert_rows(connection, ids)
            if stored != team
        ]
    return found


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
