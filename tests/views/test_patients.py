"""The board, the patient page and phase changes through the web."""

import pytest

from psiflow import catalog
from psiflow.domain.phases import Phase
from psiflow.models import Course, Patient, PhaseTransition
from tests.conftest import count_queries
from tests.factories import gen_course, gen_patient


def test_clinician_board_shows_own_caseload_by_phase(client, login_as, team, db):
    mine = gen_patient(team["clinician"], display_name="Wren Example")
    gen_course(mine, Phase.PREPARATION)
    theirs = gen_patient(team["outsider"], display_name="Basil Sample")
    gen_course(theirs, Phase.PREPARATION)
    html = login_as(team["clinician"]).get("/").get_data(as_text=True)
    assert "Wren Example" in html
    assert "Basil Sample" not in html
    assert "Preparation" in html and "Screening" in html
    assert "signed preparation session" in html  # what the gate still needs


def test_co_facilitator_sees_the_patient(client, login_as, team, db):
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    gen_course(patient)
    login_as(team["clinician2"])
    assert client.get(f"/patients/{patient.id}").status_code == 200


def test_closed_courses_are_behind_a_filter(client, login_as, team, db):
    done = gen_patient(team["clinician"], display_name="Clover Done")
    gen_course(done, Phase.COMPLETED)
    login_as(team["clinician"])
    assert "Clover Done" not in client.get("/").get_data(as_text=True)
    assert "Clover Done" in client.get("/?view=closed").get_data(as_text=True)


def test_supervisor_sees_team_and_filters_by_clinician(client, login_as, team, db):
    a = gen_patient(team["clinician"], display_name="Alder Example")
    gen_course(a)
    b = gen_patient(team["clinician2"], display_name="Bramble Sample")
    gen_course(b)
    c = gen_patient(team["outsider"], display_name="Cedar Notreal")
    gen_course(c)
    login_as(team["supervisor"])
    html = client.get("/").get_data(as_text=True)
    assert "Alder Example" in html and "Bramble Sample" in html
    assert "Cedar Notreal" not in html
    html = client.get(f"/?clinician={team['clinician'].id}").get_data(as_text=True)
    assert "Alder Example" in html and "Bramble Sample" not in html
    # a clinician outside the team is ignored as a filter, not obeyed
    html = client.get(f"/?clinician={team['outsider'].id}").get_data(as_text=True)
    assert "Cedar Notreal" not in html


def test_supervisor_sees_trainee_practice_patients_only_under_training(client, login_as, team, db):
    practice = gen_patient(team["trainee"], display_name="Practice Dahlia")
    gen_course(practice)
    login_as(team["supervisor"])
    assert "Practice Dahlia" not in client.get("/").get_data(as_text=True)
    assert "Practice Dahlia" in client.get("/?practice=1").get_data(as_text=True)


def test_board_query_count_does_not_grow_with_the_caseload(client, login_as, team, db, app):
    def board_queries():
        login_as(team["clinician"])
        with count_queries(db.engine) as counter:
            assert client.get("/").status_code == 200
        client.post("/logout")
        return counter.count

    # A course in every gated phase: a fact source runs only when some card's gates read it.
    for i in range(5):
        gen_course(gen_patient(team["clinician"]), list(Phase)[i % 5])
    small = board_queries()
    for i in range(30):
        gen_course(gen_patient(team["clinician"]), list(Phase)[i % 5])
    assert board_queries() == small


def test_phase_list_pages_through_a_long_column(client, login_as, team, db, app):
    for _ in range(3):
        gen_course(gen_patient(team["clinician"]), Phase.SCREENING)
    login_as(team["clinician"])
    html = client.get("/?phase=screening").get_data(as_text=True)
    assert "3 courses in Screening" in html
    assert client.get("/?phase=nonsense").status_code == 404


def test_create_patient_and_start_a_course(client, login_as, team, db):
    login_as(team["clinician"])
    key = catalog.current_protocols()[0].key
    response = client.post(
        "/patients/new",
        data={
            "display_name": "Fennel Madeup",
            "record_number": "MR-1",
            "date_of_birth": "1980-02-03",
            "co_facilitator_id": team["clinician2"].id,
            "protocol_key": key,
        },
    )
    assert response.status_code == 302
    patient = db.session.scalar(db.select(Patient).filter_by(record_number="MR-1"))
    assert patient.lead_clinician_id == team["clinician"].id
    assert patient.co_facilitator_id == team["clinician2"].id
    assert not patient.is_practice
    [course] = patient.courses
    assert course.phase == Phase.SCREENING and course.protocol_key == key
    assert course.transitions[0].to_phase == Phase.SCREENING


def test_trainee_creates_practice_patients_only(client, login_as, team, db):
    login_as(team["trainee"])
    client.post(
        "/patients/new",
        data={
            "display_name": "Practice Hazel",
            "record_number": "P-1",
            "co_facilitator_id": 0,
            "protocol_key": "",
        },
    )
    patient = db.session.scalar(db.select(Patient).filter_by(record_number="P-1"))
    assert patient.is_practice


@pytest.mark.parametrize(
    "data,message",
    [
        ({"display_name": "", "record_number": "A-1"}, "This field is required."),
        ({"display_name": "X", "record_number": "A 1 <b>"}, "Letters, digits"),
        (
            {"display_name": "X", "record_number": "A-1", "date_of_birth": "31/31/1999"},
            "Date of birth: enter a date such as 2026-03-08.",
        ),
        (
            {"display_name": "X", "record_number": "A-1", "protocol_key": "nonsense@9"},
            "Not a valid choice",
        ),
        (
            {"display_name": "X", "record_number": "A-1", "co_facilitator_id": 999999},
            "Not a valid choice",
        ),
    ],
)
def test_bad_patient_input_is_refused_next_to_the_field(client, login_as, team, db, data, message):
    login_as(team["clinician"])
    data = {"co_facilitator_id": 0, "protocol_key": "", **data}
    response = client.post("/patients/new", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.query(Patient).count() == 0


def test_duplicate_record_number_is_refused(client, login_as, team, db):
    gen_patient(team["clinician"], record_number="DUP-1")
    login_as(team["clinician"])
    response = client.post(
        "/patients/new",
        data={
            "display_name": "X",
            "record_number": "DUP-1",
            "co_facilitator_id": 0,
            "protocol_key": "",
        },
    )
    assert "already has this record number" in response.get_data(as_text=True)
    assert db.session.query(Patient).count() == 1


def test_patient_page_shows_gate_timeline_and_actions(client, login_as, team, db):
    patient = gen_patient(team["clinician"], display_name="Indigo Example")
    gen_course(patient, Phase.PREPARATION)
    html = login_as(team["clinician"]).get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Indigo Example" in html
    assert "Screening → Preparation" in html
    assert "Advance to Dosing" in html and "disabled" in html
    assert "Put on hold" in html and "Withdraw" in html
    assert "Override this gate" not in html  # clinicians do not override


def test_closed_gate_refuses_advance_and_changes_nothing(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.SCREENING)
    login_as(team["clinician"])
    response = client.post(
        f"/courses/{course.id}/advance",
        data={"version": course.version, "to_phase": "preparation"},
        follow_redirects=True,
    )
    assert "The gate is closed" in response.get_data(as_text=True)
    assert db.session.get(Course, course.id).phase == Phase.SCREENING


def test_illegal_transition_is_refused(client, login_as, team, db):
    course = gen_course(gen_patient(team["supervisor"]), Phase.SCREENING)
    login_as(team["supervisor"])
    response = client.post(
        f"/courses/{course.id}/override",
        data={
            "override-version": course.version,
            "override-to_phase": "follow_up",
            "override-reason": "x",
        },
        follow_redirects=True,
    )
    assert "cannot go from Screening to Follow-up" in response.get_data(as_text=True)
    assert db.session.get(Course, course.id).phase == Phase.SCREENING
    response = client.post(
        f"/courses/{course.id}/advance", data={"version": course.version, "to_phase": "bogus"}
    )
    assert response.status_code == 400


def test_supervisor_overrides_a_closed_gate_with_a_reason(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.SCREENING)
    login_as(team["supervisor"])
    page = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    assert "Override this gate" in page
    response = client.post(
        f"/courses/{course.id}/override",
        data={
            "override-version": course.version,
            "override-to_phase": "preparation",
            "override-reason": "",
        },
        follow_redirects=True,
    )
    assert "needs a written reason" in response.get_data(as_text=True)
    assert db.session.get(Course, course.id).phase == Phase.SCREENING
    client.post(
        f"/courses/{course.id}/override",
        data={
            "override-version": course.version,
            "override-to_phase": "preparation",
            "override-reason": "Screening done on paper at the partner clinic",
        },
    )
    course = db.session.get(Course, course.id)
    assert course.phase == Phase.PREPARATION
    last = course.transitions[-1]
    assert last.override and last.by_id == team["supervisor"].id
    assert "Medical and psychiatric screening signed" in last.unmet_at_override


def test_clinician_cannot_override(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.SCREENING)
    login_as(team["clinician"])
    response = client.post(
        f"/courses/{course.id}/override",
        data={
            "override-version": course.version,
            "override-to_phase": "preparation",
            "override-reason": "x",
        },
    )
    assert response.status_code == 403
    assert db.session.get(Course, course.id).phase == Phase.SCREENING


def test_hold_and_resume_return_to_the_phase_left(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION)
    login_as(team["clinician"])
    client.post(
        f"/courses/{course.id}/hold", data={"hold-version": course.version, "hold-reason": ""}
    )
    assert db.session.get(Course, course.id).phase == Phase.INTEGRATION  # a reason is required
    client.post(
        f"/courses/{course.id}/hold",
        data={"hold-version": course.version, "hold-reason": "Patient travelling for work"},
    )
    course = db.session.get(Course, course.id)
    assert course.phase == Phase.ON_HOLD
    client.post(f"/courses/{course.id}/resume", data={"version": course.version})
    course = db.session.get(Course, course.id)
    assert course.phase == Phase.INTEGRATION
    assert [t.to_phase for t in course.transitions][-2:] == [Phase.ON_HOLD, Phase.INTEGRATION]


def test_withdraw_is_final_and_needs_a_reason(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION)
    login_as(team["clinician"])
    client.post(
        f"/courses/{course.id}/withdraw",
        data={"withdraw-version": course.version, "withdraw-reason": "Moved abroad"},
    )
    course = db.session.get(Course, course.id)
    assert course.phase == Phase.WITHDRAWN
    response = client.post(
        f"/courses/{course.id}/hold",
        data={"hold-version": course.version, "hold-reason": "x"},
        follow_redirects=True,
    )
    assert "withdrawn" in response.get_data(as_text=True)
    assert db.session.get(Course, course.id).phase == Phase.WITHDRAWN


def test_stale_version_is_a_conflict_not_an_overwrite(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION)
    seen = course.version
    login_as(team["clinician"])
    client.post(
        f"/courses/{course.id}/hold", data={"hold-version": seen, "hold-reason": "first device"}
    )
    response = client.post(
        f"/courses/{course.id}/withdraw",
        data={"withdraw-version": seen, "withdraw-reason": "second device"},
        follow_redirects=True,
    )
    assert "Someone else changed this course" in response.get_data(as_text=True)
    assert db.session.get(Course, course.id).phase == Phase.ON_HOLD
    assert db.session.query(PhaseTransition).filter_by(reason="second device").count() == 0


def test_second_open_course_is_refused(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION)
    login_as(team["clinician"])
    response = client.post(
        f"/patients/{course.patient_id}/courses",
        data={"protocol_key": course.protocol_key},
        follow_redirects=True,
    )
    assert "already has an open course" in response.get_data(as_text=True)
    assert db.session.query(Course).count() == 1


def test_a_held_course_shows_where_it_resumes_and_who_made_each_change(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION)
    login_as(team["clinician"])
    client.post(
        f"/courses/{course.id}/hold",
        data={"hold-version": course.version, "hold-reason": "Patient travelling for work"},
    )
    page = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    assert "Resume in Integration" in page
    assert "Integration → On hold" in page and "Patient travelling for work" in page
    transitions = db.session.get(Course, course.id).transitions
    assert page.count('<tr>\n        <td data-label="When">') == len(transitions)
    assert f'<td data-label="By">{team["clinician"].name}</td>' in page


def test_a_held_course_runs_as_many_queries_as_one_in_its_phase(client, login_as, team, db):
    held = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION)
    going = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION)
    login_as(team["clinician"])
    client.post(f"/courses/{held.id}/hold", data={"hold-version": held.version, "hold-reason": "x"})

    def page_queries(course) -> int:
        with count_queries(db.engine) as counter:
            assert client.get(f"/patients/{course.patient_id}").status_code == 200
        return counter.count

    page_queries(going)
    assert page_queries(held) <= page_queries(going)


def test_a_new_course_is_offered_only_to_its_care_team_and_only_once_every_course_is_closed(
    client, login_as, team, db
):
    patient = gen_patient(team["clinician"])
    db.session.commit()
    page = f"/patients/{patient.id}"
    login_as(team["supervisor"])  # supervises, may view, may not write records
    assert "Start a course" not in client.get(page).get_data(as_text=True)
    client.post("/logout")
    login_as(team["clinician"])
    assert "Start a course" in client.get(page).get_data(as_text=True)
    course = gen_course(patient, Phase.PREPARATION)
    db.session.commit()
    assert "Start a course" not in client.get(page).get_data(as_text=True)
    course.phase = Phase.COMPLETED
    db.session.commit()
    assert "Start a course" in client.get(page).get_data(as_text=True)


def test_every_panel_answers_for_every_course_of_the_page_in_page_order(app, team, db):
    """The panel contract (`psiflow.web.panels`): given the page's courses, each panel
    returns one entry per course, and the page draws the panels in their order."""
    from psiflow.patients import queries
    from psiflow.web import panels

    patient = gen_patient(team["clinician"])
    gen_course(patient, path=[Phase.SCREENING, Phase.PREPARATION, Phase.WITHDRAWN])
    gen_course(patient, Phase.INTEGRATION)
    courses = queries.patient_courses(patient.id)
    drawn = panels.panels_for(courses)
    assert [panel.order for panel, _ in drawn] == sorted(p.order for p in panels.PANELS)
    assert len({p.template for p in panels.PANELS}) == len(panels.PANELS)
    for panel, contexts in drawn:
        assert set(contexts) == {c.id for c in courses}, panel.template
        app.jinja_env.get_template(panel.template)  # its template exists


def test_a_single_dose_course_in_integration_is_offered_follow_up_only(client, login_as, team, db):
    from psiflow.domain.signing import Meaning
    from psiflow.models.records import sign_record
    from tests.factories import gen_dosing_session

    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, "psilocybin-single-dose@1.0")
    sign_record(gen_dosing_session(course, team["clinician"]), team["clinician"], Meaning.AUTHORED)
    course.phase = Phase.INTEGRATION
    db.session.commit()
    login_as(team["clinician"])
    page = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    assert "Advance to Follow-up" in page
    assert "Advance to Dosing" not in page and "move on to follow-up" not in page


def test_a_supervisors_override_never_doses_a_course_beyond_its_protocol(
    client, login_as, team, db
):
    from psiflow.domain.signing import Meaning
    from psiflow.models.records import sign_record
    from tests.factories import gen_dosing_session

    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, "psilocybin-single-dose@1.0")
    sign_record(gen_dosing_session(course, team["clinician"]), team["clinician"], Meaning.AUTHORED)
    course.phase = Phase.INTEGRATION
    db.session.commit()
    login_as(team["supervisor"])
    page = client.post(
        f"/courses/{course.id}/override",
        data={
            "override-version": course.version,
            "override-to_phase": "dosing",
            "override-reason": "The patient asks for a second dose.",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "The protocol has 1 dosing session and all are done" in page
    db.session.expire_all()
    assert db.session.get(Course, course.id).phase == Phase.INTEGRATION
