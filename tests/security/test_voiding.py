"""Who may void a signed record: its author (who signed it) and a supervisor, the author's own
or the care team's (`access.may_void`); every other role and relationship is refused."""

import pytest
import sqlalchemy as sa

from psiflow.access import Role
from psiflow.domain.phases import Phase
from psiflow.domain.signing import Meaning
from psiflow.models import AuditEvent, DosingSession
from psiflow.models.records import sign_record
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient, gen_user
from tests.integration_factories import gen_measure
from tests.security.conftest import log_in

PSILOCYBIN = "psilocybin-single-dose@1.0"
VOID = {"void-reason": "Entered in error", "void-password": TEST_PASSWORD}


def _void_url(record) -> str:
    return f"/records/{record.record_type}/{record.id}/void"


def _voided(db, record) -> bool:
    db.session.expire_all()
    return db.session.get(type(record), record.id).is_voided


@pytest.fixture
def signed_dosing_record(db, team):
    """A psilocybin dosing session led and signed by `clinician`, with `clinician2` as the
    co-facilitator of the patient and of the session."""
    patient = gen_patient(team["clinician"], co_facilitator=team["clinician2"])
    course = gen_course(patient, Phase.DOSING, protocol_key=PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"], co_facilitator=team["clinician2"])
    sign_record(session, team["clinician"], Meaning.AUTHORED)
    db.session.commit()
    return session


# who -> the answer to their void: refused ones never void, whatever the answer's code
REFUSED = {
    "clinician2": 403,  # the co-facilitator: on the care team, not the signer
    "outsider": 404,  # another clinician: not on this caseload
    "other_supervisor": 404,  # a supervisor of nobody on this caseload
    "trainee": 404,  # never sees a real patient
    "admin": 403,  # holds accounts, not care
}


@pytest.mark.parametrize("who", sorted(REFUSED))
def test_everyone_but_the_signer_and_a_supervisor_is_refused(
    app, db, team, signed_dosing_record, who
):
    client = app.test_client()
    log_in(client, team[who])
    response = client.post(_void_url(signed_dosing_record), data=VOID)
    assert response.status_code == REFUSED[who]
    assert not _voided(db, signed_dosing_record)


def test_the_refusal_of_a_void_is_in_the_audit_trail(app, db, team, signed_dosing_record):
    client = app.test_client()
    log_in(client, team["clinician2"])
    client.post(_void_url(signed_dosing_record), data=VOID)
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "refused"))
    assert (event.actor_id, event.detail) == (team["clinician2"].id, "403 POST records.void")


def test_the_co_facilitator_is_not_offered_the_void_form(app, db, team, signed_dosing_record):
    client = app.test_client()
    log_in(client, team["clinician2"])
    page = client.get(f"/records/dosing_session/{signed_dosing_record.id}")
    assert page.status_code == 200
    assert _void_url(signed_dosing_record) not in page.get_data(as_text=True)


@pytest.mark.parametrize("who", ["clinician", "supervisor"])
def test_the_signer_and_their_supervisor_may_void(app, db, team, signed_dosing_record, who):
    client = app.test_client()
    log_in(client, team[who])
    page = client.get(f"/records/dosing_session/{signed_dosing_record.id}")
    assert _void_url(signed_dosing_record) in page.get_data(as_text=True)
    response = client.post(_void_url(signed_dosing_record), data=VOID)
    assert response.status_code == 302
    assert _voided(db, signed_dosing_record)
    voided = db.session.get(DosingSession, signed_dosing_record.id)
    assert voided.voided_by_id == team[who].id


def test_the_care_teams_supervisor_may_void_a_record_by_someone_they_do_not_supervise(
    app, db, team
):
    # The author is supervised by nobody; the co-facilitator by `other_supervisor`.
    author = team["outsider"]
    partner = gen_user(Role.CLINICIAN, author.clinic, supervisor=team["other_supervisor"])
    course = gen_course(gen_patient(author, co_facilitator=partner), Phase.PREPARATION)
    measure = gen_measure(course, author)
    db.session.commit()
    client = app.test_client()
    log_in(client, team["other_supervisor"])
    assert client.post(_void_url(measure), data=VOID).status_code == 302
    assert _voided(db, measure)


def test_on_practice_the_trainee_signer_may_void_and_a_fellow_trainee_may_not(app, db, team):
    fellow = gen_user(Role.TRAINEE, team["trainee"].clinic, supervisor=team["supervisor"])
    course = gen_course(gen_patient(team["trainee"], co_facilitator=fellow), Phase.PREPARATION)
    measure = gen_measure(course, team["trainee"])
    db.session.commit()
    client = app.test_client()
    log_in(client, fellow)
    assert client.post(_void_url(measure), data=VOID).status_code == 403
    assert not _voided(db, measure)
    client = app.test_client()
    log_in(client, team["trainee"])
    assert client.post(_void_url(measure), data=VOID).status_code == 302
    assert _voided(db, measure)
