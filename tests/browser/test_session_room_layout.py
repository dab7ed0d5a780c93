"""The session room on a phone and a tablet: the console stays in view, nothing scrolls
sideways on any page, the checklist leads with the stage the session is in, and the live page
passes axe in the light and the dark theme.

Screenshots of the live page at both widths go to /tmp/psiflow-room-screens (outside the repo),
for a person to look at."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from psiflow import demo
from psiflow.domain.dosing import DoseKind, EventKind, Outcome, Relatedness
from psiflow.domain.phases import Phase
from psiflow.domain.signing import RecordStatus
from psiflow.domain.vitals import Reading
from psiflow.models import Course, DosingSession, Patient, User
from psiflow.models import dosing as model
from psiflow.models.types import utcnow
from tests.browser.crawl import crawl, kind
from tests.factories import gen_course, gen_dosing_session, gen_patient

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 768}
SCREENS = Path("/tmp/psiflow-room-screens")
PSILOCYBIN = "psilocybin-single-dose@1.0"


def busy_session(team, *, dosed: bool = True) -> DosingSession:
    """A psilocybin session three hours in, with an entry of every kind: ticks, a dose, readings
    (one flagged and waiting, one acknowledged), events, music, a note, an adverse event and
    its follow-up."""
    lead, co = team["clinician"], team["clinician2"]
    patient = gen_patient(lead, co_facilitator=co, display_name="Rowan Example")
    course = gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, lead, complete=False, co_facilitator=co, hours_ago=4)
    t0 = session.occurred_at
    before = [i for i in course.protocol.checklist if i.when == "before"]
    for n, item in enumerate(before):
        model.record_answer(
            session, model.AnswerKind.CHECKLIST, item.id, True, lead, now=t0 + timedelta(minutes=n)
        )
    model.record_vitals(
        session, Reading(systolic=122, diastolic=78, heart_rate=70, spo2=98),
        t0 + timedelta(minutes=20), lead, now=t0 + timedelta(minutes=20),
    )  # fmt: skip
    if not dosed:
        return session
    dose_at = t0 + timedelta(minutes=30)
    model.record_dose(session, DoseKind.INITIAL, 25, "PSI-2026-04", dose_at, lead, now=dose_at)

    def later(minutes):
        return dose_at + timedelta(minutes=minutes)

    model.record_event(session, EventKind.ONSET, later(35), "", co, now=later(35))
    model.record_event(
        session, EventKind.MUSIC_CHANGE, later(60), "Playlist 2: strings and piano", co,
        now=later(60),
    )  # fmt: skip
    flagged = model.record_vitals(
        session, Reading(systolic=168, diastolic=101, heart_rate=112, temperature_c=37.4, spo2=96),
        later(60), lead, now=later(60),
    )  # fmt: skip
    model.acknowledge_vital(
        flagged, co, "Rested ten minutes, reassured; recheck planned.", later(65)
    )
    model.record_event(
        session, EventKind.NOTE, later(90), "Tearful, asks for a hand on the shoulder (agreed).",
        lead, now=later(90),
    )  # fmt: skip
    model.record_vitals(
        session, Reading(systolic=171, diastolic=104, heart_rate=118, spo2=95),
        later(120), lead, now=later(120),
    )  # fmt: skip
    event = model.record_adverse_event(
        session, onset_at=later(100), description="Nausea with one episode of vomiting",
        severity=2, seriousness_criteria=[], relatedness=Relatedness.PROBABLE,
        action_taken="Ginger tea, bucket, reassurance", outcome=Outcome.RECOVERING, by=lead,
        now=later(101),
    )  # fmt: skip
    model.follow_up_adverse_event(
        event, Outcome.RECOVERED, "Settled after twenty minutes.", later(130), lead,
        now=later(131),
    )  # fmt: skip
    return session


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


# The innermost elements reaching past the right edge: what to fix when a page is too wide.
OVERFLOWING = """width => Array.from(document.querySelectorAll("body *"))
  .filter(e => e.getBoundingClientRect().right > width + 1
               && !Array.from(e.children).some(c => c.getBoundingClientRect().right > width + 1))
  .slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
            + (typeof e.className === "string" && e.className
               ? "." + e.className.split(" ").join(".") : "")
            + " " + Math.round(e.getBoundingClientRect().right))"""


def wide_pages(page, width: int) -> list[str]:
    if scroll_width(page) <= width:
        return []
    culprits = page.evaluate(OVERFLOWING, width)
    return [f"{page.url} at {width}px: {scroll_width(page)} ({', '.join(culprits)})"]


def test_the_live_page_fits_a_phone_and_a_tablet_and_passes_axe_light_and_dark(
    page, browser_login, assert_accessible, team, db
):
    session = busy_session(team)
    browser_login(team["clinician"])
    SCREENS.mkdir(exist_ok=True)
    too_wide = []
    for size, name in ((PHONE, "phone"), (TABLET, "tablet")):
        page.set_viewport_size(size)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.goto(f"/dosing-sessions/{session.id}")
            too_wide += wide_pages(page, size["width"])
            assert_accessible(page)
            for part in ("console", "timeline", "checklist", "adverse-events"):
                page.locator(f"#{part}").scroll_into_view_if_needed()
                page.screenshot(path=SCREENS / f"live-{name}-{scheme}-{part}.png")
    assert not too_wide, too_wide
    # The dark theme is the one in force: a dark page, light text.
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 22, 28)"


def test_the_console_stays_in_view_and_one_tap_opens_the_form_it_names(
    page, browser_login, team, db
):
    session = busy_session(team)
    browser_login(team["clinician"])
    page.set_viewport_size(PHONE)
    page.goto(f"/dosing-sessions/{session.id}")
    console = page.get_by_role("region", name="Session console")
    # Elapsed time, next vitals, earliest discharge and the open flag (the last reading).
    expect(console.get_by_role("heading", name="Since the dose")).to_be_visible()
    expect(console.get_by_role("heading", name="Next vital signs")).to_be_visible()
    expect(console.get_by_role("heading", name="Earliest discharge")).to_be_visible()
    expect(console.locator("#open-flags .clock-value")).to_have_text(
        "1 out-of-range reading to acknowledge"
    )

    page.locator("#signing").scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 1000
    box = console.bounding_box()
    assert box is not None and -1 <= box["y"] <= 1, box
    expect(console).to_be_in_viewport()

    # One tap on "Adverse event" opens its form below the console, cursor in the first field.
    console.get_by_role("link", name="Adverse event").click()
    expect(page.locator("#record-adverse-event")).to_have_attribute("open", "")
    first = page.locator("#record-adverse-event input:not([type=hidden])").first
    expect(first).to_be_focused()
    console_bottom = console.bounding_box()["y"] + console.bounding_box()["height"]
    summary = page.locator("#record-adverse-event > summary").bounding_box()
    assert summary["y"] >= console_bottom - 1, (summary, console_bottom)

    # The open flag links to the reading waiting for acknowledgement.
    console.locator("#open-flags a").click()
    expect(
        page.get_by_role("region", name="Out-of-range vital signs to acknowledge")
    ).to_be_visible()

    # Vital signs: the form is reached and typed into at once, by keyboard as well.
    console.get_by_role("link", name="Vital signs").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Systolic (mmHg)")).to_be_focused()


def test_the_console_counts_down_to_the_next_vitals_and_turns_red_when_overdue(
    page, browser_login, team, db
):
    session = busy_session(team, dosed=False)
    lead = team["clinician"]
    dose_at = utcnow() - timedelta(minutes=55)  # the +60 min reading is due in five minutes
    model.record_dose(session, DoseKind.INITIAL, 25, "PSI-2026-04", dose_at, lead, now=dose_at)
    browser_login(lead)
    page.clock.install()
    page.goto(f"/dosing-sessions/{session.id}")
    elapsed = page.locator("#console [data-elapsed-from]")
    due = page.locator("#next-due .due-line")
    expect(elapsed).to_have_text("0:55")
    expect(due).to_have_text(re.compile(r"^Due in [45] min$"))
    expect(page.locator("#next-due")).not_to_have_class(re.compile(r"\boverdue\b"))

    # The tablet untouched: the console keeps time by itself, without a reload.
    page.clock.run_for("07:00")
    expect(elapsed).to_have_text("1:02")
    expect(due).to_have_text(re.compile(r"^Overdue by [23] min$"))
    expect(page.locator("#next-due")).not_to_have_class(re.compile(r"\boverdue\b"))
    page.clock.run_for("05:00")  # past the protocol's five minutes' tolerance
    expect(due).to_have_text(re.compile(r"^Overdue by [78] min$"))
    expect(page.locator("#next-due")).to_have_class(re.compile(r"\boverdue\b"))


def test_the_timeline_tells_the_session_in_order_and_stacks_on_a_phone(
    page, browser_login, team, db
):
    session = busy_session(team)
    browser_login(team["clinician"])
    page.set_viewport_size(PHONE)
    page.goto(f"/dosing-sessions/{session.id}")
    rows = page.locator("#timeline tbody tr th")
    titles = rows.all_inner_texts()
    order = ["Session started", "Initial dose", "Onset", "Music change", "Flag acknowledged",
             "Note", "Adverse event", "Follow-up: Recovered / resolved"]  # fmt: skip
    positions = [next(i for i, t in enumerate(titles) if t.startswith(o)) for o in order]
    assert positions == sorted(positions), titles
    assert "Playlist 2: strings and piano" in page.locator("#timeline").inner_text()
    # Stacked: a row is no wider than the phone, and a flag's text is not one word a line.
    flag = page.locator("#timeline .flag-text").last
    expect(flag).to_contain_text("Systolic blood pressure 171 mmHg")
    box = flag.bounding_box()
    line = float(flag.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    words = len(flag.inner_text().split())
    lines = round(box["height"] / line)
    assert box["width"] >= 300 and words >= 5 * lines, (box, lines, words)


def test_the_checklist_leads_with_the_stage_the_session_is_in(page, browser_login, team, db):
    session = busy_session(team, dosed=False)
    browser_login(team["clinician"])
    page.set_viewport_size(TABLET)
    page.goto(f"/dosing-sessions/{session.id}")
    stages = page.locator("#checklist h3")
    expect(stages.first).to_contain_text("Before the session")
    expect(stages.first).to_contain_text("Now")

    page.get_by_label("Amount").fill("25")
    page.get_by_label("Lot number").fill("PSI-2026-04")
    page.get_by_role("button", name="Record dose").click()
    expect(page.get_by_text("Dose recorded.")).to_be_visible()
    expect(stages.first).to_contain_text("During the session")
    expect(stages.last).to_contain_text("Before the session")


@pytest.fixture
def demo_clinic(db):
    clinic = demo.seed_demo()
    db.session.commit()
    return clinic


def demo_user(email: str) -> User:
    from psiflow.extensions import db

    return db.session.scalar(sa.select(User).where(User.email == email))


def test_no_page_scrolls_sideways_at_390_or_1024(
    page, browser_login, assert_accessible, demo_clinic, db
):
    """Every kind of page of the demo clinic, as each role sees it, at both widths."""
    sessions = db.session.scalars(sa.select(DosingSession).order_by(DosingSession.id)).all()
    live = next(s for s in sessions if s.status == RecordStatus.DRAFT)
    signed = next(s for s in sessions if s.status != RecordStatus.DRAFT)
    patient = live.course.patient
    course = live.course
    others = db.session.scalars(sa.select(Patient).where(Patient.clinic_id == demo_clinic.id))
    followed = next(
        p
        for p in others
        if db.session.scalar(
            sa.select(Course.id).where(Course.patient_id == p.id, Course.phase == Phase.FOLLOW_UP)
        )
    )
    pages = {
        "clinician@demo.psiflow": [
            "/",
            f"/patients/{patient.id}",
            f"/patients/{followed.id}",
            f"/dosing-sessions/{live.id}",
            f"/dosing-sessions/{signed.id}",
            f"/dosing-sessions/{signed.id}/record",
            f"/records/dosing_session/{signed.id}",
            f"/integration/courses/{course.id}/sessions/new",
            "/patients/new",
            "/account/password",
        ],
        "supervisor@demo.psiflow": [
            "/",
            "/supervision/reviews",
            "/supervision/alerts",
            "/supervision/outcomes",
            f"/patients/{patient.id}",
            f"/patients/{patient.id}/audit",
        ],
        "admin@demo.psiflow": [
            "/admin/users",
            "/admin/patients",
            "/admin/refusals",
            "/admin/users/new",
        ],
    }
    too_wide = []
    SCREENS.mkdir(exist_ok=True)
    for email, urls in pages.items():
        page.context.clear_cookies()
        browser_login(demo_user(email), demo.DEMO_PASSWORD)
        for url in urls:
            for size in (PHONE, TABLET):
                page.set_viewport_size(size)
                response = page.goto(url)
                assert response.status == 200, url
                too_wide += wide_pages(page, size["width"])
                slug = url.strip("/").replace("/", "-") or "board"
                page.screenshot(path=SCREENS / f"{email[:5]}-{slug}-{size['width']}.png")
        if email.startswith("supervisor"):
            # The dark theme is the whole app's: the supervisor's pages read in a dim room too.
            page.emulate_media(color_scheme="dark")
            for url in urls[:4]:
                assert page.goto(url).status == 200, url
                assert_accessible(page)
                slug = url.strip("/").replace("/", "-") or "board"
                page.screenshot(path=SCREENS / f"dark-{slug}.png")
            page.emulate_media(color_scheme="light")
    page.context.clear_cookies()
    page.goto("/login")
    page.set_viewport_size(PHONE)
    too_wide += wide_pages(page, PHONE["width"])
    assert not too_wide, "\n".join(too_wide)


def test_every_kind_of_page_each_role_reaches_fits_390_and_1024(
    page, browser_login, demo_clinic, db, client
):
    """Beyond the pages named above: every kind of page each role reaches by following links
    (training progress, practicum, scenarios, records...), at both widths; the live page and
    the printed record also as a tablet prints them."""
    too_wide, kinds = [], set()
    for account in demo.ACCOUNTS:
        client.post("/login", data={"email": account.email, "password": demo.DEMO_PASSWORD})
        urls = [url for url, _ in crawl(client)]
        client.post("/logout")
        page.context.clear_cookies()
        browser_login(demo_user(account.email), demo.DEMO_PASSWORD)
        for url in urls:
            kinds.add(kind(url))
            for size in (PHONE, TABLET):
                page.set_viewport_size(size)
                assert page.goto(url).status == 200, url
                too_wide += wide_pages(page, size["width"])
            if kind(url) in ("/dosing-sessions/N?", "/dosing-sessions/N/record?"):
                page.emulate_media(media="print")
                too_wide += [f"printed: {w}" for w in wide_pages(page, TABLET["width"])]
                page.emulate_media(media="screen")
    named = {"/?", "/patients/N?", "/dosing-sessions/N?", "/dosing-sessions/N/record?"}
    assert named <= kinds and len(kinds) >= 30, sorted(kinds)
    assert not too_wide, "\n".join(too_wide)


# Everything a finger taps on the live page: buttons, button-links, the console's and the
# section navigation's links, and each checkbox or radio button with its label.
SMALL_TARGETS = """() => {
  const targets = [
    ...document.querySelectorAll("main button, main .button, main summary, .section-nav a"),
    ...Array.from(document.querySelectorAll("main input[type=checkbox], main input[type=radio]"))
      .map(input => input.labels[0] || input),
  ];
  const shown = targets.filter(e => e.getClientRects().length > 0);
  return {
    count: shown.length,
    small: shown
      .map(e => [e.textContent.trim().slice(0, 40), e.getBoundingClientRect().height])
      .filter(([, height]) => height < 44),
  };
}"""


def test_every_target_on_the_live_page_takes_a_finger(page, browser_login, team, db):
    session = busy_session(team)
    browser_login(team["clinician"])
    for size in (PHONE, TABLET):
        page.set_viewport_size(size)
        page.goto(f"/dosing-sessions/{session.id}")
        for details in page.locator("main details").all():
            details.evaluate("d => { d.open = true; }")
        found = page.evaluate(SMALL_TARGETS)
        assert found["count"] > 40 and found["small"] == [], (size, found)
