"""Every editable record refuses a stale save and a save that does not say its version, and
keeps what its user typed.

The record types come from the models (every type that names an edit page) and the course
(whose phase actions carry its version); the form is the one its edit page draws. A type
added later without a way to build it here fails `test_every_editable_record_type_is_tried`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from psiflow.domain.phases import Phase
from psiflow.extensions import db as _db
from psiflow.models import (
    RECORD_TYPES,
    Consent,
    Course,
    DosingSession,
    IntegrationSession,
    PreparationSession,
    Screening,
    SetIntake,
)
from psiflow.models.types import utcnow
from tests.factories import gen_course, gen_dosing_session, gen_patient
from tests.integration_factories import gen_integration_session
from tests.security.conftest import forms_on


def _preparation(model, **fields):
    def build(lead, co):
        course = gen_course(gen_patient(lead, co_facilitator=co), Phase.PREPARATION)
        if model is Screening:  # every check answered, as a saved draft's are
            fields["checks"] = {
                c.id: {"positive": False} for c in course.protocol.contraindications
            }
        record = model(course=course, author=lead, **fields)
        _db.session.add(record)
        _db.session.flush()
        return record

    return build


def _dosing_session(lead, co):
    course = gen_course(gen_patient(lead, co_facilitator=co), Phase.DOSING)
    return gen_dosing_session(course, lead, complete=False, hours_ago=1)


def _integration_note(lead, co):
    course = gen_course(gen_patient(lead, co_facilitator=co), Phase.INTEGRATION)
    return gen_integration_session(course, lead, sign=False)


BUILDERS = {
    Screening: _preparation(Screening),
    Consent: _preparation(Consent),
    SetIntake: _preparation(SetIntake),
    PreparationSession: _preparation(
        PreparationSession, occurred_at=utcnow() - timedelta(hours=2), topics=[]
    ),
    DosingSession: _dosing_session,
    IntegrationSession: _integration_note,
}
EDITABLE = sorted(
    (m for m in RECORD_TYPES.values() if m.edit_endpoint is not None), key=lambda m: m.__name__
)


def test_every_editable_record_type_is_tried():
    assert set(EDITABLE) == set(BUILDERS)


def _versioned_form(client, page: str):
    """The form of `page` that carries a version, and what it posts as drawn."""
    for form in forms_on(client, page):
        if "version" in form.names:
            data = {}
            for f in form.fields:
                if not f["name"] or f["type"] in ("submit", "button"):
                    continue
                if f["type"] in ("radio", "checkbox"):
                    if f["checked"]:
                        data.setdefault(f["name"], []).append(f["value"])
                elif f["tag"] == "select":
                    data[f["name"]] = f["selected"] or ""
                else:
                    data[f["name"]] = f["value"]
            text = next(f["name"] for f in form.fields if f["tag"] == "textarea")
            return form.action, data, text
    raise AssertionError(f"{page} draws no form that carries the record's version")


def _edit_page(record) -> str:
    from flask import url_for

    return url_for(record.edit_endpoint, record_type=record.record_type, record_id=record.id)


def _stored_text(record, name: str) -> str:
    _db.session.expire_all()
    return getattr(_db.session.get(type(record), record.id), name) or ""


@pytest.mark.parametrize("model", EDITABLE, ids=lambda m: m.record_type)
def test_a_save_without_its_version_is_refused_and_keeps_the_text(
    app, client, login_as, team, db, model
):
    record = BUILDERS[model](team["clinician"], team["clinician2"])
    login_as(team["clinician"])
    with app.test_request_context():
        page = _edit_page(record)
    action, data, text = _versioned_form(client, page)
    stored = _stored_text(record, text)
    for version in (None, "", "abc", "NaN", "1e308"):
        posted = {**data, text: "Typed on a page that lost its version"}
        if version is None:
            del posted["version"]
        else:
            posted["version"] = version
        response = client.post(action, data=posted)
        html = response.get_data(as_text=True)
        assert response.status_code in (409, 422), (version, response.status_code)
        assert "Typed on a page that lost its version" in html  # what was typed is kept
        assert "version" in html.lower()  # the refusal names what was wrong
        assert _stored_text(record, text) == stored


@pytest.mark.parametrize("model", EDITABLE, ids=lambda m: m.record_type)
def test_a_stale_save_is_refused_keeps_the_text_and_shows_what_is_stored(
    app, client, login_as, team, db, model
):
    record = BUILDERS[model](team["clinician"], team["clinician2"])
    login_as(team["clinician"])
    with app.test_request_context():
        page = _edit_page(record)
    action, data, text = _versioned_form(client, page)  # both devices open the page
    first = client.post(action, data={**data, text: "Saved first, from the first device"})
    assert first.status_code == 302
    second = client.post(action, data={**data, text: "Typed on the second device"})
    html = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Typed on the second device" in html  # theirs is kept on the page...
    assert "Saved first, from the first device" in html  # ...beside what is stored
    assert "Someone else saved" in html
    assert _stored_text(record, text) == "Saved first, from the first device"
    # The page now carries the stored version: saving again is a choice made having seen it.
    again = client.post(action, data={**data, text: "Merged", "version": _version(record)})
    assert again.status_code == 302
    assert _stored_text(record, text) == "Merged"


def _version(record) -> int:
    _db.session.expire_all()
    return _db.session.get(type(record), record.id).version


@pytest.mark.parametrize("action", ["hold", "withdraw"])
def test_a_course_action_without_its_version_is_refused(client, login_as, team, db, action):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION)
    login_as(team["clinician"])
    for version in (None, "", "abc", "1e308", str(course.version + 1)):
        data = {f"{action}-reason": "Travelling"}
        if version is not None:
            data[f"{action}-version"] = version
        client.post(f"/courses/{course.id}/{action}", data=data)
        _db.session.expire_all()
        assert _db.session.get(Course, course.id).phase == Phase.PREPARATION, version
