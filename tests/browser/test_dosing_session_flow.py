"""A whole MDMA dosing session in the browser, from the first checklist item to both
facilitators' signatures, and the integration gate it opens."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from playwright.sync_api import expect

from psiflow.domain.phases import Phase
from psiflow.models import DosingSession
from psiflow.models.types import utcnow
from tests.browser.scenario_steps import tick
from tests.factories import TEST_PASSWORD, gen_course, gen_patient

MDMA = "mdma-three-session@1.0"


def test_a_whole_session_from_checklist_to_both_signatures(
    page, browser_login, browser_logout, assert_accessible, team, db
):
    lead, co = team["clinician"], team["clinician2"]
    patient = gen_patient(lead, co_facilitator=co, display_name="Juniper Example")
    course = gen_course(patient, Phase.DOSING, protocol_key=MDMA)
    protocol = course.protocol
    zone = ZoneInfo(patient.clinic.timezone)

    browser_login(lead)
    page.goto(f"/patients/{patient.id}")
    page.get_by_role("button", name="Start dosing session").click()
    page.get_by_role("heading", name="Dosing session").wait_for()

    # The session began this morning: move its start back so the day can be entered as it
    # happened (the minimum MDMA session is eight hours).
    started = utcnow() - timedelta(hours=10)
    db.session.execute(sa.update(DosingSession).values(occurred_at=started))
    db.session.commit()
    session_id = db.session.scalar(sa.select(DosingSession.id))

    def at(minutes):
        return (started + timedelta(minutes=minutes)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")

    page.goto(f"/dosing-sessions/{session_id}")
    assert_accessible(page)
    tick(page, protocol.checklist)
    expect(page.locator(".check-item.done")).to_have_count(len(protocol.checklist))

    page.get_by_label(co.name).check()
    page.get_by_label("Session notes").fill("Arrived calm; intention read aloud.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Facilitators and notes saved.")).to_be_visible()

    page.get_by_label("Systolic (mmHg)").fill("122")
    page.get_by_label("Diastolic (mmHg)").fill("78")
    page.get_by_label("Heart rate (bpm)").fill("72")
    page.get_by_label("Time taken").fill(at(5))
    page.get_by_role("button", name="Record vital signs").click()
    expect(page.get_by_text("Vital signs recorded.")).to_be_visible()

    # A dose outside the protocol is refused beside the field; the right one is kept.
    page.get_by_label("Amount").fill("150")
    page.get_by_label("Lot number").fill("MDMA-2026-11")
    page.get_by_label("Time given").fill(at(10))
    page.get_by_role("button", name="Record dose").click()
    expect(page.get_by_text("The dose must be between 80 and 120 mg")).to_be_visible()
    page.get_by_label("Amount").fill("120")
    page.get_by_label("Time given").fill(at(10))
    page.get_by_role("button", name="Record dose").click()
    expect(page.get_by_text("Dose recorded.")).to_be_visible()
    page.get_by_label("Amount").fill("60")
    page.get_by_label("Lot number").fill("MDMA-2026-11")
    page.get_by_label("Time given").fill(at(110))
    page.get_by_role("button", name="Record dose").click()
    expect(page.get_by_text("Dose recorded.")).to_be_visible()

    page.get_by_role("button", name="Onset", exact=True).click()
    page.wait_for_load_state()
    # One event row in the timeline, named by its row header (the ticked "Onset, peak..."
    # checklist item is a row of its own).
    events = page.locator("#timeline tr.tl-event")
    expect(events.locator("td", has_text="Onset")).to_have_count(0)
    expect(events.locator("th", has_text="Onset")).to_have_count(1)

    # An out-of-range reading is flagged at once and stays until acknowledged.
    page.get_by_label("Systolic (mmHg)").fill("172")
    page.get_by_label("Diastolic (mmHg)").fill("96")
    page.get_by_label("Heart rate (bpm)").fill("104")
    page.get_by_label("Time taken").fill(at(70))
    page.get_by_role("button", name="Record vital signs").click()
    alerts = page.get_by_role("region", name="Out-of-range vital signs to acknowledge")
    expect(alerts).to_be_visible()
    assert_accessible(page)
    alerts.get_by_label("What was done").fill("Rested 10 minutes; 150/88 on recheck.")
    alerts.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Reading acknowledged.")).to_be_visible()
    expect(
        page.get_by_role("region", name="Out-of-range vital signs to acknowledge")
    ).to_have_count(0)

    def discharge():
        for criterion in protocol.discharge_criteria:
            page.get_by_label(criterion.label).check()
        page.get_by_label("Time of discharge").fill(at(10 + 8 * 60 + 20))
        page.get_by_label("Who accompanies the patient home").fill("Night attendant (Kim)")
        page.get_by_label("Yes, as planned").check()
        page.get_by_role("button", name="Record discharge").click()

    # Acknowledged is not settled: the last blood pressure is still above the limit.
    discharge()
    expect(page.locator("#discharge-vitals").get_by_text("still outside")).to_be_visible()
    page.get_by_label("Systolic (mmHg)").fill("150")
    page.get_by_label("Diastolic (mmHg)").fill("88")
    page.get_by_label("Heart rate (bpm)").fill("92")
    page.get_by_label("Time taken").fill(at(80))
    page.get_by_role("button", name="Record vital signs").click()
    expect(page.get_by_text("Vital signs recorded.")).to_be_visible()
    discharge()
    expect(page.get_by_text("Discharge recorded.")).to_be_visible()
    expect(page.get_by_text("Everything signing needs is recorded.")).to_be_visible()

    page.get_by_role("link", name="Review and sign").click()
    page.locator("#sign-password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign as").click()
    expect(page.get_by_text("Dosing session signed.")).to_be_visible()

    browser_logout()
    browser_login(co)
    page.goto(f"/records/dosing_session/{session_id}")
    page.locator("#sign-password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Co-sign as").click()
    expect(page.get_by_text("Dosing session signed.")).to_be_visible()

    page.goto(f"/patients/{patient.id}")
    assert page.get_by_role("button", name="Advance to Integration").is_enabled()
    page.goto(f"/dosing-sessions/{session_id}/record")
    expect(page.get_by_role("heading", name="Dosing session record")).to_be_visible()
    assert_accessible(page)
