"""`Course.attention_from` agrees with the schedule rule after every kind of write, and the
dashboard it narrows shows exactly what working out every course would show."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from psiflow import catalog
from psiflow.domain.dosing import DoseKind
from psiflow.domain.phases import Phase
from psiflow.domain.schedule import DueStatus, needing_attention, outstanding, schedule_numbers
from psiflow.domain.signing import Meaning
from psiflow.extensions import db as _db
from psiflow.integration import queries
from psiflow.models import (
    Course,
    DoseAdministration,
    DosingSession,
    IntegrationSession,
    MeasureResponse,
    Patient,
    SafetyCheckIn,
    dosing,
)
from psiflow.models.integration import instrument_names, schedule_done
from psiflow.models.patients import caseload_filter
from psiflow.models.records import sign_record
from psiflow.models.types import utcnow
from tests.conftest import stale_stored_values, statements_of
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient
from tests.integration_factories import (
    CALM,
    MDMA,
    NO_RISK,
    PSILOCYBIN,
    dosed_course,
    gen_check_in,
    gen_integration_session,
    gen_measure,
)

CLINIC_ZONE = ZoneInfo("America/Los_Angeles")


def local(when) -> str:
    return when.astimezone(CLINIC_ZONE).strftime("%Y-%m-%dT%H:%M")


def stored(db, course) -> object:
    db.session.expire_all()
    return db.session.scalar(sa.select(Course.attention_from).where(Course.id == course.id))


def agrees(db) -> None:
    db.session.commit()
    assert stale_stored_values() == []


def _void(client, record_type, record_id):
    response = client.post(
        f"/records/{record_type}/{record_id}/void",
        data={"void-reason": "Entered in error", "void-password": TEST_PASSWORD},
    )
    assert response.status_code == 302


def _sign(client, record_type, record_id):
    response = client.post(
        f"/records/{record_type}/{record_id}/sign",
        data={"sign-meaning": "authored", "sign-password": TEST_PASSWORD},
    )
    assert response.status_code == 302


def test_every_kind_of_write_keeps_the_stored_value_equal_to_the_rule(
    client, auth, login_as, team, db
):
    clinician, supervisor = team["clinician"], team["supervisor"]
    course = gen_course(gen_patient(clinician), Phase.DOSING, PSILOCYBIN)
    looped = gen_course(gen_patient(clinician), Phase.INTEGRATION, MDMA)
    agrees(db)
    assert stored(db, course) is None
    login_as(clinician)

    # The live dosing session: starting it changes nothing, the dose starts the schedule.
    assert client.post(f"/courses/{course.id}/dosing-sessions").status_code == 302
    session = db.session.scalars(
        sa.select(DosingSession).where(DosingSession.course_id == course.id)
    ).one()
    agrees(db)
    assert stored(db, course) is None
    response = client.post(
        f"/dosing-sessions/{session.id}/doses",
        data={"kind": "initial", "amount": "25", "lot_number": "PSI-1"},
    )
    assert response.status_code == 302
    agrees(db)
    dose = db.session.scalars(sa.select(DoseAdministration)).one()
    assert stored(db, course) == dose.given_at  # the first integration session is due at once
    assert client.post(f"/dosing-sessions/{session.id}/vitals", data={"heart_rate": 88})
    agrees(db)
    _void(client, "dosing_session", session.id)
    agrees(db)
    assert stored(db, course) is None

    # A course dosed outside PsiFlow: its dosing -> integration transition stands in.
    dosed_course(looped, utcnow() - timedelta(days=3))
    agrees(db)
    assert stored(db, looped) is not None

    # Integration: the session opens with a check-in and a risk screen, then the note.
    response = client.post(
        f"/integration/courses/{looped.id}/sessions/new",
        data={"occurred_at": local(utcnow() - timedelta(hours=1)), "password": TEST_PASSWORD}
        | CALM
        | NO_RISK,
    )
    assert response.status_code == 302
    agrees(db)
    note = db.session.scalars(sa.select(IntegrationSession)).one()
    response = client.post(
        f"/integration/integration_session/{note.id}/edit",
        data={
            "duration_minutes": "60",
            "themes": "Grief",
            "new_1": "Walk daily",
            "version": note.version,
        },
    )
    assert response.status_code == 302
    agrees(db)
    _sign(client, "integration_session", note.id)
    agrees(db)
    before_void = stored(db, looped)
    _void(client, "integration_session", note.id)
    agrees(db)
    assert stored(db, looped) != before_void  # the first integration session is due again

    # A scheduled safety call, then voided.
    response = client.post(
        f"/integration/courses/{looped.id}/check-ins/new",
        data={**CALM, "call": "1:2", "password": TEST_PASSWORD, "occurred_at": local(utcnow())},
    )
    assert response.status_code == 302
    agrees(db)
    call = db.session.scalars(
        sa.select(SafetyCheckIn).where(SafetyCheckIn.scheduled_day.is_not(None))
    ).one()
    _void(client, "safety_check_in", call.id)
    agrees(db)

    # Measures at the schedule's timepoints, recorded through the form and voided.
    response = client.post(
        f"/measures/courses/{looped.id}/new?instrument=ceq",
        data={"timepoint": "after_dosing_1", "password": TEST_PASSWORD, "total": "3"},
    )
    assert response.status_code == 302
    agrees(db)
    response = client.post(
        f"/measures/courses/{looped.id}/new?instrument=phq9",
        data={"timepoint": "follow_up_week_8", "password": TEST_PASSWORD}
        | {f"item_q{i}": "1" for i in range(1, 10)},
    )
    assert response.status_code == 302
    agrees(db)
    measure = db.session.scalars(
        sa.select(MeasureResponse).where(MeasureResponse.timepoint == "follow_up_week_8")
    ).one()
    _void(client, "measure", measure.id)
    agrees(db)

    # Phase changes: a hold and its resumption, then a supervisor's overrides around the loop.
    course = db.session.get(Course, looped.id)
    client.post(
        f"/courses/{course.id}/hold",
        data={"hold-version": course.version, "hold-reason": "Travelling"},
    )
    agrees(db)
    course = db.session.get(Course, looped.id)
    client.post(f"/courses/{course.id}/resume", data={"version": course.version})
    agrees(db)
    auth.logout()
    login_as(supervisor)
    for to_phase in ("dosing", "integration", "follow_up"):
        course = db.session.get(Course, looped.id)
        response = client.post(
            f"/courses/{course.id}/override",
            data={
                "override-version": course.version,
                "override-to_phase": to_phase,
                "override-reason": "Recorded on paper at the partner clinic",
            },
        )
        assert response.status_code == 302
        assert db.session.get(Course, looped.id).phase == Phase(to_phase)
        agrees(db)
    course = db.session.get(Course, looped.id)
    client.post(
        f"/courses/{course.id}/withdraw",
        data={"withdraw-version": course.version, "withdraw-reason": "Moved away"},
    )
    agrees(db)


def test_edits_through_the_orm_of_every_column_the_schedule_reads(team, db):
    clinician = team["clinician"]
    course = gen_course(gen_patient(clinician), Phase.DOSING, PSILOCYBIN)
    session = gen_dosing_session(course, clinician, complete=False, hours_ago=30)
    at = utcnow() - timedelta(hours=29)
    dosing.record_dose(session, DoseKind.INITIAL, 25, "LOT-1", at, clinician, now=at)
    agrees(db)
    assert stored(db, course) == at
    # Drafts, so they may still be edited.
    measure = gen_measure(course, clinician, "meq30", "after_dosing_1", total=4, sign=False)
    call = gen_check_in(course, clinician, sign=False, dosing_number=1, scheduled_day=1)
    note = gen_integration_session(course, clinician, sign=False, occurred_at=at)
    agrees(db)
    # Objects expired by the commit, changed without being read: the course is found anyway.
    dose = db.session.scalars(sa.select(DoseAdministration)).one()
    db.session.expire_all()
    dose.given_at = utcnow() - timedelta(days=5)
    agrees(db)
    db.session.expire_all()
    note.occurred_at = utcnow() - timedelta(days=6)
    agrees(db)
    db.session.expire_all()
    measure.timepoint = "integration"
    agrees(db)
    measure.timepoint = "after_dosing_1"
    agrees(db)
    db.session.expire_all()
    call.scheduled_day = 7
    agrees(db)
    call.scheduled_day = None
    agrees(db)
    sign_record(measure, clinician, Meaning.AUTHORED)
    agrees(db)
    dose.kind = DoseKind.SUPPLEMENTAL
    agrees(db)
    assert stored(db, course) is None
    dose.kind = DoseKind.INITIAL
    agrees(db)
    session.voided_at = utcnow()
    agrees(db)
    assert stored(db, course) is None
    session.voided_at = None
    agrees(db)
    # The app starts a course on one protocol version for good; were it changed, it counts.
    course = db.session.get(Course, course.id)
    protocol = catalog.protocol(MDMA)
    course.protocol_id, course.protocol_version = protocol.id, protocol.version
    agrees(db)
    # Records are never deleted (`models.records` refuses); were a transition removed, it counts.
    looped = gen_course(gen_patient(clinician), Phase.INTEGRATION, MDMA)
    dosed_course(looped)
    agrees(db)
    before = stored(db, looped)
    db.session.delete(db.session.get(Course, looped.id).transitions[-1])
    agrees(db)
    assert stored(db, looped) != before


def _recomputes(statements) -> list[str]:
    """The statement `stored.attention.refresh` opens with (it locks the courses)."""
    opening = (
        "SELECT courses.id, courses.protocol_id, courses.protocol_version, courses.attention_from"
    )
    return [s for s in statements if s.startswith(opening)]


def test_a_rolled_back_write_leaves_nothing_behind_for_the_next_commit(team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, MDMA)
    agrees(db)
    dosed_course(course)
    db.session.rollback()
    gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, MDMA)
    assert _recomputes(statements_of(db.engine, db.session.commit)) == []
    assert stale_stored_values() == []
    dosed_course(db.session.get(Course, course.id))
    assert _recomputes(statements_of(db.engine, db.session.commit)) != []
    assert stale_stored_values() == []


def test_a_vitals_reading_or_a_signature_works_nothing_out_again(client, login_as, team, db):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING, PSILOCYBIN)
    session = gen_dosing_session(course, team["clinician"], complete=False, hours_ago=1)
    note = gen_integration_session(course, team["clinician"], sign=False)
    login_as(team["clinician"])
    statements = statements_of(
        db.engine,
        lambda: client.post(f"/dosing-sessions/{session.id}/vitals", data={"heart_rate": 88}),
    )
    assert statements and _recomputes(statements) == []
    statements = statements_of(db.engine, lambda: _sign(client, "integration_session", note.id))
    assert statements and _recomputes(statements) == []


# --- the dashboard ---------------------------------------------------------------------------


def _dashboard_in_full(user, now):
    """What the dashboard shows, from every course worked out by the rule (not from what is
    stored): overdue first, then by deadline, longest in phase, course and item."""
    courses = db_courses(user)
    done = schedule_done(courses)
    names = instrument_names()
    attention = []
    for place, course in enumerate(courses):
        items = outstanding(schedule_numbers(course.protocol), done[course.id], names)
        attention += [(place, course.id, item, s) for item, s in needing_attention(items, now)]
    attention.sort(key=lambda r: (r[3] != DueStatus.OVERDUE, r[2].overdue_at, r[0], r[2].key))
    return [row[1:] for row in attention]


def db_courses(user):
    return _db.session.scalars(
        sa.select(Course)
        .join(Course.patient)
        .where(
            caseload_filter(user),
            sa.or_(Patient.lead_clinician_id == user.id, Patient.co_facilitator_id == user.id),
            Course.phase.in_(queries.SCHEDULED_PHASES),
        )
        .order_by(Course.phase_entered_at, Course.id)
    ).all()


@pytest.mark.parametrize("limit", [100, 3])
def test_the_dashboard_shows_what_working_out_every_course_shows(team, db, monkeypatch, limit):
    clinician = team["clinician"]
    monkeypatch.setattr(queries, "OWN_DUE_ON_BOARD", limit)
    base = utcnow()
    for i, key in enumerate([PSILOCYBIN, MDMA, PSILOCYBIN, MDMA, PSILOCYBIN, MDMA]):
        course = gen_course(gen_patient(clinician), Phase.INTEGRATION, key)
        dosed_course(course, base - timedelta(days=3 * i + 1))
        if i % 2:
            gen_check_in(course, clinician, dosing_number=1, scheduled_day=2)
        if i % 3 == 0:
            gen_measure(course, clinician, "ceq", "after_dosing_1", total=3)
    gen_course(gen_patient(clinician), Phase.PREPARATION, PSILOCYBIN)  # nothing scheduled
    agrees(db)
    totals = {}
    for shift in (-2, 0, 1, 5, 30, 200):
        now = base + timedelta(days=shift)
        monkeypatch.setattr(queries, "utcnow", lambda now=now: now)
        board = queries.dashboard(clinician)
        shown = [(c.id, item, s) for c, item, s in board["attention"]]
        full = _dashboard_in_full(clinician, now)
        assert shown == full[:limit]
        assert board["attention_total"] == len(full)
        totals[shift] = len(full)
    assert totals[0] >= 6  # every dosed course has its first session due
    assert totals[-2] < totals[0]  # the latest dosing is still ahead then


def test_a_refresh_over_many_batches_puts_back_what_was_changed_around_the_app(
    team, db, monkeypatch
):
    from psiflow.models import CourseDueItem
    from psiflow.models.stored import attention

    clinician = team["clinician"]
    courses = [gen_course(gen_patient(clinician), Phase.INTEGRATION, PSILOCYBIN) for _ in range(3)]
    for days, course in enumerate(courses):
        dosed_course(course, utcnow() - timedelta(days=days + 1))
    agrees(db)
    # A change made in the database itself: one course's moment, another's items.
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(Course.__table__)
            .where(Course.__table__.c.id == courses[0].id)
            .values(attention_from=None)
        )
        connection.execute(
            CourseDueItem.__table__.delete().where(
                CourseDueItem.__table__.c.course_id == courses[2].id
            )
        )
    assert {d.course_id for d in stale_stored_values()} == {courses[0].id, courses[2].id}
    monkeypatch.setattr(attention, "BATCH", 1)
    with db.engine.begin() as connection:
        changed = attention.refresh(connection, [c.id for c in courses], catalog.protocols())
    assert set(changed) == {courses[0].id, courses[2].id}
    assert stale_stored_values() == []
