"""From screening to dosing in the browser: flags, consent, intake, preparation, baseline."""

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from psiflow.domain.phases import Phase
from psiflow.domain.protocols import default_protocol_dir, load_protocol
from psiflow.models import Course, Patient
from tests.factories import TEST_PASSWORD

# A clinic's own variant of the ketamine series whose baseline is the PHQ-9 alone, so the walk
# through stays about the workflow rather than filling in four instruments.
VARIANT_ID = "kap-phq9-baseline"


@pytest.fixture
def variant(tmp_path):
    folder = tmp_path / "protocols"
    shutil.copytree(default_protocol_dir(), folder)
    text = (folder / "ketamine-assisted-psychotherapy.toml").read_text()
    text = text.replace('id = "ketamine-assisted-psychotherapy"', f'id = "{VARIANT_ID}"', 1)
    text = text.replace('name = "', 'name = "PHQ-9 baseline: ', 1)
    lines = [
        'baseline = ["phq9"]' if line.strip().startswith("baseline =") else line
        for line in text.splitlines()
    ]
    (folder / f"{VARIANT_ID}.toml").write_text("\n".join(lines) + "\n")
    protocol = load_protocol(folder / f"{VARIANT_ID}.toml")
    assert protocol.baseline_measures == ("phq9",)
    return folder, protocol


@pytest.fixture
def served_app(make_app, variant):
    return make_app(PROTOCOL_DIR=str(variant[0]))


def sign_here(page):
    page.locator("#sign-password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign as").click()
    page.get_by_text("signed.").first.wait_for()


def test_screening_to_dosing(
    page, browser_login, browser_logout, assert_accessible, variant, team, db
):
    protocol = variant[1]
    clinician, supervisor = team["clinician"], team["supervisor"]

    browser_login(clinician)
    page.get_by_role("link", name="New patient").first.click()
    page.get_by_label("Name or pseudonym").fill("Rowan Example")
    page.get_by_label("Clinic record number").fill("MR-2001")
    page.get_by_label("Start a course on").select_option(
        label=f"{protocol.name} (v{protocol.version})"
    )
    assert_accessible(page)
    page.get_by_role("button", name="Create patient").click()
    expect(page.get_by_role("heading", name="Rowan Example")).to_be_visible()

    # Screening: every check answered, one positive.
    page.get_by_role("link", name="Start screening").click()
    page.get_by_label("Medical history").fill("No cardiac history. BP 122/80.")
    page.get_by_label("Psychiatric history").fill("Treatment-resistant depression.")
    flagged = protocol.contraindications[0]
    for check in protocol.contraindications:
        group = page.get_by_role("group", name=check.label, exact=True)
        group.get_by_label("Yes" if check is flagged else "No", exact=True).check()
    assert_accessible(page)
    page.get_by_role("button", name="Save draft").click()
    sign_here(page)
    assert_accessible(page)

    browser_logout()
    browser_login(supervisor)
    patient_id = db.session.scalar(sa.select(Patient.id).filter_by(record_number="MR-2001"))
    page.goto(f"/patients/{patient_id}")
    expect(page.get_by_text("Not cleared: blocks the course")).to_be_visible()
    page.get_by_text("Clear this flag (supervisor)").click()
    page.get_by_label("Clinical rationale for clearing").fill("Allergy was to a different agent.")
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Clear flag").click()
    expect(page.get_by_text(f"Flag cleared: {flagged.label}.")).to_be_visible()

    browser_logout()
    browser_login(clinician)
    page.goto(f"/patients/{patient_id}")
    page.get_by_role("link", name="Record consent").click()
    page.get_by_label("Consent form version").fill("KAP consent v2")
    page.get_by_label("Date of consent").fill("2026-11-02")
    page.get_by_label("Witness").fill("Alex Morgan")
    page.get_by_role("group", name="Capacity to consent confirmed").get_by_label("Yes").check()
    page.get_by_role("group", name="Risks, benefits and alternatives discussed").get_by_label(
        "Yes"
    ).check()
    page.get_by_role("button", name="Save draft").click()
    sign_here(page)

    page.get_by_role("link", name="Rowan Example").click()
    page.get_by_role("button", name="Advance to Preparation").click()
    expect(page.get_by_text("The course is now in Preparation.")).to_be_visible()

    page.get_by_role("link", name="Set intake").click()
    page.get_by_label("Intention, in the patient's own words").fill("To feel hope again.")
    page.get_by_label("Emotional readiness").fill("7")
    page.get_by_label("Transport home plan").fill("Partner drives me home.")
    page.get_by_role("button", name="Save draft").click()
    sign_here(page)

    topic = protocol.preparation_topics[0]
    for day in ("2026-11-10T10:00", "2026-11-12T10:00"):
        page.get_by_role("link", name="Rowan Example").click()
        page.get_by_role("link", name="New preparation session").click()
        page.get_by_label("Date and time").fill(day)
        page.get_by_label("Duration (minutes)").fill("90")
        page.get_by_label(topic.label, exact=True).check()
        page.get_by_label("Session notes").fill("Intentions, music, the room, what to expect.")
        page.get_by_role("button", name="Save draft").click()
        sign_here(page)

    page.get_by_role("link", name="Rowan Example").click()
    page.get_by_label("Record a measure").select_option("phq9")
    page.get_by_role("button", name="Open form").click()
    # A required choice opens empty: the timepoint is chosen, never assumed.
    page.get_by_label("Timepoint").select_option("baseline")
    items = page.locator("fieldset.item").all()
    for fieldset in items[:-1]:
        fieldset.get_by_role("radio").nth(1).check()
    # Item 9 (thoughts of self-harm) "Not at all": any other answer would alert and hold dosing.
    items[-1].get_by_role("radio").nth(0).check()
    page.get_by_label("Your password").fill(TEST_PASSWORD)
    assert_accessible(page)
    page.get_by_role("button", name="Record and sign").click()
    expect(page.get_by_text("PHQ-9 recorded: 8 (Mild).")).to_be_visible()

    page.get_by_role("button", name="Advance to Dosing").click()
    expect(page.get_by_text("The course is now in Dosing.")).to_be_visible()
    assert_accessible(page)
    db.session.expire_all()
    course = db.session.scalar(sa.select(Course).filter_by(patient_id=patient_id))
    assert course.phase == Phase.DOSING
    assert [t.to_phase for t in course.transitions] == [
        Phase.SCREENING,
        Phase.PREPARATION,
        Phase.DOSING,
    ]
    assert not any(t.override for t in course.transitions)


def test_variant_protocol_file_is_only_in_the_temporary_folder(variant):
    assert not (Path(default_protocol_dir()) / f"{VARIANT_ID}.toml").exists()
