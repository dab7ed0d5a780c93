"""A whole training scenario in the browser on the accelerated clock: nobody steps it. The
trainee starts the psilocybin scenario (x12) and runs it in the live page as its minutes come:
the panic at the peak, the monitor's high blood pressure, the wish to leave, the disclosure,
each answered in time; keeps the schedule of vital signs, discharges after the minimum
duration, signs, then writes the integration note. The supervisor co-signs with a fidelity
rating, reads the adherence report and comments; the trainee reads the comment.

The test does not wait real minutes for the training clock: `wall_time_passes` moves the
clock's wall anchor back, which is what the passing of that much wall time does to it, so the
clock's own arithmetic (x12 until it reaches the present) decides what minute the session is
at, as it does in a room."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from psiflow.domain.clock import minute_of
from psiflow.models import ScenarioRun, TrainingClock
from psiflow.models.training import clock_for
from psiflow.models.types import utcnow
from tests.browser.scenario_steps import close_and_sign, record_adverse_event, tick
from tests.factories import TEST_PASSWORD

SCENARIO_TITLE = "Psilocybin: anxiety at the peak, high blood pressure and a disclosure"
SPEED = 12


def test_a_scenario_runs_end_to_end_on_the_accelerated_clock_trainee_then_supervisor(
    page, browser_login, browser_logout, assert_accessible, team, db
):
    trainee, supervisor = team["trainee"], team["supervisor"]

    browser_login(trainee)
    page.get_by_role("link", name="Scenarios").click()
    page.locator("article", has=page.get_by_role("heading", name=SCENARIO_TITLE)).get_by_role(
        "button", name="Start this scenario"
    ).click()
    expect(page.get_by_text(f"Scenario started on a training clock at x{SPEED}")).to_be_visible()
    expect(page.get_by_text("PRACTICE", exact=True)).to_be_visible()
    run_url = page.url
    db.session.expire_all()
    run = db.session.scalar(sa.select(ScenarioRun))
    protocol = run.course.protocol
    session_id, patient_id = run.session_id, run.patient_id
    live_url = f"/dosing-sessions/{session_id}"
    assert clock_for(run.session).speed == SPEED

    def minute_now() -> float:
        db.session.expire_all()
        session = db.session.get(ScenarioRun, run.id).session
        dose = session.doses()[0].given_at
        return minute_of(dose, clock_for(session).now(utcnow()))

    def wall_time_passes(until_minute: int) -> None:
        """Let as much wall time pass as the x12 clock needs to reach `until_minute` after
        the dose: 1/12 of the session's minutes, never a jump of the session's own time."""
        behind = until_minute - minute_now()
        assert behind > 0, f"already at minute {minute_now():.1f}, past {until_minute}"
        row = db.session.scalar(
            sa.select(TrainingClock).where(TrainingClock.session_id == session_id)
        )
        row.anchor_wall_at -= timedelta(minutes=behind / SPEED)
        db.session.commit()
        page.goto(live_url)  # the trainee looks at the page again, as at a monitor
        expect(page.get_by_role("region", name=re.compile("^PRACTICE"))).to_be_visible()

    def vitals(**values):
        for label, value in values.items():
            page.get_by_label(label).fill(str(value))
        page.get_by_role("button", name="Record vital signs").click()
        expect(page.get_by_text("Vital signs recorded.")).to_be_visible()

    def sent():
        """The room's script has sent the entry and put the answered page in place."""
        expect(page.locator("#room-queue-status")).to_have_text("")
        page.wait_for_load_state()

    def note(text):
        page.get_by_label("Note", exact=True).fill(text)
        page.get_by_role("button", name="Add note").click()
        sent()
        expect(page.locator("#timeline").get_by_text(text)).to_be_visible()

    normal = {"Systolic (mmHg)": 124, "Diastolic (mmHg)": 80, "Heart rate (bpm)": 76}

    # Before the dose: the checklist, a baseline reading, the dose.
    page.goto(live_url)
    expect(page.get_by_text("Training clock")).to_be_visible()
    assert_accessible(page)
    before = [item for item in protocol.checklist if item.when == "before"]
    tick(page, before)
    expect(page.locator(".check-item.done")).to_have_count(len(before))
    vitals(**normal)
    page.get_by_label("Amount").fill("25")
    page.get_by_label("Lot number").fill("PRACTICE-25")
    page.get_by_role("button", name="Record dose").click()
    expect(page.get_by_text("Dose recorded.")).to_be_visible()

    wall_time_passes(61)
    vitals(**normal)

    # Minute 70: panic at the peak; what was done goes on the timeline, then the event.
    wall_time_passes(71)
    expect(page.get_by_text("I'm dying, make it stop")).to_be_visible()
    note("Panic at the peak: reassured, hand on shoulder as agreed, slow breathing together.")
    record_adverse_event(
        page,
        "Acute anxiety at the peak, settled with support.",
        "1",
        "definite",
        "Reassurance and grounding; no medicine given.",
    )

    # Minute 90: the monitor's cuff reads above the protocol's limit.
    wall_time_passes(91)
    expect(page.get_by_text("The automatic cuff reads 172/106")).to_be_visible()
    expect(page.get_by_text("(monitor (scenario))")).to_be_visible()
    alerts = page.get_by_role("region", name="Out-of-range vital signs to acknowledge")
    alerts.get_by_label("What was done").fill("Seated quietly, reassured; re-check in 10 minutes.")
    alerts.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Reading acknowledged.")).to_be_visible()
    wall_time_passes(100)
    vitals(**{"Systolic (mmHg)": 148, "Diastolic (mmHg)": 92, "Heart rate (bpm)": 90})

    wall_time_passes(121)
    vitals(**normal)

    # Minute 150: he wants to go home; the answer goes on the timeline and he stays.
    wall_time_passes(151)
    expect(page.get_by_text("wants to go home now")).to_be_visible()
    note("Asked to leave at 150 min; explained the five-hour minimum. He agreed to stay.")

    for minute in (181, 241, 301):
        wall_time_passes(minute)
        vitals(**normal)

    # Minute 320: the disclosure; written down as said, and the supervisor called.
    wall_time_passes(321)
    expect(page.get_by_text("keeping pills saved up")).to_be_visible()
    note("Disclosed a saved supply of pills 'just in case'; no plan today. Supervisor called.")
    page.get_by_label("Call the supervisor").fill("Disclosure of saved pills; supervisor today.")
    page.get_by_role("button", name="Record the call").click()
    sent()
    expect(page.locator("#timeline").get_by_text("saved pills; supervisor today")).to_be_visible()

    wall_time_passes(361)
    vitals(**normal)
    close_and_sign(page, protocol, "His brother")
    # Nothing was stepped: the clock ran at x12 the whole session.
    db.session.expire_all()
    assert clock_for(db.session.get(ScenarioRun, run.id).session).speed == SPEED

    # After the session, on the wall clock: the integration note.
    page.goto(run_url)
    expect(page.get_by_role("heading", name=re.compile(r"Adherence: \d+ of \d+"))).to_be_visible()
    expect(page.locator("tr#item-disclosure\\.integration_note td.not-met")).to_be_visible()
    page.goto(f"/patients/{patient_id}")
    expect(page.get_by_text("PRACTICE", exact=True)).to_be_visible()
    page.get_by_role("link", name="Start an integration session").click()
    expect(page.get_by_text("PRACTICE", exact=True)).to_be_visible()
    for question in page.locator("fieldset.radio-group").all():
        legend = question.locator("legend").inner_text()
        if "(ask only if question 2 is yes)" not in legend:
            question.get_by_role("radio").first.check()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign the check-in and open the session note").click()
    expect(page.get_by_text("Check-in signed.")).to_be_visible()
    page.get_by_label("Duration (minutes)").fill("60")
    page.get_by_label("Themes and insights").fill("Letting his brother back in.")
    page.get_by_label("Plan for the next session").fill("Safety plan; the saved pills handed in.")
    page.get_by_role("button", name="Save draft").click()
    page.locator("#sign-password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign as").click()
    expect(page.get_by_text("Integration session signed.")).to_be_visible()

    page.goto(run_url)
    expect(
        page.get_by_role("heading", name=re.compile(r"Adherence: (\d+) of \1 \(100%\)"))
    ).to_be_visible()
    expect(page.get_by_text("Reading #", exact=False).first).to_be_visible()
    assert_accessible(page)
    browser_logout()

    # The supervisor co-signs the session record with a fidelity rating, then comments.
    browser_login(supervisor)
    page.goto("/supervision/reviews")
    page.get_by_role(
        "link", name=re.compile("Review Dosing session of Practice Cedar Fictional")
    ).click()
    expect(page.get_by_text("PRACTICE", exact=True)).to_be_visible()
    page.get_by_label("Co-sign: I have reviewed this note").check()
    for group in page.locator("fieldset.radio-group", has=page.get_by_text("Partly met")).all():
        group.get_by_label("Met", exact=True).check()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("co-signed")).to_be_visible()
    page.goto(run_url)
    expect(page.get_by_text("The supervisor's fidelity rating: 100%")).to_be_visible()
    row = page.locator("tr#item-disclosure\\.call_supervisor")
    row.get_by_label("Comment").fill("Right call: a saved supply is a plan in waiting.")
    row.get_by_role("button", name="Add comment").click()
    expect(page.get_by_text("Comment saved")).to_be_visible()
    browser_logout()

    browser_login(trainee)
    page.get_by_role("link", name="My progress").click()
    expect(page.get_by_text("Right call: a saved supply is a plan in waiting.")).to_be_visible()
    expect(page.locator("svg.bar-chart")).to_be_visible()


def test_the_monitors_alarm_reaches_the_open_page_at_its_minute_without_a_tap(
    page, browser_login, team, db
):
    """A monitor alarms without being asked: the trainee has the live page open and touches
    nothing, and the scenario's critical SpO2 appears as the x12 clock reaches minute 30."""
    browser_login(team["trainee"])
    page.get_by_role("link", name="Scenarios").click()
    page.locator(
        "article", has=page.get_by_role("heading", name="Esketamine: a falling SpO2")
    ).get_by_role("button", name="Start this scenario").click()
    db.session.expire_all()
    run = db.session.scalar(sa.select(ScenarioRun))
    live_url = f"/dosing-sessions/{run.session_id}"
    page.goto(live_url)
    page.get_by_label("Amount").fill("56")
    page.get_by_label("Lot number").fill("PRACTICE-56")
    page.get_by_role("button", name="Record dose").click()
    expect(page.get_by_text("Dose recorded.")).to_be_visible()
    db.session.expire_all()
    session = db.session.get(ScenarioRun, run.id).session
    dose = session.doses()[0].given_at
    # Wall time passes until the clock reads 29 min 30 s after the dose: 2.5 s of wall time
    # before the alarm at x12.
    behind = 29.5 - minute_of(dose, clock_for(session).now(utcnow()))
    row = db.session.scalar(
        sa.select(TrainingClock).where(TrainingClock.session_id == run.session_id)
    )
    row.anchor_wall_at -= timedelta(minutes=behind / SPEED)
    db.session.commit()
    page.goto(live_url)
    alarm = page.get_by_text("The pulse oximeter alarms")
    expect(alarm).to_have_count(0)
    expect(alarm).to_be_visible(timeout=20_000)  # no click, no reload by the test
    expect(page.get_by_text("(monitor (scenario))")).to_be_visible()
    expect(
        page.get_by_role("region", name="Out-of-range vital signs to acknowledge")
    ).to_be_visible()
