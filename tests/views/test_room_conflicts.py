"""Two facilitators write the session notes at once: the second sees both versions side by
side and keeps theirs, merges, or drops it; nothing typed disappears."""

import html
import re

import pytest

from psiflow.domain.phases import Phase
from psiflow.models import DosingSession
from psiflow.web.edit_conflicts import THEIRS_MARK, YOURS_MARK
from tests.conftest import AuthActions
from tests.factories import gen_course, gen_dosing_session, gen_patient

FIRST = "Calm arrival; intention read aloud."
SECOND = "Asked for the eye shades at 10:20."


@pytest.fixture
def refused(app, team, login_as, client, db):
    """Both tablets saved from the same version; the second was refused. (client, page, session)"""
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    course = gen_course(patient, Phase.DOSING, protocol_key="mdma-three-session@1.0")
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    login_as(team["clinician"])
    second = app.test_client()
    assert AuthActions(second).login(team["clinician2"]).status_code == 302
    seen = session.version
    both = [team["clinician"].id, team["clinician2"].id]
    path = f"/dosing-sessions/{session.id}/details"
    data = {"version": seen, "facilitator_ids": both}
    assert client.post(path, data={**data, "notes": FIRST}).status_code == 302
    response = second.post(path, data={**data, "notes": SECOND})
    assert response.status_code == 409
    return second, response.get_data(as_text=True), session, path, both


def textarea(page: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    return html.unescape(found.group(1)).lstrip("\r\n")


def version_on(page: str) -> str:
    return re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)


def test_both_versions_are_shown_side_by_side_and_the_box_holds_both(refused):
    _client, page, _session, _path, _both = refused
    assert "two versions" in page
    assert 'id="conflict-notes-theirs">' + FIRST in page
    assert 'id="conflict-notes-yours">' + html.escape(SECOND) in page or SECOND in page
    merged = textarea(page, "notes")
    assert merged.index(THEIRS_MARK) < merged.index(FIRST) < merged.index(YOURS_MARK)
    assert merged.index(YOURS_MARK) < merged.index(SECOND)


@pytest.mark.parametrize(
    ("choice", "stored"),
    [("notes:mine", SECOND), ("notes:theirs", FIRST), ("", None)],
)
def test_the_second_facilitator_keeps_theirs_drops_it_or_merges(refused, db, choice, stored):
    client, page, session, path, both = refused
    merged = textarea(page, "notes").replace(THEIRS_MARK + "\n", "").replace(YOURS_MARK + "\n", "")
    data = {
        "version": version_on(page),
        "facilitator_ids": both,
        "notes": merged,
        "notes__mine": SECOND,
        "notes__theirs": FIRST,
    }
    if choice:
        data["conflict_choice"] = choice
    assert client.post(path, data=data).status_code == 302
    notes = db.session.get(DosingSession, session.id).notes
    if stored is None:  # merged by hand: both texts
        assert FIRST in notes and SECOND in notes
    else:
        assert notes == stored


def test_a_note_typed_on_from_what_is_stored_is_no_conflict(app, team, login_as, client, db):
    patient = gen_patient(team["clinician"])
    course = gen_course(patient, Phase.DOSING, protocol_key="psilocybin-single-dose@1.0")
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    login_as(team["clinician"])
    path = f"/dosing-sessions/{session.id}/details"
    seen = session.version
    ids = [team["clinician"].id]
    assert client.post(path, data={"version": seen, "facilitator_ids": ids, "notes": FIRST})
    response = client.post(
        path, data={"version": seen, "facilitator_ids": ids, "notes": FIRST + " " + SECOND}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "two versions" not in page
    assert textarea(page, "notes") == FIRST + " " + SECOND
