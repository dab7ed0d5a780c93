"""Integration and supervision in the browser: a clinician signs an integration note, the
supervisor returns it, the clinician answers with an addendum and re-submits, the supervisor
co-signs, and the patient's chart shows the measure given at the session."""

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from psiflow.domain.phases import Phase
from psiflow.domain.signing import RecordStatus
from psiflow.models import IntegrationSession
from psiflow.models.types import utcnow
from tests.factories import TEST_PASSWORD, gen_course, gen_patient
from tests.integration_factories import gen_measure

PSILOCYBIN = "psilocybin-single-dose@1.0"


def test_note_is_returned_answered_and_cosigned(
    page, browser_login, browser_logout, assert_accessible, team, db
):
    clinician, supervisor = team["clinician"], team["supervisor"]
    patient = gen_patient(clinician, display_name="Fennel Example")
    course = gen_course(patient, Phase.INTEGRATION, PSILOCYBIN)
    gen_measure(
        course, clinician, "phq9", "baseline", total=20, occurred_at=utcnow() - timedelta(days=40)
    )

    browser_login(clinician)
    page.goto(f"/patients/{patient.id}")
    page.get_by_role("link", name="Start an integration session").click()
    for question in page.locator("fieldset.radio-group").all():
        legend = question.locator("legend").inner_text()
        if "(ask only if question 2 is yes)" not in legend:
            question.get_by_role("radio").first.check()  # "No" / "As usual" / "Yes" (normal)
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    assert_accessible(page)
    page.get_by_role("button", name="Sign the check-in and open the session note").click()
    expect(page.get_by_text("Check-in signed.")).to_be_visible()

    page.get_by_label("Duration (minutes)").fill("60")
    page.get_by_label("Themes and insights").fill("Letting go of the need to fix her father.")
    page.get_by_label("Grief or loss").check()
    page.get_by_label("New commitment 1").fill("Write the unsent letter")
    page.get_by_label("Plan for the next session").fill("Read the letter together.")
    assert_accessible(page)
    page.get_by_role("button", name="Save draft").click()
    page.locator("#sign-password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign as").click()
    expect(page.get_by_text("Integration session signed.")).to_be_visible()

    # the PHQ-9 given at the session, through the measure-entry form
    page.get_by_role("link", name="Fennel Example").click()
    page.get_by_label("Record a measure").select_option("phq9")
    page.get_by_role("button", name="Open form").click()
    page.get_by_label("Timepoint").select_option("integration")
    for fieldset in page.locator("fieldset.item").all():
        fieldset.get_by_role("radio").nth(1).check()  # "Several days": total 9
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Record and sign").click()
    browser_logout()

    browser_login(supervisor)
    page.get_by_role("link", name="Review queue").click()
    assert_accessible(page)
    page.get_by_role("link", name="Review Integration session of Fennel Example").click()
    page.get_by_label("Return to the author with comments").check()
    page.get_by_label("Comments for the author").fill("Say how the risk screen was discussed.")
    assert_accessible(page)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Nothing is waiting for your review.")).to_be_visible()
    browser_logout()

    browser_login(clinician)
    expect(page.get_by_text("Say how the risk screen was discussed.")).to_be_visible()
    page.get_by_role("link", name="Fennel Example: integration session").click()
    page.get_by_text("Add an addendum").click()
    page.get_by_label("Addendum").fill("C-SSRS negative; safety plan read back together.")
    page.locator("#addendum-password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign and add addendum").click()
    page.get_by_role("button", name="Re-submit for review").click()
    expect(page.get_by_text("back in your supervisor's review queue")).to_be_visible()
    browser_logout()

    browser_login(supervisor)
    page.goto("/supervision/reviews")
    page.get_by_role("link", name="Review Integration session of Fennel Example").click()
    expect(page.get_by_text("C-SSRS negative; safety plan read back together.")).to_be_visible()
    page.get_by_label("Co-sign: I have reviewed this note").check()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Integration session co-signed.")).to_be_visible()

    db.session.expire_all()
    note = db.session.scalars(sa.select(IntegrationSession)).one()
    assert note.status == RecordStatus.COSIGNED

    page.goto(f"/patients/{patient.id}")
    chart = page.locator("svg.line-chart", has=page.locator("title", has_text="PHQ-9"))
    expect(chart.locator("circle.score")).to_have_count(2)
    # Whole scores are written bare, in the chart and in its table alike.
    expect(chart.locator('circle.score[data-value="9"]')).to_have_count(1)
    assert page.locator("table.chart-table td", has_text=re.compile(r"^9$")).count() >= 1
    assert_accessible(page)
