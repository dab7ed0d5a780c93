"""Practicum hours in the browser: a trainee logs the hours of their practice session and an
observed real one and signs them, their supervisor signs one off, and the trainee's total, the
signed log to print and its CSV show what counts."""

from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from psiflow.domain.phases import Phase
from psiflow.domain.signing import RecordStatus
from psiflow.models import PracticumEntry
from psiflow.models.types import utcnow
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient


def test_hours_are_logged_signed_signed_off_and_kept(
    page, browser_login, browser_logout, assert_accessible, team, db
):
    trainee, supervisor = team["trainee"], team["supervisor"]
    course = gen_course(gen_patient(trainee, display_name="Fictional Fern"), Phase.DOSING)
    gen_dosing_session(course, trainee)
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()

    browser_login(trainee)
    page.get_by_role("link", name="Practicum hours").click()
    expect(page.get_by_text("No hours logged yet.")).to_be_visible()
    assert_accessible(page)
    for kind, hours, minutes, cover in (
        ("Practice session", "6", "30", True),
        ("Observed real session", "5", "0", False),
    ):
        page.get_by_role("link", name="Log hours").click()
        page.get_by_label("Kind of hours").select_option(label=kind)
        page.get_by_label("Date").fill(yesterday)
        page.get_by_label("Hours", exact=True).fill(hours)
        page.get_by_label("Minutes", exact=True).fill(minutes)
        page.get_by_label("Protocol practised or observed").select_option(
            label="Single-dose psilocybin therapy (25 mg)"
        )
        if cover:
            page.get_by_label("Fictional Fern").check()
        page.get_by_label("Description").fill(f"{kind}: held the room through the peak")
        assert_accessible(page)
        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_text("Hours saved as a draft.")).to_be_visible()
        page.locator("#sign-password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign as").click()
        expect(page.get_by_text("it now waits for your supervisor's sign-off")).to_be_visible()
        page.get_by_role("link", name="Practicum hours").first.click()
    expect(page.get_by_text("11 h 30 min pending sign-off")).to_be_visible()
    browser_logout()

    browser_login(supervisor)
    page.get_by_role("link", name="Practicum sign-off").click()
    expect(page.get_by_role("row", name=trainee.name)).to_contain_text("2 entries")
    assert_accessible(page)
    page.get_by_role("link", name=f"Open log of {trainee.name}").click()
    page.get_by_role("row", name="Practice session").get_by_role("link").click()
    expect(page.get_by_role("link", name="Practice dosing session of")).to_be_visible()
    assert_accessible(page)
    page.locator("#sign-password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign off as").click()
    expect(page.get_by_text("Hours signed off")).to_be_visible()
    browser_logout()

    browser_login(trainee)
    page.get_by_role("link", name="Practicum hours").click()
    expect(page.locator(".practicum-totals")).to_contain_text("6 h 30 min of 40 h signed off")
    expect(page.locator(".practicum-totals")).to_contain_text("5 h pending sign-off")
    page.get_by_role("link", name="Signed log to print or save as PDF").click()
    expect(
        page.get_by_role("heading", name=f"Signed practicum log: {trainee.name}")
    ).to_be_visible()
    expect(page.get_by_role("table", name="1 entry, oldest first")).to_contain_text(
        "Practice session"
    )
    assert_accessible(page)
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    page.emulate_media(media="screen")
    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("link", name="Signed log as CSV").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert "Practice session" in text and "Observed real session" not in text
    statuses = db.session.scalars(sa.select(PracticumEntry.status).order_by(PracticumEntry.id))
    assert list(statuses) == [RecordStatus.COSIGNED, RecordStatus.SIGNED]


def test_the_signed_log_saved_as_pdf_carries_the_total_entries_and_signatures(
    page, browser_login, team, db, tmp_path
):
    """The trainee keeps the log as a PDF, printed by the browser through the print styles:
    the total against the programme's requirement, each signed-off entry with both
    signatures, and none of the app's navigation."""
    from psiflow.domain.practicum import PracticumKind
    from psiflow.domain.signing import Meaning
    from psiflow.models import practicum as log
    from tests.browser.test_print_pages import _pdf_pages_text

    trainee = team["trainee"]
    entry = log.log_entry(
        trainee,
        kind=PracticumKind.SUPERVISION,
        occurred_on=(utcnow() - timedelta(days=1)).date(),
        duration_minutes=90,
        protocol_id=None,
        description="Debrief of the esketamine scenario with my supervisor",
        session_ids=[],
    )
    log.sign_entry(entry, trainee, Meaning.AUTHORED)
    log.sign_entry(entry, team["supervisor"], Meaning.REVIEWED)
    db.session.commit()

    browser_login(trainee)
    page.goto(f"/training/practicum/trainees/{trainee.id}/print")
    page.emulate_media(media="print")
    pages = _pdf_pages_text(page.pdf(format="A4"), tmp_path)
    text = " ".join(" ".join(p.split()) for p in pages)
    words = text.split()
    assert f"Signed practicum log: {trainee.name}" in text
    assert "1 h 30 min signed off and counted of the 40 h required" in text
    # The entry's row in whole words, however the columns share the page's width.
    for word in ("Date", "Kind", "Duration", "Protocol", "Description", "Signatures", "Debrief"):
        assert word in words, word
    assert words.count("Supervision") == 2  # by kind, and the entry's kind
    assert "(trainee)," in words and "(supervisor)," in words and words.count("hash") == 2
    assert "Log out" not in text and "Practicum hours" not in text
