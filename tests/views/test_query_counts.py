"""Every page runs the same number of SQL statements whatever the size of the clinic.

Counts, never timings: a page that loads per patient (an N+1, an unbounded list) shows here
as a count that grows from a small clinic to a 200-patient one. A board asks each fact source
only about the courses whose gates read it, so its count is fixed once every member's caseload
has a course in every phase: the small clinic is the smallest that does.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from psiflow.access import Role
from psiflow.domain.phases import Phase
from psiflow.domain.vitals import Reading
from psiflow.extensions import db
from psiflow.models import ActionItem, dosing
from psiflow.models.types import utcnow
from psiflow.web.query_count import HEADER
from tests.conftest import count_queries
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient, gen_user
from tests.integration_factories import gen_integration_session, gen_measure

SMALL, LARGE = 40, 200

# Every phase a course can stand in, with the detours (hold, withdrawal) and the loop back
# from integration to a further dosing session.
PATHS = [
    [Phase.SCREENING],
    [Phase.SCREENING, Phase.PREPARATION],
    [Phase.SCREENING, Phase.PREPARATION, Phase.DOSING],
    [Phase.SCREENING, Phase.PREPARATION, Phase.DOSING, Phase.INTEGRATION],
    [
        Phase.SCREENING,
        Phase.PREPARATION,
        Phase.DOSING,
        Phase.INTEGRATION,
        Phase.DOSING,
        Phase.INTEGRATION,
    ],
    [Phase.SCREENING, Phase.PREPARATION, Phase.DOSING, Phase.INTEGRATION, Phase.FOLLOW_UP],
    [
        Phase.SCREENING,
        Phase.PREPARATION,
        Phase.DOSING,
        Phase.INTEGRATION,
        Phase.FOLLOW_UP,
        Phase.COMPLETED,
    ],
    [Phase.SCREENING, Phase.PREPARATION, Phase.ON_HOLD],
    [Phase.SCREENING, Phase.WITHDRAWN],
]

# page -> (who opens it, its URL). The benchmark's pages (bench/pages.py), seen by the test client.
PAGES = {
    "clinician board": ("clinician", lambda first: "/"),
    "clinician closed courses": ("clinician", lambda first: "/?view=closed"),
    "supervisor board": ("supervisor", lambda first: "/"),
    "supervisor phase list": ("supervisor", lambda first: "/?phase=integration&page=1"),
    "supervisor practice board": ("supervisor", lambda first: "/?practice=1"),
    "trainee board": ("trainee", lambda first: "/"),
    "patient page": ("clinician", lambda first: f"/patients/{first.id}"),
}


class Clinic:
    """A team's caseload that grows: patients spread over the team in every phase."""

    def __init__(self, team):
        self.team = team
        self.size = 0
        self._leads = itertools.cycle(["clinician", "clinician2", "clinician", "trainee"])
        # Each member's own round of the paths: every caseload has every phase early on.
        self._paths = {
            who: itertools.cycle(PATHS) for who in ("clinician", "clinician2", "trainee")
        }
        self.first = None

    def grow_to(self, patients: int) -> None:
        while self.size < patients:
            who = next(self._leads)
            lead = self.team[who]
            co = (
                self.team["clinician2"]
                if self.size % 3 == 0 and lead.role != Role.TRAINEE
                else None
            )
            patient = gen_patient(lead, co_facilitator=co)
            if self.size % 10 != 9:  # one in ten is referred but has no course yet
                gen_course(patient, path=next(self._paths[who]))
            if self.size % 7 == 0:
                gen_course(patient, path=[Phase.SCREENING, Phase.WITHDRAWN])
            self.first = self.first or patient
            self.size += 1


def _queries_per_page(client, db, team, first) -> dict[str, int]:
    counts = {}
    for name, (who, url) in PAGES.items():
        client.post("/login", data={"email": team[who].email, "password": TEST_PASSWORD})
        with count_queries(db.engine) as counter:
            response = client.get(url(first))
        assert response.status_code == 200, name
        counts[name] = counter.count
        client.post("/logout")
    with count_queries(db.engine) as counter:
        response = client.post(
            "/login", data={"email": team["clinician"].email, "password": TEST_PASSWORD}
        )
    assert response.status_code == 302
    counts["login"] = counter.count
    client.post("/logout")
    return counts


def test_every_page_runs_as_many_queries_for_200_patients_as_for_10(client, team, db):
    clinic = Clinic(team)
    clinic.grow_to(SMALL)
    small = _queries_per_page(client, db, team, clinic.first)
    clinic.grow_to(LARGE)
    large = _queries_per_page(client, db, team, clinic.first)
    assert large == small


def test_the_board_runs_as_many_queries_for_a_team_of_twenty_as_for_a_team_of_three(
    client, team, db
):
    clinic = Clinic(team)
    clinic.grow_to(SMALL)
    small = _queries_per_page(client, db, team, clinic.first)["supervisor board"]
    for _ in range(17):
        gen_course(
            gen_patient(
                gen_user(Role.CLINICIAN, team["supervisor"].clinic, supervisor=team["supervisor"])
            )
        )
    assert _queries_per_page(client, db, team, clinic.first)["supervisor board"] == small


def test_the_query_count_header_is_off_by_default(client, login_as, team):
    login_as(team["clinician"])
    assert HEADER not in client.get("/").headers


def test_the_query_count_header_reports_the_statements_of_the_request(make_app, team, db):
    counted = make_app(QUERY_COUNT_HEADER=True)
    with counted.app_context():
        engine = db.engine  # the engine of the app under test, which the header counts on
    client = counted.test_client()
    client.post("/login", data={"email": team["clinician"].email, "password": TEST_PASSWORD})
    with count_queries(engine) as counter:
        response = client.get("/")
    assert response.status_code == 200
    assert int(response.headers[HEADER]) == counter.count > 0


def test_the_patient_page_runs_as_many_queries_for_four_courses_as_for_one(
    client, login_as, team, db
):
    def page_queries(courses: int) -> int:
        patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
        for _ in range(courses - 1):
            gen_course(patient, path=[Phase.SCREENING, Phase.PREPARATION, Phase.WITHDRAWN])
        gen_course(patient, path=PATHS[4])
        with count_queries(db.engine) as counter:
            assert client.get(f"/patients/{patient.id}").status_code == 200
        return counter.count

    login_as(team["clinician"])
    assert page_queries(4) == page_queries(1)


# --- the record pages: their growth axis is the records of one session, note or course -------

PSILOCYBIN = "psilocybin-single-dose@1.0"
FEW, MANY = 3, 30


def _session_with_readings(team, readings: int):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=4)
    start = utcnow() - timedelta(hours=3)
    for n in range(readings):
        at = start + timedelta(minutes=5 * n)
        dosing.record_vitals(
            session, Reading(heart_rate=80, spo2=97), at, team["clinician"], now=at
        )
        dosing.record_event(
            session, dosing.EventKind.NOTE, at, "Resting.", team["clinician"], now=at
        )
    db.session.flush()
    return session


def test_the_live_session_and_a_vitals_post_run_as_many_queries_for_30_readings_as_for_3(
    client, login_as, team, db
):
    def counts(readings: int) -> tuple[int, int]:
        session = _session_with_readings(team, readings)
        with count_queries(db.engine) as page:
            assert client.get(f"/dosing-sessions/{session.id}").status_code == 200
        with count_queries(db.engine) as post:
            response = client.post(
                f"/dosing-sessions/{session.id}/vitals", data={"heart_rate": 84, "spo2": 97}
            )
        assert response.status_code == 302
        return page.count, post.count

    login_as(team["clinician"])
    assert counts(MANY) == counts(FEW)


def test_saving_a_note_runs_as_many_queries_with_30_open_action_items_as_with_3(
    client, login_as, team, db
):
    def count(items: int) -> int:
        course = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION, PSILOCYBIN)
        earlier = gen_integration_session(course, team["clinician"])
        for n in range(items):
            db.session.add(
                ActionItem(course_id=course.id, text=f"Commitment {n}", created_in_id=earlier.id)
            )
        note = gen_integration_session(course, team["clinician"], sign=False)
        db.session.flush()
        carried = {
            f"item_{i.id}": "open"
            for i in db.session.scalars(
                db.select(ActionItem).where(ActionItem.created_in_id == earlier.id)
            )
        }
        with count_queries(db.engine) as counter:
            response = client.post(
                f"/integration/integration_session/{note.id}/edit",
                data={
                    "duration_minutes": 60,
                    "themes": "Grief.",
                    "version": note.version,
                    **carried,
                },
            )
        assert response.status_code == 302
        return counter.count

    login_as(team["clinician"])
    assert count(MANY) == count(FEW)


def test_a_course_export_runs_as_many_queries_for_30_records_as_for_3(client, login_as, team, db):
    def count(records: int) -> int:
        course = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION, PSILOCYBIN)
        for _ in range(records):
            gen_measure(course, team["clinician"], "phq9", "integration", total=9)
            gen_integration_session(course, team["clinician"])
        with count_queries(db.engine) as counter:
            response = client.get(f"/integration/courses/{course.id}/export.csv")
        assert response.status_code == 200
        return counter.count

    login_as(team["clinician"])
    assert count(MANY) == count(FEW)


def test_the_review_queue_and_outcome_table_run_as_many_queries_for_200_patients_as_for_10(
    client, login_as, team, db
):
    def grow_to(size: int) -> None:
        # Every patient in integration: a baseline, a later measure and a note awaiting review.
        while clinic_size[0] < size:
            lead = team["clinician"] if clinic_size[0] % 2 else team["clinician2"]
            course = gen_course(gen_patient(lead), Phase.INTEGRATION, PSILOCYBIN)
            gen_measure(course, lead, "phq9", "baseline", total=18)
            gen_measure(course, lead, "phq9", "integration", total=9)
            gen_integration_session(course, lead)
            clinic_size[0] += 1

    def counts() -> dict[str, int]:
        found = {}
        for url in ("/supervision/reviews", "/supervision/outcomes"):
            with count_queries(db.engine) as counter:
                assert client.get(url).status_code == 200, url
            found[url] = counter.count
        return found

    clinic_size = [0]
    login_as(team["supervisor"])
    grow_to(SMALL)
    small = counts()
    grow_to(LARGE)
    assert counts() == small
