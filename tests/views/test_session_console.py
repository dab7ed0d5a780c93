"""The live page as a console, read without JavaScript: the values the room checks, one-tap
links that land on a form, the session as one timeline, the checklist's current stage first,
and every entry form marked for the room's offline queue."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from psiflow.domain.dosing import DoseKind, EventKind
from psiflow.domain.phases import Phase
from psiflow.domain.vitals import Reading
from psiflow.models import dosing as model
from psiflow.models.types import utcnow
from tests.factories import gen_course, gen_dosing_session, gen_patient

PSILOCYBIN = "psilocybin-single-dose@1.0"


class Page(HTMLParser):
    """The ids, the console's links, the live forms and the headings of a rendered page."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: set[str] = set()
        self.console_links: list[str] = []
        self.forms: list[dict] = []
        self.headings: list[str] = []
        self._in_console = 0
        self._heading: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if attrs.get("id") == "console":
            self._in_console = 1
        elif self._in_console and tag == "section":
            self._in_console += 1
        if self._in_console and tag == "a":
            self.console_links.append(attrs["href"])
        if tag == "form":
            self.forms.append(attrs)
        if tag in ("h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag):
        if self._in_console and tag == "section":
            self._in_console -= 1
        if tag in ("h2", "h3") and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data):
        if self._heading is not None:
            self._heading.append(data)


@pytest.fixture
def session(db, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=PSILOCYBIN)
    return gen_dosing_session(course, team["clinician"], complete=False, hours_ago=3)


def live(client, session) -> tuple[str, Page]:
    html = client.get(f"/dosing-sessions/{session.id}").get_data(as_text=True)
    return html, Page(html)


def test_the_console_shows_the_room_its_four_values_and_links_to_forms_on_the_page(
    client, login_as, team, session, db
):
    lead = team["clinician"]
    dose_at = utcnow() - timedelta(minutes=50)
    model.record_dose(session, DoseKind.INITIAL, 25, "LOT-9", dose_at, lead, now=dose_at)
    model.record_vitals(session, Reading(systolic=175, diastolic=95), None, lead, now=utcnow())
    db.session.commit()
    login_as(lead)
    html, page = live(client, session)
    for heading in ("Since the dose", "Next vital signs", "Earliest discharge", "Open flags"):
        assert heading in page.headings
    assert re.search(r'id="open-flags".*?<a href="#alerts">1<', html, re.S)
    assert page.console_links == [
        "#alerts", "#vitals-form", "#add-event", "#record-adverse-event", "#emergency-end"
    ]  # fmt: skip
    # Without JavaScript each is a plain link to an element of the page.
    assert {link[1:] for link in page.console_links} <= page.ids


def test_every_entry_form_is_marked_for_the_room_and_posts_without_javascript(
    client, login_as, team, session, db
):
    lead = team["clinician"]
    vital = model.record_vitals(session, Reading(systolic=175, diastolic=95), None, lead)
    model.record_adverse_event(
        session, onset_at=None, description="Nausea", severity=1, seriousness_criteria=[],
        relatedness=model.Relatedness.POSSIBLE, action_taken="", outcome=model.Outcome.RECOVERING,
        by=lead,
    )  # fmt: skip
    db.session.commit()
    login_as(lead)
    _html, page = live(client, session)
    entries = [f for f in page.forms if f.get("action", "").startswith("/dosing-sessions/")]
    # The value names the entry in the room's "waiting to send" list (room.js).
    assert {f["data-room-entry"] for f in entries} >= {
        "Timeline event", "Timeline note", "Music change", "Vital signs", "Dose", "Checklist",
        "Facilitators and notes", "Acknowledgement", "Adverse event", "Adverse event follow-up",
        "Discharge", "Emergency end",
    }  # fmt: skip
    assert all(f.get("method") == "post" and "data-room-entry" in f for f in entries)
    assert any(f["action"].endswith(f"/vitals/{vital.id}/acknowledge") for f in entries)


def test_the_timeline_tells_events_music_readings_doses_and_ticks_in_order(
    client, login_as, team, session, db
):
    lead = team["clinician"]
    t0 = session.occurred_at
    item = session.protocol.checklist[0]
    model.record_answer(
        session, model.AnswerKind.CHECKLIST, item.id, True, lead, now=t0 + timedelta(minutes=1)
    )
    dose_at = t0 + timedelta(minutes=10)
    model.record_dose(session, DoseKind.INITIAL, 25, "LOT-9", dose_at, lead, now=dose_at)
    model.record_event(
        session, EventKind.MUSIC_CHANGE, t0 + timedelta(minutes=40), "Playlist 2", lead,
        now=t0 + timedelta(minutes=40),
    )  # fmt: skip
    model.record_vitals(
        session, Reading(heart_rate=80), t0 + timedelta(minutes=30), lead,
        now=t0 + timedelta(minutes=30),
    )  # fmt: skip
    db.session.commit()
    login_as(lead)
    html, _page = live(client, session)
    timeline = html[html.index('<table class="session-timeline') : html.index('id="vitals"')]
    order = [
        "Session started", f"Ticked: {item.label}", "Initial dose", "Vital signs", "Music change"
    ]  # fmt: skip
    positions = [timeline.index(f">{words}<") for words in order]
    assert positions == sorted(positions)
    assert "Playlist 2" in timeline and "HR 80" in timeline and "+0:20" in timeline


def test_the_checklist_shows_the_stage_the_session_is_in_first(client, login_as, team, session, db):
    login_as(team["clinician"])
    _html, page = live(client, session)
    stages = [h for h in page.headings if h.endswith("the session") or h.endswith("Now")]
    assert stages[0] == "Before the session Now"

    model.record_dose(session, DoseKind.INITIAL, 25, "LOT-9", None, team["clinician"])
    db.session.commit()
    _html, page = live(client, session)
    stages = [h for h in page.headings if "the session" in h]
    assert stages == ["During the session Now", "After the session", "Before the session"]


def test_a_signed_session_shows_the_console_without_its_entry_links(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"])
    session.status = model.RecordStatus.SIGNED
    db.session.commit()
    login_as(team["clinician"])
    _html, page = live(client, session)
    assert "Since the dose" in page.headings
    assert page.console_links == []  # no open flags, nothing to record
    # Done with: the stage it ended in comes first, unmarked.
    assert [h for h in page.headings if "the session" in h][0] == "After the session"
