"""Every printed page of a patient's record carries the patient's name, record number and
"Page n of m": a long dosing record printed to PDF by Chromium, read back page by page."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest

from psiflow.domain.dosing import EventKind
from psiflow.domain.phases import Phase
from psiflow.domain.vitals import Reading
from psiflow.models import dosing
from tests.browser.conftest import REQUIRE_BROWSER
from tests.factories import gen_course, gen_dosing_session, gen_patient

MDMA = "mdma-three-session@1.0"
PDFTOTEXT = shutil.which("pdftotext")


def _pdf_pages_text(pdf: bytes, tmp_path) -> list[str]:
    if PDFTOTEXT is None:
        message = "pdftotext not found (Debian: apt-get install poppler-utils)"
        if REQUIRE_BROWSER:
            pytest.fail(message + " and PSIFLOW_REQUIRE_BROWSER=1")
        pytest.skip(message)
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        [PDFTOTEXT, "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def _long_session(team):
    """An MDMA session with a page's worth of timeline and vital signs beyond the usual."""
    lead, co = team["clinician"], team["supervisor"]
    patient = gen_patient(
        lead, co_facilitator=co, display_name="Juniper Longrecord", record_number="PR-4242"
    )
    patient.allergies = "Penicillin (hives)"
    patient.current_medicines = "Sertraline 50 mg daily"
    course = gen_course(patient, Phase.DOSING, protocol_key=MDMA)
    session = gen_dosing_session(course, lead, co_facilitator=co, hours_ago=10)
    start = session.occurred_at
    for n in range(40):
        at = start + timedelta(minutes=20 + n * 10)
        dosing.record_event(
            session, EventKind.NOTE, at, f"Observation {n}: " + "calm. " * 30, lead, now=at
        )
    for n in range(12):
        at = start + timedelta(minutes=30 + n * 30)
        dosing.record_vitals(
            session,
            Reading(systolic=118 + n, diastolic=76, heart_rate=70, spo2=98),
            at,
            lead,
            now=at,
        )
    return patient, session


def test_every_printed_page_names_the_patient_and_counts_pages(
    page, browser_login, team, db, tmp_path
):
    patient, session = _long_session(team)
    browser_login(team["clinician"])
    page.goto(f"/dosing-sessions/{session.id}/record")
    page.emulate_media(media="print")
    pages = _pdf_pages_text(page.pdf(format="A4"), tmp_path)
    assert len(pages) >= 3, "the record should span several pages for this test to mean much"
    for n, text in enumerate(pages, start=1):
        flat = re.sub(r"\s+", " ", text)
        assert "Juniper Longrecord" in flat, f"page {n} has no patient name"
        assert "PR-4242" in flat, f"page {n} has no record number"
        assert f"Page {n} of {len(pages)}" in flat, f"page {n} is not numbered"
    # The safety header is printed too, on the first page.
    assert "Penicillin (hives)" in pages[0] and "Interacts with MDMA" in re.sub(
        r"\s+", " ", pages[0]
    )


def test_the_checklist_prints_in_two_columns(page, browser_login, team, db):
    _patient, session = _long_session(team)
    browser_login(team["clinician"])
    page.goto(f"/dosing-sessions/{session.id}/record")
    page.emulate_media(media="print")
    rows = page.locator(".checklist-record tbody tr")
    lefts = {round(rows.nth(i).bounding_box()["x"]) for i in range(rows.count())}
    assert len(lefts) == 2, f"checklist rows start at {sorted(lefts)}: not two columns"


@pytest.mark.parametrize(
    "path, who",
    [
        ("/patients/{patient}", "clinician"),
        ("/records/dosing_session/{session}", "clinician"),
        ("/supervision/reviews/dosing_session/{session}", "supervisor"),
    ],
)
def test_other_patient_pages_print_with_the_running_head(
    page, browser_login, team, db, tmp_path, path, who
):
    patient, session = _long_session(team)
    browser_login(team[who])
    page.goto(path.format(patient=patient.id, session=session.id))
    pages = _pdf_pages_text(page.pdf(format="A4"), tmp_path)
    for n, text in enumerate(pages, start=1):
        flat = re.sub(r"\s+", " ", text)
        assert "Juniper Longrecord" in flat and "PR-4242" in flat, (path, n)
        assert f"Page {n} of {len(pages)}" in flat, (path, n)
