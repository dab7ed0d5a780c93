"""The care team on each course: its patient's lead clinician, co-facilitator and kind.

Boards, the due-after-dosing list and the patients without a course list a caseload's courses.
The caseload is the patients a user (and, for a supervisor, a supervisee) leads or
co-facilitates, a property of the patient; found from the patients, a team of a thousand
patients meant searching the courses a thousand times in every such statement. Each course
carries a copy of its patient's care team and kind (`CARE_TEAM`), so the caseload's courses are
one range of an index per clinician (`models.courses.caseload_courses`).

The rule is a copy: the patient's columns are the truth, and access asks them. Reassigning a
patient's lead clinician or co-facilitator touches every course the patient has.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

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


def refresh(connection, course_ids: Iterable[int]) -> dict[int, tuple]:
    """Copy each course's patient's care team where it differs; returns the copies that
    changed."""
    changed: dict[int, tuple] = {}
    for ids in batches(course_ids, BATCH):
        changed.update(
            (cid, team) for cid, stored, team in _rows(connection, ids, lock=True) if stored != team
        )
    if changed:
        # Core, not the ORM: a copy is no clinical change (no audit event, no version bump).
        courses = Course.__table__
        connection.execute(
            sa.update(courses)
            .where(courses.c.id == sa.bindparam("course_id"))
            .values({key: sa.bindparam(f"new_{key}") for key in CARE_TEAM}),
            [
                {
                    "course_id": cid,
                    **{f"new_{key}": v for key, v in zip(CARE_TEAM, team, strict=True)},
                }
                for cid, team in changed.items()
            ],
        )
    return changed


def refresh_all(connection) -> int:
    """Every course, in batches: for rows written around the ORM."""
    return refresh_every_course(connection, refresh)


def stale(connection, course_ids: Iterable[int]) -> list[Disagreement]:
    """Courses whose copy of the care team is not their patient's (none copied counts)."""
    return [
        Disagreement(cid, NAME, stored, team)
        for ids in batches(course_ids, BATCH)
        for cid, stored, team in _rows(connection, ids)
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
