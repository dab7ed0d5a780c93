"""A critical reading in the session room reaches the supervisor's screen at the next page load."""

import re
from datetime import timedelta

from playwright.sync_api import expect

from psiflow.domain.dosing import DoseKind
from psiflow.domain.phases import Phase
from psiflow.models import dosing as dosing_model
from psiflow.models.types import utcnow
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient


def test_a_critical_reading_shows_in_the_supervisors_navigation_and_board(
    page, browser, live_server, browser_login, assert_accessible, team, db
):
    lead = team["clinician"]
    patient = gen_patient(lead, display_name="Sky Example")
    course = gen_course(patient, Phase.DOSING, protocol_key="ketamine-assisted-psychotherapy@1.0")
    session = gen_dosing_session(course, lead, complete=False, hours_ago=2)
    dose_at = utcnow() - timedelta(minutes=60)
    dosing_model.record_dose(session, DoseKind.INITIAL, 200, "K-1", dose_at, lead)
    db.session.commit()

    # The supervisor, on another device, sees a quiet board.
    other = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    supervisor = other.new_page()
    supervisor.set_default_timeout(30_000)
    supervisor.goto("/login")
    supervisor.get_by_label("Email").fill(team["supervisor"].email)
    supervisor.get_by_label("Password").fill(TEST_PASSWORD)
    supervisor.get_by_role("button", name="Log in").click()
    nav = supervisor.locator("#nav-alerts")
    expect(nav.locator(".nav-count")).to_have_text("0")
    expect(supervisor.get_by_role("heading", name="Critical safety alerts waiting")).to_have_count(
        0
    )

    # In the room: SpO2 82 % during a ketamine session.
    browser_login(lead)
    page.goto(f"/dosing-sessions/{session.id}")
    page.get_by_label("SpO2 (%)").fill("82")
    page.get_by_label("Heart rate (bpm)").fill("132")
    page.get_by_role("button", name="Record vital signs").click()
    region = page.get_by_role("region", name="Out-of-range vital signs to acknowledge")
    expect(region.get_by_text("Critical: supervisor alerted")).to_be_visible()

    # One page load later the supervisor sees it in the navigation and at the top of the board.
    supervisor.reload()
    expect(nav.locator(".nav-count")).to_have_text("1")
    expect(nav).to_have_class(re.compile(r"\bnav-critical\b"))
    board_alerts = supervisor.get_by_role("region", name="Critical safety alerts waiting")
    expect(board_alerts.get_by_text("Critical vital signs")).to_be_visible()
    expect(board_alerts.get_by_role("link", name="Sky Example")).to_be_visible()
    assert_accessible(supervisor)

    supervisor.get_by_role("link", name="Open the safety alerts").click()
    expect(supervisor.get_by_role("heading", name="Critical", exact=True)).to_be_visible()
    assert_accessible(supervisor)
    supervisor.get_by_label("What was done").fill("Phoned the room: oxygen on, SpO2 95 %.")
    supervisor.get_by_role("button", name="Acknowledge").click()
    expect(supervisor.get_by_text("Alert closed: acknowledged.")).to_be_visible()
    expect(nav.locator(".nav-count")).to_have_text("0")
    other.close()
