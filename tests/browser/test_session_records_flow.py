"""The session room's record in Chromium: the discharge rule and the pickup before the dose,
a music change with what was played, both facilitators' signatures and the supervisor's
attestation, and the printed record with all of it (issue 17, items 5 to 7)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning
from psiflow.models import SetIntake
from psiflow.models.records import sign_record
from psiflow.models.types import utcnow
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient

PSILOCYBIN = "psilocybin-single-dose@1.0"


def test_the_room_record_from_music_to_the_supervisors_attestation(
    page, browser_login, browser_logout, assert_accessible, team, db
):
    lead, co, supervisor = team["clinician"], team["clinician2"], team["supervisor"]
    patient = gen_patient(lead, co_facilitator=co, display_name="Rowan Example")
    zone = ZoneInfo(patient.clinic.timezone)
    course = gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN)
    # Picked up an hour from now: the dose cannot be given before now, and 25 mg keeps the
    # patient 300 minutes after it.
    pickup = (utcnow() + timedelta(hours=1)).astimezone(zone).time().replace(second=0)
    intake = SetIntake(
        course=course,
        author_id=lead.id,
        intention="To make peace with my brother",
        emotional_readiness=8,
        transport_plan="Brother collects me",
        pickup_time=pickup,
    )
    db.session.add(intake)
    sign_record(intake, lead, Meaning.AUTHORED)
    # Both of the patient's clinicians in the room; everything but the music recorded.
    session = gen_dosing_session(course, lead, co_facilitator=co, complete=False, hours_ago=1)
    db.session.commit()

    browser_login(lead)
    page.goto(f"/dosing-sessions/{session.id}")
    tile = page.locator("#earliest-discharge")
    expect(tile).to_contain_text("300 min after the dose once given")
    expect(tile.get_by_role("alert")).to_contain_text("before the earliest discharge")
    expect(page.locator("#vitals")).to_contain_text("+60 min after the dose")
    expect(page.locator("#both-sign")).to_contain_text("both sign")

    music = page.locator("#music")
    music.get_by_label("Playlist").fill("Johns Hopkins 2.0")
    music.get_by_label("Track").fill("Lux Aeterna (Ligeti)")
    music.get_by_role("button", name="Record music change").click()
    page.wait_for_load_state()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Playlist: Johns Hopkins 2.0 · Track: Lux Aeterna (Ligeti)")
    assert_accessible(page)

    # The rest of the session, as the factory records a complete one, in its own rows.
    complete = gen_dosing_session(
        gen_course(
            gen_patient(lead, co_facilitator=co, display_name="Sage Example"),
            Phase.DOSING,
            protocol_key=PSILOCYBIN,
        ),
        lead,
        co_facilitator=co,
    )
    db.session.commit()
    page.goto(f"/records/dosing_session/{complete.id}")
    page.locator("#sign-password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign as").click()
    expect(page.get_by_text("Dosing session signed.")).to_be_visible()

    browser_logout()
    browser_login(supervisor)
    page.goto("/supervision/reviews")
    # Not before the second facilitator has signed.
    expect(page.get_by_text("Sage Example")).to_have_count(0)

    browser_logout()
    browser_login(co)
    page.goto(f"/records/dosing_session/{complete.id}")
    page.locator("#sign-password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Co-sign as").click()
    expect(page.get_by_text("Dosing session signed.")).to_be_visible()

    browser_logout()
    browser_login(supervisor)
    page.goto("/supervision/reviews")
    page.get_by_role("link", name="Review Dosing session of Sage Example").click()
    page.get_by_label("Co-sign: I have reviewed this note").check()
    page.get_by_label("Your password (needed to co-sign)").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Dosing session co-signed.")).to_be_visible()
    expect(page.get_by_text("Nothing is waiting for your review.")).to_be_visible()

    page.goto(f"/dosing-sessions/{complete.id}/record")
    signatures = page.locator("section", has=page.get_by_role("heading", name="Signatures"))
    expect(signatures).to_contain_text(f"{lead.name} · Authored")
    expect(signatures).to_contain_text(f"{co.name} · Co-facilitator")
    expect(signatures).to_contain_text(f"{supervisor.name} · Reviewed (co-signed)")
    assert_accessible(page)

    page.goto(f"/dosing-sessions/{session.id}/record")
    expect(page.get_by_role("heading", name="Music")).to_be_visible()
    expect(page.get_by_role("cell", name="Lux Aeterna (Ligeti)", exact=True)).to_be_visible()
