"""Training through the app: a trainee runs a scenario in the live page on a training clock,
the supervisor steps the clock and comments; real sessions and real patients stay untouched,
and each training page is refused to everyone it does not belong to."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from psiflow.domain.adherence import MONITOR_SOURCE as MONITOR
from psiflow.domain.clock import WALL_CLOCK
from psiflow.domain.phases import Phase
from psiflow.models import (
    AdherenceComment,
    Alert,
    AuditEvent,
    Course,
    DosingSession,
    Patient,
    ScenarioDelivery,
    ScenarioRun,
    SessionEvent,
    TrainingClock,
    VitalSign,
)
from psiflow.models.training import clock_for
from psiflow.training.views import training_panel
from tests.conftest import count_queries, unlabelled_cells
from tests.factories import gen_course, gen_dosing_session, gen_patient, gen_user
from tests.integration_factories import gen_measure

ESKETAMINE_SCENARIO = "esketamine-low-oxygen"


def start_run(client, scenario_id=ESKETAMINE_SCENARIO):
    response = client.post(f"/training/scenarios/{scenario_id}/runs")
    assert response.status_code == 302, response.status_code
    run_id = int(re.search(r"/training/runs/(\d+)", response.headers["Location"]).group(1))
    return run_id


def get_run(db, run_id) -> ScenarioRun:
    db.session.expire_all()
    return db.session.get(ScenarioRun, run_id)


def live(session_id, action=""):
    return f"/dosing-sessions/{session_id}" + (f"/{action}" if action else "")


def prepare_and_dose(client, db, run, amount=56):
    """Everything the checklist asks before the dose, a baseline reading, the dose."""
    protocol = run.course.protocol
    for item in protocol.checklist:
        if item.when == "before":
            r = client.post(
                live(run.session_id, "answers"),
                data={"kind": "checklist", "item_id": item.id, "value": "1"},
            )
            assert r.status_code == 302
    r = client.post(
        live(run.session_id, "vitals"),
        data={"systolic": 128, "diastolic": 82, "heart_rate": 70, "spo2": 98},
    )
    assert r.status_code == 302
    r = client.post(
        live(run.session_id, "doses"),
        data={"kind": "initial", "amount": amount, "lot_number": "PRACTICE-1"},
    )
    assert r.status_code == 302, r.get_data(as_text=True)


@pytest.fixture
def switch_to(client, auth, login_as):
    """Log out whoever is in, then log `user` in (the login page keeps a logged-in user)."""

    def switch(user):
        auth.logout()
        return login_as(user)

    return switch


def jump(client, session_id, minute):
    return client.post(f"/training/sessions/{session_id}/clock/jump", data={"minute": minute})


@pytest.fixture
def run_id(client, login_as, team, db):
    login_as(team["trainee"])
    return start_run(client)


def test_starting_a_scenario_makes_a_practice_patient_ready_for_dosing_on_its_clock(
    client, switch_to, team, db, run_id
):
    run = get_run(db, run_id)
    assert run.patient.is_practice
    assert run.patient.lead_clinician_id == team["trainee"].id
    assert run.patient.display_name == "Practice Dahlia Notreal"
    assert run.course.phase == Phase.DOSING
    assert run.session.course_id == run.course_id
    clock = clock_for(run.session)
    assert clock.is_training and clock.speed == 12
    page = client.get(f"/training/runs/{run_id}").get_data(as_text=True)
    assert "PRACTICE" in page
    assert "uncontrolled_hypertension" in page  # the flag the case file resolves
    assert "Adherence:" in page


def test_the_live_page_says_practice_and_shows_the_training_clock(client, team, db, run_id):
    run = get_run(db, run_id)
    page = client.get(live(run.session_id)).get_data(as_text=True)
    assert "practice-banner" in page and "PRACTICE" in page
    assert 'data-speed="12"' in page
    assert "Training clock" in page
    assert "Record the call" in page  # calling the supervisor is one tap


def test_a_scripted_reading_arrives_as_the_monitor_gives_it_and_is_flagged_by_the_rules(
    client, switch_to, team, db, run_id
):
    run = get_run(db, run_id)
    prepare_and_dose(client, db, run)
    client.get(live(run.session_id))  # before minute 30: nothing arrives
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScenarioDelivery)) == 0

    switch_to(team["supervisor"])
    assert jump(client, run.session_id, 31).status_code == 302
    switch_to(team["trainee"])
    page = client.get(live(run.session_id)).get_data(as_text=True)
    assert "The pulse oximeter alarms" in page
    assert "monitor (scenario)" in page
    reading = db.session.scalar(
        sa.select(VitalSign).where(VitalSign.source == "monitor (scenario)")
    )
    assert reading.spo2 == 87 and reading.flags and reading.critical_flags
    minute = (reading.taken_at - run.session.doses()[0].given_at).total_seconds() / 60
    assert minute == 30  # at its minute on the training clock, not when the page was opened
    # The same rule as any reading: a critical alert waits for the supervisor.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 1
    client.get(live(run.session_id))  # seen again: not given twice
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScenarioDelivery)) == 1


def test_the_live_page_names_when_the_next_scripted_event_comes(
    client, switch_to, team, db, run_id
):
    """The open page fetches the next event at this time (sessions.js), as a monitor alarms."""

    def next_event_at():
        page = client.get(live(run.session_id)).get_data(as_text=True)
        found = re.search(r'data-next-event-at="([^"]+)"', page)
        return found and datetime.fromisoformat(found.group(1))

    run = get_run(db, run_id)
    assert next_event_at() is None  # nothing comes before the dose
    prepare_and_dose(client, db, run)
    dose = get_run(db, run_id).session.doses()[0].given_at
    assert next_event_at() == dose + timedelta(minutes=30)
    switch_to(team["supervisor"])
    jump(client, run.session_id, 31)
    assert next_event_at() == dose + timedelta(minutes=90)  # the SpO2 given, the wish to leave next
    jump(client, run.session_id, 91)
    assert next_event_at() is None  # all given: the page has nothing more to fetch


def test_the_trainees_responses_are_scored_in_time_on_the_training_clock(
    client, switch_to, team, db, run_id
):
    run = get_run(db, run_id)
    prepare_and_dose(client, db, run)
    switch_to(team["supervisor"])
    jump(client, run.session_id, 31)
    switch_to(team["trainee"])
    client.get(live(run.session_id))
    reading = db.session.scalar(
        sa.select(VitalSign).where(VitalSign.source == "monitor (scenario)")
    )
    client.post(
        live(run.session_id, f"vitals/{reading.id}/acknowledge"),
        data={"note": "Stimulated, jaw thrust, oxygen on"},
    )
    client.post(live(run.session_id, "vitals"), data={"spo2": 95, "heart_rate": 64})
    client.post(
        live(run.session_id, "events"),
        data={"kind": "supervisor_call", "note": "SpO2 87, supervisor to the room"},
    )
    client.post(
        live(run.session_id, "adverse-events"),
        data={
            "description": "Respiratory depression, SpO2 87 %",
            "severity": 2,
            "relatedness": "probable",
            "action_taken": "Stimulation, oxygen",
            "outcome": "recovered",
        },
    )
    page = client.get(f"/training/runs/{run_id}").get_data(as_text=True)
    rows = dict(
        re.findall(
            r'<tr id="item-([\w.]+)">.*?<td data-label="Met" class="(met|not-met)"', page, re.S
        )
    )
    assert rows["low_spo2.acknowledge"] == "met"
    assert rows["low_spo2.recheck"] == "met"
    assert rows["low_spo2.call_supervisor"] == "met"
    assert rows["low_spo2.adverse_event"] == "met"
    assert rows["checklist"] == "met"
    assert rows["discharge"] == "not-met"  # not discharged yet
    assert "minute 31" in page  # the evidence names the minute
    # and each expected response its source, for the trainee to read why
    assert "Expected by: BTS oxygen guideline" in page
    assert "without lung disease needs urgent assessment" in page
    event = db.session.scalar(sa.select(SessionEvent).where(SessionEvent.kind == "supervisor_call"))
    assert event.recorded_at > run.session.doses()[0].given_at


def test_the_supervisor_comments_on_an_item_and_the_trainee_reads_it(
    client, switch_to, team, db, run_id
):
    switch_to(team["supervisor"])
    response = client.post(
        f"/training/runs/{run_id}/comments",
        data={"item_key": "low_spo2.acknowledge", "text": "Acknowledge only after acting."},
    )
    assert response.status_code == 302
    comment = db.session.scalar(sa.select(AdherenceComment))
    assert comment.author_id == team["supervisor"].id
    audited = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.object_type == "AdherenceComment")
    )
    assert audited is not None and audited.actor_id == team["supervisor"].id
    bad = client.post(f"/training/runs/{run_id}/comments", data={"item_key": "nope", "text": "x"})
    assert bad.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AdherenceComment)) == 1
    switch_to(team["trainee"])
    assert "Acknowledge only after acting." in client.get("/training/progress").get_data(
        as_text=True
    )
    assert "Acknowledge only after acting." in client.get(f"/training/runs/{run_id}").get_data(
        as_text=True
    )


def test_progress_pages_chart_the_runs_and_name_what_is_not_practised(
    client, switch_to, team, db, run_id
):
    page = client.get("/training/progress").get_data(as_text=True)
    assert '<svg class="chart bar-chart"' in page
    assert "Esketamine: a falling SpO2" in page
    assert "Psilocybin: anxiety at the peak" in page  # not practised yet
    switch_to(team["supervisor"])
    page = client.get("/training/supervisees").get_data(as_text=True)
    assert team["trainee"].name in page
    assert "Psilocybin: anxiety at the peak" in page
    assert '<svg class="chart bar-chart"' in page
    switch_to(team["other_supervisor"])
    page = client.get("/training/supervisees").get_data(as_text=True)
    assert team["trainee"].name not in page


def test_every_table_of_the_training_pages_names_its_cells_on_a_phone(
    client, switch_to, team, db, run_id
):
    switch_to(team["supervisor"])
    client.post(
        f"/training/runs/{run_id}/comments",
        data={"item_key": "checklist", "text": "Tick them as you go."},
    )
    pages = {url: client.get(url) for url in (f"/training/runs/{run_id}", "/training/supervisees")}
    switch_to(team["trainee"])
    pages.update({url: client.get(url) for url in ("/training/scenarios", "/training/progress")})
    for url, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "<td" in html, url
        assert unlabelled_cells(html) == [], url


# --- the clock on real sessions ------------------------------------------------------------


def test_a_real_session_runs_on_the_wall_clock_and_cannot_be_moved(client, switch_to, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    db.session.commit()
    assert not session.course.patient.is_practice  # what the guard has loaded for the page
    with count_queries(db.engine) as counter:
        assert clock_for(session) is WALL_CLOCK
        assert training_panel(session) is None
    assert counter.count == 0  # no query of its own for a real session
    switch_to(team["supervisor"])
    response = jump(client, session.id, 120)
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingClock)) == 0
    switch_to(team["clinician"])
    page = client.get(live(session.id)).get_data(as_text=True)
    assert "practice-banner" not in page and "Training clock" not in page
    assert "data-speed" not in page
    speed = client.post(f"/training/sessions/{session.id}/clock/speed", data={"speed": "12"})
    assert speed.status_code == 403  # clinicians have no training clock at all
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingClock)) == 0


def test_the_training_clock_never_runs_backwards(client, switch_to, team, db, run_id):
    run = get_run(db, run_id)
    prepare_and_dose(client, db, run)
    switch_to(team["supervisor"])
    jump(client, run.session_id, 60)
    before = clock_for(get_run(db, run_id).session)
    jump(client, run.session_id, 10)
    after = clock_for(get_run(db, run_id).session)
    assert after == before


# --- isolation -----------------------------------------------------------------------------


def test_no_scenario_patient_reaches_a_real_list_count_chart_or_export(
    client, switch_to, team, db, run_id
):
    name = get_run(db, run_id).patient.display_name
    switch_to(team["clinician"])
    assert name not in client.get("/").get_data(as_text=True)
    switch_to(team["supervisor"])
    for url in ("/", "/supervision/outcomes", "/supervision/outcomes.csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert name not in response.get_data(as_text=True), url
    # The practice board of the supervisor shows it: practice stays where it belongs.
    assert name in client.get("/?practice=1").get_data(as_text=True)
    run = get_run(db, run_id)
    export = client.get(f"/integration/courses/{run.course_id}/export.csv")
    assert export.status_code in (403, 404)


def test_what_a_run_records_stays_out_of_every_real_list_count_chart_and_export(
    client, switch_to, team, db, run_id
):
    """Runs that have made what a real session makes (the monitor's readings, a critical one
    with its alert, a serious adverse event and its alert, a course in integration with work
    due and scores): none of it reaches the supervisor's or clinician's real pages."""
    real = gen_course(
        gen_patient(team["clinician"], display_name="Realperson Counted"), Phase.DOSING
    )
    gen_dosing_session(real, team["clinician"], complete=False, hours_ago=1)
    db.session.commit()
    esketamine = get_run(db, run_id)
    prepare_and_dose(client, db, esketamine)
    run = get_run(db, start_run(client, "psilocybin-anxiety-at-peak"))
    course_id = run.course_id
    names = (run.patient.display_name, esketamine.patient.display_name)
    prepare_and_dose(client, db, run, amount=25)
    switch_to(team["supervisor"])
    jump(client, esketamine.session_id, 31)
    jump(client, run.session_id, 91)
    switch_to(team["trainee"])
    client.get(live(esketamine.session_id))  # the monitor gives the critical SpO2
    client.get(live(run.session_id))  # and the high blood pressure
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(VitalSign).where(VitalSign.source == MONITOR)
        )
        == 2
    )
    recorded = client.post(
        live(run.session_id, "adverse-events"),
        data={
            "description": "Chest pain with panic at the peak, taken to hospital",
            "severity": 4,
            "seriousness": "hospitalisation",
            "relatedness": "probable",
            "action_taken": "Ambulance called, transferred",
            "outcome": "recovering",
        },
    )
    assert recorded.status_code == 302
    alerts = db.session.scalars(sa.select(Alert)).all()
    assert {a.course_id for a in alerts} == {esketamine.course_id, course_id}
    assert all(a.acknowledged_at is None for a in alerts)
    switch_to(team["supervisor"])
    override = client.post(
        f"/courses/{course_id}/override",
        data={
            "override-version": db.session.get(Course, course_id).version,
            "override-to_phase": "integration",
            "override-reason": "Practice: go on to the integration note.",
        },
    )
    assert override.status_code == 302
    assert db.session.get(Course, course_id).phase == Phase.INTEGRATION
    gen_measure(db.session.get(Course, course_id), team["trainee"], "phq9", "baseline", total=20)
    db.session.commit()

    board = client.get("/").get_data(as_text=True)
    assert "Realperson Counted" in board and not any(n in board for n in names)
    assert 'data-open-alerts="0"' in board  # the run's open alerts are no real team's count
    for url in (
        "/supervision/alerts",
        "/supervision/outcomes",
        "/supervision/outcomes?phase=integration",
        "/supervision/outcomes.csv",
        "/?phase=integration",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not any(n in response.get_data(as_text=True) for n in names), url
    apart = client.get("/supervision/alerts?practice=1").get_data(as_text=True)
    assert all(n in apart for n in names) and "PRACTICE" in apart  # kept, where practice belongs
    for url in (
        f"/integration/courses/{course_id}/export.csv",
        f"/integration/courses/{course_id}/export.json",
        f"/patients/{run.patient_id}/audit.csv",
    ):
        assert client.get(url).status_code in (403, 404), url
    switch_to(team["clinician"])
    for url in ("/", "/?phase=integration", f"/patients/{run.patient_id}", live(run.session_id)):
        response = client.get(url)
        assert not any(n in response.get_data(as_text=True) for n in names), url
    assert client.get(f"/training/runs/{run_id}").status_code in (403, 404)


def test_nothing_real_reaches_a_trainee_through_training(client, switch_to, team, db, run_id):
    real = gen_patient(team["clinician"], display_name="Realperson Unseen")
    course = gen_course(real, Phase.DOSING)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    db.session.commit()
    switch_to(team["trainee"])
    for url in ("/training/scenarios", "/training/progress"):
        assert "Realperson Unseen" not in client.get(url).get_data(as_text=True)
    assert client.get(live(session.id)).status_code == 404
    speed = client.post(f"/training/sessions/{session.id}/clock/speed", data={"speed": "12"})
    assert speed.status_code == 404


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("clinician", 403),
        ("admin", 403),
        ("other_supervisor", 404),
        ("other_trainee", 404),
    ],
)
def test_a_run_is_refused_to_everyone_but_its_trainee_and_their_supervisor(
    client, switch_to, team, db, run_id, who, status
):
    run = get_run(db, run_id)
    user = (
        gen_user(team["trainee"].role, team["trainee"].clinic, supervisor=team["supervisor"])
        if who == "other_trainee"
        else team[who]
    )
    db.session.commit()
    switch_to(user)
    assert client.get(f"/training/runs/{run_id}").status_code == status
    comment = client.post(
        f"/training/runs/{run_id}/comments", data={"item_key": "checklist", "text": "x"}
    )
    assert comment.status_code in (403, 404)
    assert jump(client, run.session_id, 100).status_code in (403, 404)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AdherenceComment)) == 0


def test_the_trainee_may_not_comment_on_or_step_their_own_run(client, team, db, run_id):
    run = get_run(db, run_id)
    assert (
        client.post(
            f"/training/runs/{run_id}/comments", data={"item_key": "checklist", "text": "me"}
        ).status_code
        == 403
    )
    assert jump(client, run.session_id, 100).status_code == 403


@pytest.mark.parametrize("who", ["clinician", "supervisor", "admin"])
def test_only_trainees_start_scenarios_and_have_a_progress_page(client, switch_to, team, db, who):
    switch_to(team[who])
    assert client.get("/training/scenarios").status_code == 403
    assert client.post(f"/training/scenarios/{ESKETAMINE_SCENARIO}/runs").status_code == 403
    assert client.get("/training/progress").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 0


@pytest.mark.parametrize("who", ["clinician", "trainee", "admin"])
def test_only_supervisors_have_the_supervisees_page(client, switch_to, team, who):
    switch_to(team[who])
    assert client.get("/training/supervisees").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, db, team):
    for url in ("/training/scenarios", "/training/progress", "/training/supervisees"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_unknown_scenario_is_not_found(client, team, db, run_id):
    assert client.post("/training/scenarios/no-such-thing/runs").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DosingSession)) == 1


# --- query counts --------------------------------------------------------------------------


def _statements(db, client, url):
    db.session.expire_all()
    with count_queries(db.engine) as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_progress_pages_run_as_many_queries_for_many_runs_as_for_one(
    client, switch_to, team, db, run_id
):
    one = _statements(db, client, "/training/progress")
    start_run(client, "psilocybin-anxiety-at-peak")
    start_run(client, "mdma-hypertension-nausea")
    assert _statements(db, client, "/training/progress") == one
    switch_to(team["supervisor"])
    supervised = _statements(db, client, "/training/supervisees")
    second = gen_user(team["trainee"].role, team["trainee"].clinic, supervisor=team["supervisor"])
    db.session.commit()
    switch_to(second)
    start_run(client, "ketamine-vomiting-leave")
    switch_to(team["supervisor"])
    assert _statements(db, client, "/training/supervisees") == supervised
