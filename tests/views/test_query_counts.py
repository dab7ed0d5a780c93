"""Every page runs the same number of SQL statements whatever the size of the clinic.

Counts, never timings: a page that loads per patient (an N+1, an unbounded list) shows here
as a count that grows from a 10-patient clinic to a 200-patient one.
"""

from __future__ import annotations

import itertools

from psiflow.access import Role
from psiflow.domain.phases import Phase
from psiflow.query_count import HEADER
from tests.conftest import count_queries
from tests.factories import TEST_PASSWORD, gen_course, gen_patient, gen_user

SMALL, LARGE = 10, 200

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
        self._paths = itertools.cycle(PATHS)
        self.first = None

    def grow_to(self, patients: int) -> None:
        while self.size < patients:
            lead = self.team[next(self._leads)]
            co = (
                self.team["clinician2"]
                if self.size % 3 == 0 and lead.role != Role.TRAINEE
                else None
            )
            patient = gen_patient(lead, co_facilitator=co)
            if self.size % 10 != 9:  # one in ten is referred but has no course yet
                gen_course(patient, path=next(self._paths))
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
