"""The session room in Chromium: entries made offline are sent once with the time they were
made, the idle lock keeps what was typed, and two facilitators' notes both survive."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from psiflow.domain.phases import Phase
from psiflow.models import DosingSession, EntryReceipt, SessionAnswer, SessionEvent, VitalSign
from psiflow.models.types import utcnow
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient

PSILOCYBIN = "psilocybin-single-dose@1.0"
IDLE_SECONDS = 6


@pytest.fixture
def served_app(request, app, make_app):
    """The app; a test parametrised with an idle limit (in minutes) gets one of its own."""
    minutes = getattr(request, "param", None)
    return app if minutes is None else make_app(IDLE_TIMEOUT_MINUTES=minutes)


@pytest.fixture
def room(db, team):
    lead, co = team["clinician"], team["clinician2"]
    patient = gen_patient(lead, co_facilitator=co)
    course = gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, lead, complete=False, hours_ago=1)
    db.session.commit()
    return session


def count(db, model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_entries_made_offline_are_sent_once_with_the_time_they_were_made(
    page, browser_login, assert_accessible, team, room, db
):
    item = room.protocol.checklist[0]
    browser_login(team["clinician"])
    # The page reads the server's clock as it was drawn: a time made may be early by as much
    # as drawing and loading the page took, never later.
    made_from = utcnow()
    page.goto(f"/dosing-sessions/{room.id}")
    page.evaluate("window.sameDocument = true")  # gone if anything reloads the page
    page.context.set_offline(True)
    page.get_by_label("Heart rate (bpm)").fill("84")
    page.get_by_role("button", name="Record vital signs").click()
    page.get_by_role("button", name="Peak", exact=True).click()
    page.get_by_role("button", name=item.label, exact=True).click()
    status = page.locator("#room-queue-status")
    expect(status).to_have_text(re.compile(r"^3 entries waiting to send"))
    expect(page.get_by_role("list", name="Entries kept on this device")).to_contain_text("84")
    assert_accessible(page)
    made_until = utcnow()
    assert count(db, VitalSign) + count(db, SessionEvent) + count(db, SessionAnswer) == 0

    time.sleep(3)  # the connection is back well after the entries were made
    back_online = utcnow()
    page.context.set_offline(False)
    expect(status).to_have_text("")
    expect(page.locator(f"#checklist-{item.id}.done")).to_have_count(1)
    assert page.evaluate("window.sameDocument") is True  # sent without reloading the page

    db.session.expire_all()
    assert count(db, VitalSign) == count(db, SessionEvent) == count(db, SessionAnswer) == 1
    assert count(db, EntryReceipt) == 3
    vital = db.session.scalar(sa.select(VitalSign))
    peak = db.session.scalar(sa.select(SessionEvent))
    tick = db.session.scalar(sa.select(SessionAnswer))
    assert vital.heart_rate == 84 and peak.kind.value == "peak" and tick.item_id == item.id
    for made in (vital.taken_at, peak.at, tick.recorded_at):
        assert made_from <= made <= made_until + timedelta(seconds=1), made
    assert vital.recorded_at >= back_online  # it reached the server later, and says so


def test_an_entry_whose_answer_was_lost_is_sent_again_and_recorded_once(
    page, browser_login, team, room, db
):
    browser_login(team["clinician"])
    page.goto(f"/dosing-sessions/{room.id}")
    lost = []

    def lose_the_first_answer(route):
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch())  # the server records the reading...
            route.abort()  # ...and its answer never reaches the tablet
        else:
            route.continue_()

    page.route("**/vitals", lose_the_first_answer)
    page.get_by_label("Heart rate (bpm)").fill("88")
    page.get_by_role("button", name="Record vital signs").click()
    while not lost:  # the route's handler runs while Playwright waits
        page.wait_for_timeout(100)
    status = page.locator("#room-queue-status")
    expect(status).to_have_text(re.compile(r"^1 entry waiting to send"))
    db.session.commit()
    assert count(db, VitalSign) == 1

    # The connection comes back: the entry goes again with its key, and is not recorded twice.
    page.context.set_offline(True)
    page.context.set_offline(False)
    expect(status).to_have_text("")
    expect(page.get_by_text("Vital signs recorded.")).to_be_visible()  # the stored answer
    expect(page.locator("#timeline")).to_contain_text("88")
    db.session.commit()
    assert count(db, VitalSign) == count(db, EntryReceipt) == 1


@pytest.mark.parametrize("served_app", [IDLE_SECONDS / 60], indirect=True)
def test_the_page_locks_after_the_idle_limit_and_keeps_what_was_typed(
    page, browser_login, assert_accessible, team, room, db
):
    browser_login(team["clinician"])
    page.goto(f"/dosing-sessions/{room.id}")
    page.get_by_label("Heart rate (bpm)").fill("77")
    page.get_by_label("Note", exact=True).fill("Quiet, eyes closed")
    lock = page.get_by_role("dialog", name="Locked")
    expect(lock).to_be_visible(timeout=(IDLE_SECONDS + 5) * 1000)
    expect(lock.get_by_label("Password")).to_be_focused()

    lock.get_by_label("Password").fill("not the password")
    lock.get_by_role("button", name="Unlock").click()
    expect(lock.get_by_role("alert")).to_have_text("The password is not correct.")
    expect(lock).to_be_visible()
    assert_accessible(page)  # the locked page, its refusal read out

    lock.get_by_label("Password").fill(TEST_PASSWORD)
    lock.get_by_role("button", name="Unlock").click()
    expect(lock).to_be_hidden()
    expect(page.get_by_label("Heart rate (bpm)")).to_have_value("77")
    expect(page.get_by_label("Note", exact=True)).to_have_value("Quiet, eyes closed")
    page.get_by_role("button", name="Record vital signs").click()
    expect(page.get_by_text("Vital signs recorded.")).to_be_visible()
    expect(page.get_by_label("Note", exact=True)).to_have_value(
        "Quiet, eyes closed"
    )  # still unsent
    assert db.session.scalars(sa.select(VitalSign.heart_rate)).all() == [77]


@pytest.mark.parametrize("served_app", [IDLE_SECONDS / 60], indirect=True)
def test_an_entry_made_after_the_idle_limit_is_stored_once_the_password_is_given(
    page, browser_login, team, room, db
):
    browser_login(team["clinician"])
    # The page's own clock stands still, so only the server knows the limit has passed:
    # the entry is sent, answered "locked", kept, and sent again once unlocked.
    page.clock.install()
    page.goto(f"/dosing-sessions/{room.id}")
    page.clock.pause_at(utcnow() + timedelta(seconds=1))
    time.sleep(IDLE_SECONDS + 2)
    page.get_by_label("Heart rate (bpm)").fill("93")
    page.get_by_role("button", name="Record vital signs").click()
    lock = page.get_by_role("dialog", name="Locked")
    expect(lock).to_be_visible()
    expect(page.locator("#room-queue-status")).to_contain_text("1 entry waiting to send")
    assert count(db, VitalSign) == 0

    lock.get_by_label("Password").fill(TEST_PASSWORD)
    lock.get_by_role("button", name="Unlock").click()
    expect(lock).to_be_hidden()
    expect(page.get_by_text("Vital signs recorded.")).to_be_visible()
    expect(page.locator("#room-queue-status")).to_have_text("")
    db.session.expire_all()
    assert db.session.scalars(sa.select(VitalSign.heart_rate)).all() == [93]


def test_two_facilitators_editing_the_notes_keep_both_texts(
    browser, live_server, page, browser_login, assert_accessible, team, room, db
):
    lead, co = team["clinician"], team["clinician2"]
    browser_login(lead)
    page.goto(f"/dosing-sessions/{room.id}")
    # The second facilitator on a phone: the two versions fit it too.
    other = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    second = other.new_page()
    second.set_default_timeout(30_000)
    second.goto("/login")
    second.get_by_label("Email").fill(co.email)
    second.get_by_label("Password").fill(TEST_PASSWORD)
    second.get_by_role("button", name="Log in").click()
    second.wait_for_load_state()
    second.goto(f"/dosing-sessions/{room.id}")

    first_text = "Arrived calm; intention read aloud."
    second_text = "Asked for the eye shades; music lowered."
    page.get_by_label("Session notes").fill(first_text)
    second.get_by_label("Session notes").fill(second_text)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Facilitators and notes saved.")).to_be_visible()
    second.get_by_role("button", name="Save", exact=True).click()

    versions = second.get_by_role("region", name="Session notes: two versions")
    expect(versions).to_be_visible()
    expect(versions).to_contain_text(first_text)
    expect(versions).to_contain_text(second_text)
    assert_accessible(second)
    assert second.evaluate("document.documentElement.scrollWidth") <= 390
    box = second.get_by_role("textbox", name="Session notes")
    expect(box).to_have_value(
        re.compile(re.escape(first_text) + ".*" + re.escape(second_text), re.S)
    )
    # Merged: the marks taken out, both facilitators' words kept.
    box.fill(first_text + "\n" + second_text)
    second.get_by_role("button", name="Save", exact=True).click()
    expect(second.get_by_text("Facilitators and notes saved.")).to_be_visible()
    other.close()
    db.session.expire_all()
    notes = db.session.get(DosingSession, room.id).notes
    assert first_text in notes and second_text in notes


@pytest.mark.parametrize("served_app", [IDLE_SECONDS / 60], indirect=True)
def test_without_javascript_the_password_page_carries_the_entry_through(
    browser, live_server, team, room, db
):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto("/login")
    page.get_by_label("Email").fill(team["clinician"].email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/dosing-sessions/{room.id}")
    page.get_by_label("Heart rate (bpm)").fill("66")
    time.sleep(IDLE_SECONDS + 2)
    page.get_by_role("button", name="Record vital signs").click()
    expect(page.get_by_role("heading", name="The session page is locked")).to_be_visible()
    assert count(db, VitalSign) == 0
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Unlock and send").click()
    expect(page.get_by_text("Vital signs recorded.")).to_be_visible()
    context.close()
    db.session.expire_all()
    assert db.session.scalars(sa.select(VitalSign.heart_rate)).all() == [66]
