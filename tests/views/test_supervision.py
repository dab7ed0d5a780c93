"""Supervision through the web: review queue, co-signing and returning, alerts, outcomes."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.domain.signing import RecordStatus
from psiflow.models import Alert, AlertKind, IntegrationSession, Review
from psiflow.models.alerts import raise_alert
from psiflow.models.types import utcnow
from tests.conftest import count_queries
from tests.factories import TEST_PASSWORD, gen_course, gen_patient
from tests.integration_factories import gen_integration_session, gen_measure

PSILOCYBIN = "psilocybin-single-dose@1.0"


@pytest.fixture
def note(db, team):
    course = gen_course(
        gen_patient(team["clinician"], display_name="Hazel Example"), Phase.INTEGRATION, PSILOCYBIN
    )
    return gen_integration_session(course, team["clinician"])


def _review_url(record):
    return f"/supervision/reviews/{record.record_type}/{record.id}"


def test_supervisor_sees_the_note_in_the_queue_with_its_age(client, login_as, team, db, note):
    login_as(team["supervisor"])
    html = client.get("/supervision/reviews").get_data(as_text=True)
    assert "Hazel Example" in html and "Integration session" in html
    assert "0 days" in html


def test_trainee_and_clinician_cannot_see_the_queue(client, login_as, team, db, note):
    for user in ("trainee", "clinician"):
        login_as(team[user])
        assert client.get("/supervision/reviews").status_code == 403
        assert client.get("/supervision/alerts").status_code == 403
        assert client.get("/supervision/outcomes").status_code == 403
        client.post("/logout")


def test_clinician_cannot_cosign(client, login_as, team, db, note):
    login_as(team["clinician2"])
    response = client.post(
        _review_url(note), data={"decision": "cosigned", "password": TEST_PASSWORD}
    )
    assert response.status_code == 403
    # nor through the generic signing route
    client.post(
        f"/records/integration_session/{note.id}/sign",
        data={"sign-meaning": "reviewed", "sign-password": TEST_PASSWORD},
    )
    assert db.session.get(IntegrationSession, note.id).status == RecordStatus.SIGNED


def test_supervisor_outside_the_team_cannot_review(client, login_as, team, db, note):
    login_as(team["other_supervisor"])
    assert client.get(_review_url(note)).status_code == 404
    response = client.post(
        _review_url(note), data={"decision": "cosigned", "password": TEST_PASSWORD}
    )
    assert response.status_code == 404
    assert db.session.get(IntegrationSession, note.id).status == RecordStatus.SIGNED


def test_cosigning_needs_the_password(client, login_as, team, db, note):
    login_as(team["supervisor"])
    response = client.post(_review_url(note), data={"decision": "cosigned", "password": "x"})
    assert "password is not correct" in response.get_data(as_text=True)
    assert db.session.get(IntegrationSession, note.id).status == RecordStatus.SIGNED
    response = client.post(
        _review_url(note), data={"decision": "cosigned", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert db.session.get(IntegrationSession, note.id).status == RecordStatus.COSIGNED


def test_return_addendum_resubmit_cosign(client, login_as, team, db, note):
    login_as(team["supervisor"])
    response = client.post(_review_url(note), data={"decision": "returned", "comments": ""})
    assert "needs comments" in response.get_data(as_text=True)
    client.post(
        _review_url(note),
        data={"decision": "returned", "comments": "Add how the week-one call went."},
    )
    assert "Hazel Example" not in client.get("/supervision/reviews").get_data(as_text=True)
    client.post("/logout")

    login_as(team["clinician"])
    board = client.get("/").get_data(as_text=True)
    assert "Notes returned to you" in board and "Add how the week-one call went." in board
    assert "Hazel Example: integration session" in board
    assert f"returned by {team['supervisor'].name} on" in board
    record_page = client.get(f"/records/integration_session/{note.id}").get_data(as_text=True)
    assert "Re-submit for review" in record_page
    resubmit = f"/supervision/returned/integration_session/{note.id}/resubmit"
    client.post(resubmit)
    assert db.session.scalars(sa.select(Review)).one().resubmitted_at is None  # no addendum yet
    client.post(
        f"/records/integration_session/{note.id}/addendum",
        data={
            "addendum-text": "The call went well; sleeping better.",
            "addendum-password": TEST_PASSWORD,
        },
    )
    client.post(resubmit)
    assert db.session.scalars(sa.select(Review)).one().resubmitted_at is not None
    assert "Notes returned to you" not in client.get("/").get_data(as_text=True)
    client.post("/logout")

    login_as(team["supervisor"])
    assert "Hazel Example" in client.get("/supervision/reviews").get_data(as_text=True)
    page = client.get(_review_url(note)).get_data(as_text=True)
    assert "The call went well" in page and "Add how the week-one call went." in page
    client.post(_review_url(note), data={"decision": "cosigned", "password": TEST_PASSWORD})
    assert db.session.get(IntegrationSession, note.id).status == RecordStatus.COSIGNED


def test_trainee_note_is_cosigned_with_fidelity_and_then_counts(client, login_as, team, db):
    course = gen_course(gen_patient(team["trainee"]), Phase.INTEGRATION, PSILOCYBIN)
    note = gen_integration_session(course, team["trainee"])
    items = course.protocol.adherence_items
    login_as(team["supervisor"])
    page = client.get(_review_url(note)).get_data(as_text=True)
    assert items[0].label in page
    response = client.post(
        _review_url(note), data={"decision": "cosigned", "password": TEST_PASSWORD}
    )
    assert "fidelity rating" in response.get_data(as_text=True)
    assert not db.session.get(IntegrationSession, note.id).counts
    data = {f"fidelity_{i.id}": "met" for i in items}
    data[f"fidelity_{items[-1].id}"] = "partly"
    client.post(_review_url(note), data={"decision": "cosigned", "password": TEST_PASSWORD, **data})
    assert db.session.get(IntegrationSession, note.id).counts
    review = db.session.scalars(sa.select(Review)).one()
    assert review.fidelity[items[-1].id] == "partly"
    page = client.get(f"/records/integration_session/{note.id}").get_data(as_text=True)
    assert f"{len(items) - 1} of {len(items)} applicable items met, 1 partly" in page


def test_queue_pages_take_a_fixed_number_of_queries(client, login_as, team, db, note):
    def queries():
        login_as(team["supervisor"])
        with count_queries(db.engine) as counter:
            assert client.get("/supervision/reviews").status_code == 200
        client.post("/logout")
        return counter.count

    small = queries()
    for _ in range(12):
        gen_integration_session(note.course, team["clinician"])
    assert queries() == small


def test_alerts_page_lists_unacknowledged_first_and_acknowledges_with_a_note(
    client, login_as, team, db, note
):
    course = note.course
    old = raise_alert(
        course,
        AlertKind.SAFETY_CHECK_IN,
        "Sleep badly disturbed.",
        now=utcnow() - timedelta(days=2),
    )
    raise_alert(course, AlertKind.SUICIDE_RISK, "C-SSRS: high risk.")
    outsider = gen_course(gen_patient(team["outsider"]), Phase.INTEGRATION, PSILOCYBIN)
    raise_alert(outsider, AlertKind.SUICIDE_RISK, "Someone else's patient.")
    login_as(team["supervisor"])
    html = client.get("/supervision/alerts").get_data(as_text=True)
    assert "2 open alerts" in html
    assert "Someone else" not in html
    assert html.index("C-SSRS: high risk.") < html.index("Sleep badly disturbed.")
    client.post(f"/supervision/alerts/{old.id}/acknowledge", data={"note": ""})
    assert db.session.get(Alert, old.id).acknowledged_at is None
    client.post(
        f"/supervision/alerts/{old.id}/acknowledge",
        data={"note": "Called the patient; sleep plan agreed."},
    )
    alert = db.session.get(Alert, old.id)
    assert alert.acknowledged_by_id == team["supervisor"].id
    assert "1 open alert " in client.get("/supervision/alerts").get_data(as_text=True)


def test_supervisor_outside_the_team_cannot_acknowledge(client, login_as, team, db, note):
    alert = raise_alert(note.course, AlertKind.SUICIDE_RISK, "High risk.")
    login_as(team["other_supervisor"])
    response = client.post(f"/supervision/alerts/{alert.id}/acknowledge", data={"note": "x"})
    assert response.status_code == 404
    assert db.session.get(Alert, alert.id).acknowledged_at is None


def _outcome_course(
    team, clinician, name, protocol=PSILOCYBIN, phase=Phase.FOLLOW_UP, baseline=20, latest=8
):
    course = gen_course(gen_patient(team[clinician], display_name=name), phase, protocol)
    gen_measure(
        course,
        team[clinician],
        "phq9",
        "baseline",
        total=baseline,
        occurred_at=utcnow() - timedelta(days=60),
    )
    gen_measure(
        course,
        team[clinician],
        "phq9",
        "follow_up_week_4",
        total=latest,
        occurred_at=utcnow() - timedelta(days=1),
    )
    return course


def test_outcome_table_shows_change_response_and_remission(client, login_as, team, db):
    _outcome_course(team, "clinician", "Orrin Example", baseline=20, latest=8)
    _outcome_course(
        team, "clinician2", "Poppy Sample", baseline=20, latest=4, phase=Phase.INTEGRATION
    )
    _outcome_course(team, "outsider", "Quill Notreal")
    practice = gen_course(
        gen_patient(team["trainee"], display_name="Practice Sorrel"), Phase.FOLLOW_UP, PSILOCYBIN
    )
    gen_measure(practice, team["trainee"], "phq9", "baseline", total=20)
    login_as(team["supervisor"])
    html = client.get("/supervision/outcomes").get_data(as_text=True)
    assert "Orrin Example" in html and "Poppy Sample" in html
    assert "Quill Notreal" not in html and "Practice Sorrel" not in html
    assert "20 → 8" in html and "-60%" in html and "response" in html
    assert "20 → 4" in html and "remission" in html
    # the team chart: both courses in one protocol bar, the numbers in the table
    assert 'class="bar series-phq9"' in html and "+70%" in html
    html = client.get(f"/supervision/outcomes?clinician={team['clinician'].id}").get_data(
        as_text=True
    )
    assert "Orrin Example" in html and "Poppy Sample" not in html
    html = client.get("/supervision/outcomes?phase=integration").get_data(as_text=True)
    assert "Orrin Example" not in html and "Poppy Sample" in html
    html = client.get("/supervision/outcomes?protocol=mdma-three-session").get_data(as_text=True)
    assert "Orrin Example" not in html


def test_overdue_follow_up_and_review_are_highlighted(client, login_as, team, db):
    course = _outcome_course(team, "clinician", "Umber Example")
    # gen_course dosed it 20 days ago; week-4 measures were given, week 12 is not due yet,
    # so move the dosing back 14 weeks to make week 12 overdue.
    dosing = next(t for t in course.transitions if t.to_phase == Phase.INTEGRATION)
    dosing.at = utcnow() - timedelta(weeks=14)
    note = gen_integration_session(course, team["clinician"])
    from psiflow.models import Signature

    for s in db.session.scalars(
        sa.select(Signature).where(
            Signature.record_id == note.id, Signature.record_type == "integration_session"
        )
    ):
        s.signed_at = utcnow() - timedelta(days=9)
    login_as(team["supervisor"])
    html = client.get("/supervision/outcomes").get_data(as_text=True)
    assert 'class="overdue"' in html
    assert "PHQ-9 at follow-up week 12" in html
    assert "Review waiting since" in html


def test_outcome_table_takes_a_fixed_number_of_queries_per_page(client, login_as, team, db):
    def queries():
        login_as(team["supervisor"])
        with count_queries(db.engine) as counter:
            assert client.get("/supervision/outcomes").status_code == 200
        client.post("/logout")
        return counter.count

    for i in range(2):
        _outcome_course(team, "clinician", f"Small {i}")
    small = queries()
    for i in range(15):
        _outcome_course(team, "clinician2", f"Large {i}")
    assert queries() == small


def test_outcome_csv_has_the_numbers_and_no_practice_patient(client, login_as, team, db):
    course = _outcome_course(team, "clinician", "Vesper Example", baseline=20, latest=8)
    practice = gen_course(
        gen_patient(team["trainee"], record_number="PRAC-9"), Phase.FOLLOW_UP, PSILOCYBIN
    )
    gen_measure(practice, team["trainee"], "phq9", "baseline", total=20)
    login_as(team["supervisor"])
    response = client.get("/supervision/outcomes.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # the charset once
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("record_number,protocol,protocol_version,phase")
    [row] = lines[1:]
    assert row.startswith(course.patient.record_number)
    assert ",20,8,-60,yes,no," in row  # scores written as on the page, never "20.0"
    assert "PRAC-9" not in response.get_data(as_text=True)


def test_the_queue_counts_every_waiting_note_on_every_page(db, team):
    from psiflow.supervision.queries import review_queue

    for _ in range(3):
        course = gen_course(gen_patient(team["clinician"]), Phase.INTEGRATION)
        gen_integration_session(course, team["clinician"])
    pages = [review_queue(team["supervisor"], n, per_page=2) for n in (1, 2, 3)]
    assert [len(p.rows) for p in pages] == [2, 1, 0]
    assert [p.total for p in pages] == [3, 3, 3]
    assert pages[0].has_next and not pages[1].has_next


def test_team_table_picks_the_same_baseline_and_latest_scores_as_the_course_page(team, db):
    """The team table picks each outcome's two scores in SQL; `course_outcomes` is the rule."""
    from psiflow import catalog
    from psiflow.domain.outcomes import course_outcomes, mean_improvement_by_group
    from psiflow.models import MeasureResponse
    from psiflow.supervision import queries

    clinician = team["clinician"]
    course = gen_course(gen_patient(clinician), Phase.FOLLOW_UP, PSILOCYBIN)
    other = gen_course(gen_patient(team["clinician2"]), Phase.INTEGRATION, PSILOCYBIN)
    start = utcnow() - timedelta(days=90)

    def at(days):
        return start + timedelta(days=days)

    # PHQ-9: two baselines at one moment (the first given counts), a score before them and
    # one at the same moment (neither is "later"), two latest scores at one moment (the last
    # given counts), and later ones that do not count: voided, a draft.
    gen_measure(course, clinician, "phq9", "integration", total=3, occurred_at=at(-1))
    gen_measure(course, clinician, "phq9", "baseline", total=20, occurred_at=at(0))
    gen_measure(course, clinician, "phq9", "baseline", total=18, occurred_at=at(0))
    gen_measure(course, clinician, "phq9", "integration", total=15, occurred_at=at(0))
    gen_measure(course, clinician, "phq9", "follow_up_week_1", total=12, occurred_at=at(30))
    gen_measure(course, clinician, "phq9", "follow_up_week_3", total=10, occurred_at=at(30))
    voided = gen_measure(course, clinician, "phq9", "follow_up_week_4", total=2, occurred_at=at(40))
    voided.voided_at = utcnow()
    gen_measure(
        course, clinician, "phq9", "follow_up_week_6", total=1, occurred_at=at(50), sign=False
    )
    # GAD-7 from a baseline of 0 (no percentage); WHO-5 with a baseline only; PCL-5 with its
    # baseline after the only other score; MADRS with a later baseline that does not count.
    gen_measure(course, clinician, "gad7", "baseline", total=0, occurred_at=at(0))
    gen_measure(course, clinician, "gad7", "follow_up_week_4", total=5, occurred_at=at(30))
    gen_measure(course, clinician, "who5", "baseline", total=40, occurred_at=at(0))
    gen_measure(course, clinician, "pcl5", "follow_up_week_4", total=30, occurred_at=at(10))
    gen_measure(course, clinician, "pcl5", "baseline", total=50, occurred_at=at(20))
    gen_measure(course, clinician, "madrs", "baseline", total=30, occurred_at=at(0))
    gen_measure(course, clinician, "madrs", "baseline", total=10, occurred_at=at(5))
    gen_measure(course, clinician, "madrs", "follow_up_week_4", total=12, occurred_at=at(30))
    gen_measure(other, team["clinician2"], "phq9", "baseline", total=14, occurred_at=at(0))
    gen_measure(other, team["clinician2"], "phq9", "integration", total=7, occurred_at=at(8))
    db.session.commit()

    instruments = catalog.instruments()
    expected = {}
    for c in (course, other):
        counting = db.session.scalars(
            sa.select(MeasureResponse)
            .where(MeasureResponse.course_id == c.id, MeasureResponse.counting())
            .order_by(MeasureResponse.id)
        ).all()
        expected[c.id] = course_outcomes(instruments, counting)
    assert set(expected[course.id]) == {"phq9", "gad7", "madrs"}
    assert expected[course.id]["phq9"].baseline == 20 and expected[course.id]["phq9"].latest == 10

    found = queries.scope_outcomes(team["supervisor"], queries.OutcomeFilters())
    shown = queries._load_courses([course.id, other.id])
    rows = queries.outcome_rows(team["supervisor"], shown, utcnow(), found)
    assert {row.course.id: row.outcomes for row in rows} == expected
    # The table's columns: each outcome instrument's outcome or None, in the header's order.
    assert [o and o.instrument_id for o in rows[0].columns] == [
        "phq9",
        "gad7",
        None,
        None,
        "madrs",
    ]
    assert queries.improvement_by_protocol(found) == (
        mean_improvement_by_group(
            instruments,
            [(c.protocol.name, o) for c in (course, other) for o in expected[c.id].values()],
        )
    )


def test_outcome_statements_shared_by_supervisors_bind_each_ones_own_team(
    client, login_as, team, db
):
    """The score statement is built once per role and filter shape; who and what it selects
    are parameters, so one supervisor's table never shows another's team."""
    from psiflow.access import Role
    from psiflow.models.reviews import oldest_waiting_by_course
    from psiflow.supervision import queries
    from tests.factories import gen_user

    orrin = _outcome_course(team, "clinician", "Orrin Example")
    _outcome_course(team, "clinician2", "Poppy Sample", protocol="mdma-three-session@1.0")
    clinic = team["supervisor"].clinic
    theirs = gen_user(Role.CLINICIAN, clinic, supervisor=team["other_supervisor"])
    db.session.commit()
    team["theirs"] = theirs
    _outcome_course(team, "theirs", "Quill Elsewhere")
    rowan = _outcome_course(team, "theirs", "Rowan Elsewhere", phase=Phase.INTEGRATION)
    for course, author in ((orrin, team["clinician"]), (rowan, theirs)):
        gen_integration_session(course, author)

    def patients(supervisor, **filters):
        found = queries.scope_outcomes(supervisor, queries.OutcomeFilters(**filters))
        rows = queries.outcome_rows(
            supervisor, queries._load_courses(found.course_ids), utcnow(), found
        )
        return [row.course.patient_name for row in rows]

    assert patients(team["supervisor"]) == ["Orrin Example", "Poppy Sample"]
    assert patients(team["other_supervisor"]) == ["Quill Elsewhere", "Rowan Elsewhere"]
    assert patients(team["supervisor"], clinician_id=team["clinician2"].id) == ["Poppy Sample"]
    assert patients(team["other_supervisor"], clinician_id=theirs.id) == [
        "Quill Elsewhere",
        "Rowan Elsewhere",
    ]
    assert patients(team["supervisor"], protocol_id="mdma-three-session") == ["Poppy Sample"]
    assert patients(team["other_supervisor"], phase=Phase.INTEGRATION) == ["Rowan Elsewhere"]
    assert patients(team["supervisor"], phase=Phase.INTEGRATION) == []
    # The review-waiting lookup is shared the same way.
    both = [orrin.id, rowan.id]
    assert set(oldest_waiting_by_course(team["supervisor"], both)) == {orrin.id}
    assert set(oldest_waiting_by_course(team["other_supervisor"], both)) == {rowan.id}
