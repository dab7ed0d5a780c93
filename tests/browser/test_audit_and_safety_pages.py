"""The audit history and the safety details form as people use them: by keyboard, without
JavaScript, and clean under axe."""

from playwright.sync_api import expect

from psiflow.domain.phases import Phase
from tests.factories import gen_course, gen_patient

MDMA = "mdma-three-session@1.0"


def test_the_care_team_records_safety_details_and_sees_them_in_the_header(
    page, browser_login, assert_accessible, team, db
):
    patient = gen_patient(team["clinician"], display_name="Juniper Example")
    gen_course(patient, Phase.PREPARATION, protocol_key=MDMA)
    browser_login(team["clinician"])
    page.goto(f"/patients/{patient.id}")
    assert_accessible(page)
    page.get_by_role("link", name="Edit safety details").click()
    assert_accessible(page)
    page.get_by_label("Allergies").fill("Penicillin (hives)")
    page.get_by_label("Current medicines").fill("Phenelzine 15 mg three times daily")
    page.get_by_label("Patient's phone").fill("+1 503 555 0142")
    page.get_by_label("Emergency contact: name").fill("Sam Example")
    page.get_by_label("Emergency contact: relationship to the patient").fill("partner")
    page.get_by_label("Emergency contact: phone").fill("+1 503 555 0177")
    page.get_by_label("Emergency contact: phone").press("Enter")
    expect(page.get_by_text("Safety details saved.")).to_be_visible()
    header = page.locator(".safety-header")
    expect(header).to_contain_text("Penicillin (hives)")
    expect(header).to_contain_text("Interacts with MDMA: MAO inhibitor.")
    expect(header).to_contain_text("Sam Example (partner)")


def test_a_supervisor_filters_the_history_by_keyboard_without_javascript(
    browser, live_server, team, db, assert_accessible
):
    patient = gen_patient(team["clinician"], display_name="Juniper Example")
    gen_course(patient, Phase.SCREENING)
    patient.allergies = "Latex"
    db.session.commit()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("Email").fill(team["supervisor"].email)
        page.get_by_label("Password").fill("a long test passphrase")
        page.get_by_role("button", name="Log in").click()
        page.goto(f"/patients/{patient.id}/audit")
        expect(page.locator(".audit-line").first).to_be_visible()
        page.get_by_label("Kind of event").select_option(label="Records created or changed")
        page.get_by_label("Record").select_option(label="Patient details")
        page.get_by_role("button", name="Show").press("Enter")
        page.wait_for_url("**kind=change**")
        lines = page.locator(".audit-line")
        expect(lines.first).to_contain_text("changed the patient's details: allergies")
        page.locator(".audit-detail summary").first.press("Enter")
        expect(page.locator(".audit-changes").first).to_contain_text("Latex")
        expect(page.get_by_role("link", name="Download these")).to_be_visible()
    finally:
        context.close()


def test_the_history_page_is_clean_under_axe(page, browser_login, assert_accessible, team, db):
    patient = gen_patient(team["clinician"])
    gen_course(patient, Phase.SCREENING)
    browser_login(team["supervisor"])
    page.goto(f"/patients/{patient.id}/audit")
    page.locator(".audit-detail summary").first.click()
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 800})
    assert_accessible(page)


def test_the_history_page_takes_a_finger_on_a_phone(page, browser_login, team, db):
    from tests.browser.test_session_room_layout import PHONE, SMALL_TARGETS

    patient = gen_patient(team["clinician"])
    gen_course(patient, Phase.SCREENING)
    browser_login(team["supervisor"])
    page.set_viewport_size(PHONE)
    page.goto(f"/patients/{patient.id}/audit")
    found = page.evaluate(SMALL_TARGETS)
    assert found["count"] >= 3 and found["small"] == [], found
