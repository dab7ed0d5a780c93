"""A whole training scenario in the browser, on the training clock: the trainee starts the
esketamine scenario, runs the session in the live page while the supervisor steps the clock,
answers the critical SpO2 and the wish to leave, discharges and signs; the supervisor rates
fidelity, reads the adherence report and comments; the trainee reads the comment."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from psiflow.models import ScenarioRun, VitalSign
from tests.browser.scenario_steps import close_and_sign, record_adverse_event, tick
from tests.factories import TEST_PASSWORD

SCENARIO_TITLE = "Esketamine: a falling SpO2 and a wish to leave early"


def test_a_scenario_run_end_to_end_trainee_then_supervisor(
    page, browser_login, browser_logout, assert_accessible, team, db
):
    trainee, supervisor = team["trainee"], team["supervisor"]

    browser_login(trainee)
    page.get_by_role("link", name="Scenarios").click()
    assert_accessible(page)
    page.locator("article", has=page.get_by_role("heading", name=SCENARIO_TITLE)).get_by_role(
        "button", name="Start this scenario"
    ).click()
    expect(page.get_by_text("PRACTICE", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Case file")).to_be_visible()
    expect(page.get_by_text("Flag: uncontrolled_hypertension")).to_be_visible()
    assert_accessible(page)
    run_url = page.url
    db.session.expire_all()
    run = db.session.scalar(sa.select(ScenarioRun))
    protocol = run.course.protocol
    live_url = f"/dosing-sessions/{run.session_id}"

    page.get_by_role("link", name="Live session").click()
    expect(page.get_by_role("region", name=re.compile("^PRACTICE"))).to_be_visible()
    expect(page.get_by_text("Training clock")).to_be_visible()
    assert_accessible(page)
    before = [item for item in protocol.checklist if item.when == "before"]
    tick(page, before)
    expect(page.locator(".check-item.done")).to_have_count(len(before))

    def vitals(**values):
        for label, value in values.items():
            page.get_by_label(label).fill(str(value))
        page.get_by_role("button", name="Record vital signs").click()
        page.wait_for_load_state()

    vitals(**{"Systolic (mmHg)": 128, "Diastolic (mmHg)": 82, "SpO2 (%)": 98})
    expect(page.get_by_text("Vital signs recorded.")).to_be_visible()
    page.get_by_label("Amount").fill("56")
    page.get_by_label("Lot number").fill("PRACTICE-56")
    page.get_by_role("button", name="Record dose").click()
    expect(page.get_by_text("Dose recorded.")).to_be_visible()

    def supervisor_jumps_to(minute):
        browser_logout()
        browser_login(supervisor)
        page.goto(live_url)
        expect(page.get_by_text("PRACTICE", exact=True)).to_be_visible()
        page.get_by_label("Jump to minute (after the dose)").fill(str(minute))
        page.get_by_role("button", name="Jump").click()
        expect(page.get_by_text("Training clock moved")).to_be_visible()
        browser_logout()
        browser_login(trainee)
        page.goto(live_url)

    # Minute 31: the monitor gives the critical SpO2 the scenario scripts.
    supervisor_jumps_to(31)
    expect(page.get_by_text("The pulse oximeter alarms")).to_be_visible()
    expect(page.get_by_text("(monitor (scenario))")).to_be_visible()
    alerts = page.get_by_role("region", name="Out-of-range vital signs to acknowledge")
    alerts.get_by_label("What was done").fill("Stimulated, airway opened, oxygen 2 L/min.")
    alerts.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Reading acknowledged.")).to_be_visible()
    vitals(**{"SpO2 (%)": 95, "Heart rate (bpm)": 66})
    page.get_by_label("Call the supervisor").fill("SpO2 87 %; prescriber to the room.")
    page.get_by_role("button", name="Record the call").click()
    page.wait_for_load_state()
    record_adverse_event(
        page,
        "Respiratory depression: SpO2 87 %, drowsy.",
        "2",
        "probable",
        "Stimulation, airway, oxygen; recovered in 4 minutes.",
    )

    # Minute 41: the REMS 40-minute blood pressure.
    supervisor_jumps_to(41)
    vitals(**{"Systolic (mmHg)": 136, "Diastolic (mmHg)": 84, "SpO2 (%)": 97})

    # Minute 91: she asks to leave; the answer goes on the timeline.
    supervisor_jumps_to(91)
    expect(page.get_by_text("wants to go home")).to_be_visible()
    page.get_by_label("Note", exact=True).fill(
        "Asked to leave at 90 min; explained the 2-hour REMS monitoring. She agreed to stay."
    )
    page.get_by_role("button", name="Add note").click()
    page.wait_for_load_state()

    # Minute 125: the last reading, the rest of the checklist, discharge, signature.
    supervisor_jumps_to(125)
    vitals(**{"Systolic (mmHg)": 130, "Diastolic (mmHg)": 80, "SpO2 (%)": 98})
    close_and_sign(page, protocol, "Her sister")

    page.goto(run_url)
    expect(
        page.get_by_role("heading", name=re.compile(r"Adherence: (\d+) of \1 \(100%\)"))
    ).to_be_visible()
    expect(page.get_by_text("Reading #", exact=False).first).to_be_visible()
    db.session.expire_all()
    monitor = db.session.scalar(
        sa.select(VitalSign).where(VitalSign.source == "monitor (scenario)")
    )
    assert monitor.spo2 == 87 and monitor.acknowledged_at is not None
    browser_logout()

    # The supervisor rates fidelity in the review queue, then comments on an item.
    browser_login(supervisor)
    page.goto("/supervision/reviews")
    page.get_by_role("link", name=re.compile("Review Dosing session of Practice Dahlia")).click()
    expect(page.get_by_text("PRACTICE", exact=True)).to_be_visible()
    page.get_by_label("Co-sign: I have reviewed this note").check()
    for group in page.locator("fieldset.radio-group", has=page.get_by_text("Partly met")).all():
        group.get_by_label("Met", exact=True).check()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("co-signed")).to_be_visible()

    page.get_by_role("link", name="Trainees").click()
    expect(page.get_by_role("heading", name=trainee.name)).to_be_visible()
    expect(page.get_by_text("Psilocybin: anxiety at the peak")).to_be_visible()  # not practised
    assert_accessible(page)
    page.goto(run_url)
    expect(page.get_by_text("The supervisor's fidelity rating: 100%")).to_be_visible()
    row = page.locator("tr#item-low_spo2\\.acknowledge")
    row.get_by_label("Comment").fill("Good: acted first, then acknowledged with what was done.")
    row.get_by_role("button", name="Add comment").click()
    expect(page.get_by_text("Comment saved")).to_be_visible()
    assert_accessible(page)
    browser_logout()

    browser_login(trainee)
    page.get_by_role("link", name="My progress").click()
    expect(page.get_by_text("Good: acted first, then acknowledged")).to_be_visible()
    expect(page.locator("svg.bar-chart")).to_be_visible()
    assert_accessible(page)
