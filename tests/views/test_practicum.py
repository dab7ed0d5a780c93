"""Practicum hours through the pages: the trainee logs and signs, their supervisor signs off,
the totals count only signed-off hours, the signed log leaves as print and CSV (audited), and
nobody else (another trainee, another supervisor, a clinician, an admin) sees any of it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from psiflow import create_app
from psiflow.access import Role
from psiflow.domain.phases import Phase
from psiflow.domain.practicum import PracticumKind, ProgrammeError
from psiflow.domain.signing import Meaning, RecordStatus
from psiflow.extensions import db as _db
from psiflow.models import AuditEvent, PracticumEntry, PracticumSignature
from psiflow.models import practicum as log
from psiflow.models.records import RecordLocked
from psiflow.models.types import utcnow
from tests.conftest import app_config, count_queries, unlabelled_cells
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient, gen_user

BASE = "/training/practicum"


def _today():
    return utcnow().date() - timedelta(days=1)  # yesterday: "not in the future" in any zone


def gen_entry(trainee, kind=PracticumKind.SUPERVISION, minutes=60, *, status=None, sessions=()):
    """An entry of `trainee`, as a draft or signed (`status` SIGNED) or signed off (COSIGNED)."""
    entry = log.log_entry(
        trainee,
        kind=kind,
        occurred_on=_today(),
        duration_minutes=minutes,
        protocol_id=None,
        description="Debrief of my practice session",
        session_ids=list(sessions),
    )
    if status in (RecordStatus.SIGNED, RecordStatus.COSIGNED):
        log.sign_entry(entry, trainee, Meaning.AUTHORED)
    if status == RecordStatus.COSIGNED:
        log.sign_entry(entry, trainee.supervisor, Meaning.REVIEWED)
    _db.session.flush()
    return entry


def practice_session(trainee):
    course = gen_course(gen_patient(trainee, display_name="Fictional Fern"), Phase.DOSING)
    return gen_dosing_session(course, trainee)


def _new_entry_form(**overrides):
    data = {
        "kind": "practice_session",
        "occurred_on": _today().isoformat(),
        "hours": "6",
        "minutes": "30",
        "protocol_id": "psilocybin-single-dose",
        "description": "Facilitated the practice session end to end",
    }
    data.update(overrides)
    return data


def _switch(client, user):
    client.post("/logout")
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302


# --- the trainee's log ---------------------------------------------------------------------


def test_a_trainee_logs_hours_covering_their_own_practice_session(client, login_as, team, db):
    trainee = team["trainee"]
    session = practice_session(trainee)
    login_as(trainee)
    assert client.get(BASE).headers["Location"].endswith(f"{BASE}/trainees/{trainee.id}")
    form = client.get(f"{BASE}/trainees/{trainee.id}/new").get_data(as_text=True)
    assert "Fictional Fern" in form
    response = client.post(
        f"{BASE}/trainees/{trainee.id}/new", data={**_new_entry_form(), "session_ids": session.id}
    )
    assert response.status_code == 302
    entry = db.session.scalar(sa.select(PracticumEntry))
    assert entry.trainee_id == trainee.id
    assert entry.duration_minutes == 6 * 60 + 30
    assert entry.status == RecordStatus.DRAFT
    assert log.session_ids_of(entry) == [session.id]
    page = client.get(f"{BASE}/trainees/{trainee.id}").get_data(as_text=True)
    assert "6 h 30 min pending sign-off" in page
    assert "Draft" in page


def test_an_entry_may_not_name_a_real_session_or_another_trainees(client, login_as, team, db):
    trainee = team["trainee"]
    fellow = gen_user(Role.TRAINEE, trainee.clinic, supervisor=team["supervisor"])
    theirs = practice_session(fellow)
    real = gen_patient(team["clinician"], display_name="Real Rowan", co_facilitator=trainee)
    real_session = gen_dosing_session(gen_course(real, Phase.DOSING), team["clinician"])
    login_as(trainee)
    form = client.get(f"{BASE}/trainees/{trainee.id}/new").get_data(as_text=True)
    assert "Real Rowan" not in form and "Fictional Fern" not in form
    for foreign in (theirs.id, real_session.id):
        response = client.post(
            f"{BASE}/trainees/{trainee.id}/new",
            data={**_new_entry_form(), "session_ids": foreign},
        )
        assert response.status_code == 200
        assert "Only your own practice dosing sessions" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PracticumEntry)) == 0


def test_an_observed_real_session_is_recorded_without_any_link_to_the_patient(
    client, login_as, team, db
):
    trainee = team["trainee"]
    own = practice_session(trainee)
    login_as(trainee)
    refused = client.post(
        f"{BASE}/trainees/{trainee.id}/new",
        data={**_new_entry_form(kind="observed_session"), "session_ids": own.id},
    )
    assert "name no dosing session" in refused.get_data(as_text=True)
    saved = client.post(
        f"{BASE}/trainees/{trainee.id}/new",
        data=_new_entry_form(kind="observed_session", protocol_id="mdma-three-session"),
    )
    assert saved.status_code == 302
    entry = db.session.scalar(sa.select(PracticumEntry))
    assert entry.kind == PracticumKind.OBSERVED_SESSION and log.session_ids_of(entry) == []
    # The entry's table has no column that could hold a patient, a course or a real record.
    columns = set(PracticumEntry.__table__.c.keys())
    assert not {c for c in columns if "patient" in c or "course" in c or "session" in c}


def test_bad_input_is_refused_beside_its_field_and_saves_nothing(client, login_as, team, db):
    trainee = team["trainee"]
    login_as(trainee)
    tomorrow = (utcnow().date() + timedelta(days=2)).isoformat()
    for bad in (
        {"hours": "0", "minutes": "0"},
        {"hours": "25"},
        {"minutes": "75"},
        {"occurred_on": tomorrow},
        {"kind": "sleeping"},
        {"description": ""},
    ):
        response = client.post(f"{BASE}/trainees/{trainee.id}/new", data=_new_entry_form(**bad))
        assert response.status_code == 200, bad
        assert 'class="error"' in response.get_data(as_text=True), bad
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PracticumEntry)) == 0


def test_the_trainee_signs_then_the_supervisor_signs_off_and_only_then_hours_count(
    client, login_as, team, db
):
    trainee, supervisor = team["trainee"], team["supervisor"]
    entry = gen_entry(trainee, PracticumKind.PRACTICE_SESSION, 300)
    login_as(trainee)
    url = f"{BASE}/entries/{entry.id}/sign"
    client.post(url, data={"sign-meaning": "authored", "sign-password": "wrong"})
    db.session.refresh(entry)
    assert entry.status == RecordStatus.DRAFT
    client.post(url, data={"sign-meaning": "authored", "sign-password": TEST_PASSWORD})
    db.session.refresh(entry)
    assert entry.status == RecordStatus.SIGNED
    # A trainee does not sign off their own hours.
    assert (
        client.post(url, data={"sign-meaning": "reviewed", "sign-password": TEST_PASSWORD})
    ).status_code == 403
    page = client.get(f"{BASE}/trainees/{trainee.id}").get_data(as_text=True)
    assert "0 min</strong> of 40 h signed off" in page and "5 h pending sign-off" in page

    _switch(client, supervisor)
    overview = client.get(BASE).get_data(as_text=True)
    assert trainee.name in overview and "1 entry" in overview
    # A supervisor does not sign as the author.
    assert (
        client.post(url, data={"sign-meaning": "authored", "sign-password": TEST_PASSWORD})
    ).status_code == 403
    client.post(url, data={"sign-meaning": "reviewed", "sign-password": TEST_PASSWORD})
    db.session.refresh(entry)
    assert entry.status == RecordStatus.COSIGNED
    signatures = db.session.scalars(
        sa.select(PracticumSignature).order_by(PracticumSignature.id)
    ).all()
    assert [(s.meaning, s.printed_name) for s in signatures] == [
        (Meaning.AUTHORED, trainee.name),
        (Meaning.REVIEWED, supervisor.name),
    ]
    assert all(s.content_hash == entry.current_hash([]) for s in signatures)
    page = client.get(f"{BASE}/trainees/{trainee.id}").get_data(as_text=True)
    assert "5 h</strong> of 40 h signed off" in page
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "PracticumSignature")
    ).all()
    assert actions == ["sign", "sign"]


def test_a_signed_entry_is_locked_and_corrected_by_addendum_or_void(client, login_as, team, db):
    trainee = team["trainee"]
    entry = gen_entry(trainee, status=RecordStatus.COSIGNED)
    login_as(trainee)
    edit = client.post(
        f"{BASE}/entries/{entry.id}/edit", data={**_new_entry_form(), "version": entry.version}
    )
    assert edit.status_code == 302
    db.session.refresh(entry)
    assert entry.duration_minutes == 60
    entry.duration_minutes = 600
    with pytest.raises(RecordLocked):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(RecordLocked):
        db.session.delete(db.session.get(PracticumEntry, entry.id))
        db.session.flush()
    db.session.rollback()

    client.post(
        f"{BASE}/entries/{entry.id}/addendum",
        data={"addendum-text": "It was 70 minutes", "addendum-password": TEST_PASSWORD},
    )
    assert "It was 70 minutes" in client.get(f"{BASE}/entries/{entry.id}").get_data(as_text=True)
    client.post(
        f"{BASE}/entries/{entry.id}/void",
        data={"void-reason": "Logged twice", "void-password": TEST_PASSWORD},
    )
    entry = db.session.get(PracticumEntry, entry.id)
    assert entry.is_voided and entry.void_reason == "Logged twice"
    page = client.get(f"{BASE}/trainees/{trainee.id}").get_data(as_text=True)
    assert "Voided" in page and "0 min</strong> of 40 h signed off" in page


def test_a_draft_saved_elsewhere_meanwhile_is_not_overwritten(client, login_as, team, db):
    trainee = team["trainee"]
    entry = gen_entry(trainee)
    stale = entry.version
    login_as(trainee)
    first = client.post(
        f"{BASE}/entries/{entry.id}/edit",
        data={**_new_entry_form(kind="supervision", hours="1", minutes="0"), "version": stale},
    )
    assert first.status_code == 302
    second = client.post(
        f"{BASE}/entries/{entry.id}/edit",
        data={**_new_entry_form(kind="supervision", hours="3", minutes="0"), "version": stale},
    )
    assert second.status_code == 200
    assert "Someone else saved this record" in second.get_data(as_text=True)
    db.session.refresh(entry)
    assert entry.duration_minutes == 60


@pytest.mark.parametrize("version", [None, ""])
def test_a_draft_saved_without_the_version_the_page_showed_is_refused(
    client, login_as, team, db, version
):
    # The form is built on the entry, which holds its stored version: a post that carries
    # none must not borrow it and save as if it were current.
    trainee = team["trainee"]
    entry = gen_entry(trainee)
    before = entry.duration_minutes
    login_as(trainee)
    data = _new_entry_form(kind="supervision", hours="1", minutes="0")
    if version is not None:
        data["version"] = version
    response = client.post(f"{BASE}/entries/{entry.id}/edit", data=data)
    assert response.status_code == 200
    db.session.refresh(entry)
    assert entry.duration_minutes == before and entry.version == 1


# --- the signed log, to keep ----------------------------------------------------------------


def test_the_signed_log_exports_as_csv_and_print_and_each_export_is_audited(
    client, login_as, team, db
):
    trainee = team["trainee"]
    session = practice_session(trainee)
    kept = gen_entry(
        trainee,
        PracticumKind.PRACTICE_SESSION,
        390,
        status=RecordStatus.COSIGNED,
        sessions=[session.id],
    )
    gen_entry(trainee, PracticumKind.CONSULTATION, 45, status=RecordStatus.SIGNED)
    gen_entry(trainee, PracticumKind.SUPERVISION, 30)
    login_as(trainee)
    response = client.get(f"{BASE}/trainees/{trainee.id}/practicum.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1  # signed off only: pending hours are not the signed log
    row = rows[0]
    assert row["kind"] == "Practice session" and row["minutes"] == "390" and row["hours"] == "6.50"
    assert row["signed_off_by"] == team["supervisor"].name
    assert row["signed_by_trainee"] == trainee.name
    assert row["signed_content_hash"] == kept.current_hash([session.id])
    assert row["practice_session_ids"] == str(session.id)
    printed = client.get(f"{BASE}/trainees/{trainee.id}/print").get_data(as_text=True)
    assert "Signed practicum log" in printed and "6 h 30 min" in printed
    assert "Consultation" not in printed.split("Signed-off entries")[1].split("</tbody>")[0]
    exports = db.session.scalars(
        sa.select(AuditEvent.detail).where(
            AuditEvent.action == "export", AuditEvent.object_type == "practicum_log"
        )
    ).all()
    assert sorted(exports) == ["practicum CSV", "practicum print"]


def test_every_table_of_the_practicum_pages_names_its_cells_on_a_phone(client, login_as, team, db):
    trainee = team["trainee"]
    session = practice_session(trainee)
    gen_entry(
        trainee,
        PracticumKind.PRACTICE_SESSION,
        390,
        status=RecordStatus.COSIGNED,
        sessions=[session.id],
    )
    gen_entry(trainee, PracticumKind.CONSULTATION, 45, status=RecordStatus.SIGNED)
    pages = {}
    for user in (trainee, team["supervisor"]):
        _switch(client, user)
        for url in (BASE, f"{BASE}/trainees/{trainee.id}", f"{BASE}/trainees/{trainee.id}/print"):
            pages[(user.role, url)] = client.get(url, follow_redirects=True)
    for where, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "<td" in html, where
        assert unlabelled_cells(html) == [], where


def test_a_practicum_csv_cell_never_runs_as_a_formula(client, login_as, team, db):
    trainee = team["trainee"]
    entry = gen_entry(trainee, status=None)
    entry.description = '=HYPERLINK("http://x")'
    log.sign_entry(entry, trainee, Meaning.AUTHORED)
    log.sign_entry(entry, team["supervisor"], Meaning.REVIEWED)
    login_as(trainee)
    body = client.get(f"{BASE}/trainees/{trainee.id}/practicum.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body


# --- nobody else ----------------------------------------------------------------------------


def _urls(trainee, entry):
    return [
        ("GET", f"{BASE}/trainees/{trainee.id}"),
        ("GET", f"{BASE}/trainees/{trainee.id}/new"),
        ("POST", f"{BASE}/trainees/{trainee.id}/new"),
        ("GET", f"{BASE}/trainees/{trainee.id}/print"),
        ("GET", f"{BASE}/trainees/{trainee.id}/practicum.csv"),
        ("GET", f"{BASE}/entries/{entry.id}"),
        ("GET", f"{BASE}/entries/{entry.id}/edit"),
        ("POST", f"{BASE}/entries/{entry.id}/edit"),
        ("POST", f"{BASE}/entries/{entry.id}/sign"),
        ("POST", f"{BASE}/entries/{entry.id}/addendum"),
        ("POST", f"{BASE}/entries/{entry.id}/void"),
    ]


@pytest.mark.parametrize(
    "intruder", ["fellow_trainee", "other_supervisor", "clinician", "outsider", "admin"]
)
def test_nobody_but_the_trainee_and_their_supervisor_reaches_the_log(
    client, login_as, team, db, intruder
):
    trainee = team["trainee"]
    team["fellow_trainee"] = gen_user(Role.TRAINEE, trainee.clinic, supervisor=team["supervisor"])
    # Another supervisor's own trainee: the other supervisor supervises *a* trainee, not this one.
    gen_user(Role.TRAINEE, trainee.clinic, supervisor=team["other_supervisor"])
    draft = gen_entry(trainee)
    signed = gen_entry(trainee, status=RecordStatus.SIGNED)
    db.session.commit()
    before = _log_state(db)
    login_as(team[intruder])
    data = {
        **_new_entry_form(),
        "version": "1",
        "sign-meaning": "reviewed",
        "sign-password": TEST_PASSWORD,
        "addendum-text": "x",
        "addendum-password": TEST_PASSWORD,
        "void-reason": "x",
        "void-password": TEST_PASSWORD,
    }
    for entry in (draft, signed):
        for method, url in _urls(trainee, entry):
            response = client.open(url, method=method, data=data)
            assert response.status_code in (403, 404), (intruder, method, url)
            body = response.get_data(as_text=True)
            assert "Debrief of my practice session" not in body
    assert _log_state(db) == before
    if intruder != "admin":
        # What they see of practicum is their own: no other trainee's name or hours.
        landing = client.get(BASE, follow_redirects=True)
        assert trainee.name not in landing.get_data(as_text=True)
    refusals = db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "refused"))
    assert refusals >= 20


def _log_state(db):
    db.session.expire_all()
    entries = db.session.execute(
        sa.select(PracticumEntry.id, PracticumEntry.status, PracticumEntry.voided_at)
    ).all()
    signatures = db.session.scalar(sa.select(sa.func.count()).select_from(PracticumSignature))
    return entries, signatures


def test_a_trainee_edits_only_their_own_unsigned_entries(client, login_as, team, db):
    trainee = team["trainee"]
    signed = gen_entry(trainee, status=RecordStatus.SIGNED)
    login_as(trainee)
    page = client.get(f"{BASE}/entries/{signed.id}").get_data(as_text=True)
    assert "Edit draft" not in page and "Sign as" not in page
    response = client.get(f"{BASE}/entries/{signed.id}/edit")
    assert response.status_code == 302  # told why, on the entry's page


def test_the_supervisor_cannot_log_or_edit_a_trainees_hours(client, login_as, team, db):
    trainee = team["trainee"]
    draft = gen_entry(trainee)
    login_as(team["supervisor"])
    assert client.get(f"{BASE}/trainees/{trainee.id}").status_code == 200
    assert client.get(f"{BASE}/trainees/{trainee.id}/new").status_code == 403
    assert client.get(f"{BASE}/entries/{draft.id}/edit").status_code == 403
    page = client.get(f"{BASE}/entries/{draft.id}").get_data(as_text=True)
    assert "has not signed this entry yet" in page and "Sign off as" not in page


def test_the_navigation_offers_practicum_to_trainees_and_supervisors_only(
    client, login_as, team, db
):
    for who, label in (
        ("trainee", "Practicum hours"),
        ("supervisor", "Practicum sign-off"),
        ("clinician", None),
    ):
        _switch(client, team[who])
        page = client.get("/").get_data(as_text=True)
        if label:
            assert label in page, who
        else:
            assert "Practicum" not in page, who


def test_a_real_patients_session_never_reaches_a_trainees_log_pages(client, login_as, team, db):
    trainee = team["trainee"]
    real = gen_patient(team["clinician"], display_name="Real Rowan", co_facilitator=trainee)
    gen_dosing_session(gen_course(real, Phase.DOSING), team["clinician"])
    gen_entry(trainee, PracticumKind.OBSERVED_SESSION, 300, status=RecordStatus.COSIGNED)
    login_as(trainee)
    for url in (
        f"{BASE}/trainees/{trainee.id}",
        f"{BASE}/trainees/{trainee.id}/new",
        f"{BASE}/trainees/{trainee.id}/print",
        f"{BASE}/trainees/{trainee.id}/practicum.csv",
    ):
        assert "Real Rowan" not in client.get(url).get_data(as_text=True), url


# --- query counts ---------------------------------------------------------------------------


def _count(client, url):
    with count_queries(_db.engine) as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


def test_the_log_pages_run_as_many_queries_for_thirty_entries_as_for_three(
    client, login_as, team, db
):
    trainee = team["trainee"]
    session = practice_session(trainee)

    def add(n):
        for i in range(n):
            status = (RecordStatus.COSIGNED, RecordStatus.SIGNED, None)[i % 3]
            gen_entry(
                trainee, PracticumKind.PRACTICE_SESSION, 60, status=status, sessions=[session.id]
            )

    pages = [
        f"{BASE}/trainees/{trainee.id}",
        f"{BASE}/trainees/{trainee.id}/print",
        f"{BASE}/trainees/{trainee.id}/practicum.csv",
    ]
    add(3)
    login_as(team["supervisor"])
    small = [_count(client, url) for url in pages]
    add(27)
    assert [_count(client, url) for url in pages] == small


def test_the_supervisors_overview_runs_as_many_queries_for_eight_trainees_as_for_one(
    client, login_as, team, db
):
    gen_entry(team["trainee"], status=RecordStatus.SIGNED)
    login_as(team["supervisor"])
    small = _count(client, BASE)
    for _ in range(7):
        other = gen_user(Role.TRAINEE, team["trainee"].clinic, supervisor=team["supervisor"])
        gen_entry(other, status=RecordStatus.SIGNED)
        gen_entry(other, status=RecordStatus.COSIGNED)
    assert _count(client, BASE) == small


# --- the programme --------------------------------------------------------------------------


def test_an_unknown_programme_stops_the_app_at_start(database_url):
    with pytest.raises(ProgrammeError, match="known: colorado-natural-medicine-facilitator"):
        create_app(app_config(database_url, PRACTICUM_PROGRAMME="atlantis"))


def test_colorados_requirement_shows_its_parts(make_app, team, db):
    colorado = make_app(PRACTICUM_PROGRAMME="colorado-natural-medicine-facilitator")
    client = colorado.test_client()
    trainee = team["trainee"]
    gen_entry(trainee, PracticumKind.CONSULTATION, 12 * 60, status=RecordStatus.COSIGNED)
    client.post("/login", data={"email": trainee.email, "password": TEST_PASSWORD})
    page = client.get(f"{BASE}/trainees/{trainee.id}").get_data(as_text=True)
    assert "Direct experience in administration sessions" in page
    assert "12 h (10 h counted)" in page
    assert "<strong>10 h</strong> of 40 h signed off" in page


def test_a_long_log_is_paged_and_its_total_still_counts_every_entry(make_app, login_as, team, db):
    paged = make_app(PAGE_SIZE=2)
    client = paged.test_client()
    trainee = team["trainee"]
    for _ in range(3):
        gen_entry(trainee, PracticumKind.SUPERVISION, 60, status=RecordStatus.COSIGNED)
    client.post("/login", data={"email": trainee.email, "password": TEST_PASSWORD})
    first = client.get(f"{BASE}/trainees/{trainee.id}").get_data(as_text=True)
    assert "3 entries, newest first" in first and "Page 1 of 2" in first
    assert first.count("Signed off</span>") == 2
    assert "<strong>3 h</strong> of 40 h signed off" in first
    second = client.get(f"{BASE}/trainees/{trainee.id}?page=2").get_data(as_text=True)
    assert second.count("Signed off</span>") == 1
