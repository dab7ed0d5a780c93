"""A clinician's day in the browser: log in, the board, a patient, a phase change."""

from playwright.sync_api import expect

from psiflow.domain.phases import Phase
from psiflow.models import Course
from tests.factories import gen_course, gen_patient


def test_clinician_logs_in_sees_board_and_opens_a_patient(
    page, browser_login, assert_accessible, team, db
):
    patient = gen_patient(team["clinician"], display_name="Juniper Example")
    gen_course(patient, Phase.SCREENING)
    page.goto("/login")
    assert_accessible(page)
    browser_login(team["clinician"])
    expect(page.get_by_role("heading", name="My caseload")).to_be_visible()
    expect(page.get_by_role("heading", name="Screening (1)")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Juniper Example").click()
    expect(page.get_by_role("heading", name="Juniper Example")).to_be_visible()
    assert page.get_by_role("button", name="Advance to Preparation").is_disabled()
    assert_accessible(page)


def test_supervisor_overrides_gate_and_clinician_sees_the_timeline(
    page, browser_login, assert_accessible, team, db
):
    patient = gen_patient(team["clinician"], display_name="Basil Sample")
    course = gen_course(patient, Phase.SCREENING)
    browser_login(team["supervisor"])
    page.goto(f"/patients/{patient.id}")
    page.get_by_text("Override this gate (supervisor)").click()
    page.get_by_label("Reason for overriding the gate").fill("Screened at the referring clinic")
    page.get_by_role("button", name="Override and advance to Preparation").click()
    expect(page.get_by_text("The course is now in Preparation.")).to_be_visible()
    expect(page.get_by_text("Gate overridden")).to_be_visible()
    assert_accessible(page)
    db.session.expire_all()
    assert db.session.get(Course, course.id).phase == Phase.PREPARATION


def test_clinician_puts_course_on_hold_and_resumes(page, browser_login, team, db):
    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.INTEGRATION)
    browser_login(team["clinician"])
    page.goto(f"/patients/{patient.id}")
    page.locator("summary", has_text="Put on hold").click()
    page.get_by_label("Reason").first.fill("Surgery next week")
    page.get_by_role("button", name="Put on hold").click()
    expect(page.get_by_text("The course is now in On hold.")).to_be_visible()
    page.get_by_role("button", name="Resume in Integration").click()
    expect(page.get_by_text("The course is now in Integration.")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Course, course.id).phase == Phase.INTEGRATION


def test_clinician_is_refused_another_caseload(page, browser_login, team, db):
    other = gen_patient(team["outsider"], display_name="Cedar Notreal")
    gen_course(other)
    browser_login(team["clinician"])
    response = page.goto(f"/patients/{other.id}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert "Cedar Notreal" not in page.content()
