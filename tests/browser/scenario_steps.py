"""Steps in the live session page that the browser tests take alike, on any clock."""

import re

from playwright.sync_api import expect

from tests.factories import TEST_PASSWORD


def tick(page, items) -> None:
    """Tick these checklist items one after another, as a facilitator does: each tap is sent
    in the background (room.js) and the next waits until the page shows the last one done. A
    tap made while the page was being put back in place went nowhere (22 of 23 ticks sent)."""
    for item in items:
        page.get_by_role("button", name=item.label, exact=True).click()
        expect(page.locator(f"#checklist-{item.id}")).to_have_class(
            re.compile(r"\bdone\b"), timeout=30_000
        )


def close_and_sign(page, protocol, companion: str) -> None:
    """The end of a session in the live page: the rest of the checklist, the monitoring
    questions, discharge with `companion` taking the patient home, and the signature."""
    tick(page, [item for item in protocol.checklist if item.when != "before"])
    for question in protocol.session_questions:
        page.get_by_role("button", name=f"No: {question.label}", exact=True).click()
        page.wait_for_load_state()
    for criterion in protocol.discharge_criteria:
        page.get_by_label(criterion.label).check()
    page.get_by_label("Who accompanies the patient home").fill(companion)
    page.get_by_label("Yes, as planned").check()
    page.get_by_role("button", name="Record discharge").click()
    expect(page.get_by_text("Discharge recorded.")).to_be_visible()
    page.get_by_role("link", name="Review and sign").click()
    page.locator("#sign-password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign as").click()
    expect(page.get_by_text("Dosing session signed.")).to_be_visible()


def record_adverse_event(page, description: str, grade: str, relatedness: str, action: str) -> None:
    """An adverse event that resolved, recorded from the live page's form."""
    page.get_by_text("Record an adverse event").click()
    page.get_by_label("Description").fill(description)
    page.get_by_label("Severity (CTCAE grade)").select_option(grade)
    page.get_by_label("Related to the medicine").select_option(relatedness)
    page.get_by_label("Action taken").fill(action)
    page.get_by_label("Outcome", exact=True).select_option("recovered")
    page.get_by_role("button", name="Record adverse event").click()
    expect(page.get_by_text("Adverse event recorded.")).to_be_visible()
