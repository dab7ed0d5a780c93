"""The supervisor's board is the team's: what is due after dosing across the team, and how
much waits behind the review queue and the safety alerts."""

from datetime import timedelta

from psiflow.domain.phases import Phase
from psiflow.models.alerts import AlertKind, raise_alert
from psiflow.models.types import utcnow
from tests.conftest import count_queries
from tests.factories import gen_course, gen_patient
from tests.integration_factories import dosed_course, gen_integration_session

PSILOCYBIN = "psilocybin-single-dose@1.0"


def _dosed(lead, name, hours_ago=30):
    course = gen_course(gen_patient(lead, display_name=name), Phase.INTEGRATION, PSILOCYBIN)
    dosed_course(course, utcnow() - timedelta(hours=hours_ago))
    return course


def _due_section(html: str) -> str:
    start = html.index('id="due-title"')
    return html[start : html.index("</section>", start)]


def test_supervisor_sees_the_teams_work_due_after_dosing(client, login_as, team, db):
    _dosed(team["clinician"], "Wren Supervisee", hours_ago=24 * 4)
    _dosed(team["outsider"], "Ash Elsewhere", hours_ago=24 * 4)
    _dosed(team["supervisor"], "Ivy Own", hours_ago=24 * 4)
    db.session.commit()
    login_as(team["supervisor"])
    html = client.get("/").get_data(as_text=True)
    assert "Team caseload" in html
    due = _due_section(html)
    assert "Due after dosing in the team" in due
    assert "Wren Supervisee" in due and team["clinician"].name in due
    assert "Ivy Own" in due
    assert "Ash Elsewhere" not in due
    # What falls due: the day-1 call and the first integration session, overdue by now.
    assert "First integration session after dosing" in due
    assert "Overdue" in due


def test_a_long_team_list_shows_the_most_urgent_and_says_how_many_wait(
    client, login_as, team, db, monkeypatch
):
    from psiflow.integration import queries

    monkeypatch.setattr(queries, "TEAM_DUE_ON_BOARD", 1)
    _dosed(team["clinician"], "Wren Longest", hours_ago=24 * 9)
    _dosed(team["clinician2"], "Fern Newer", hours_ago=24 * 4)
    db.session.commit()
    login_as(team["supervisor"])
    due = _due_section(client.get("/").get_data(as_text=True))
    assert due.count("<tr class=") == 1
    assert "Wren Longest" in due and "Fern Newer" not in due  # the most overdue first
    assert "The 1 most urgent of " in due and "items due or overdue" in due


def test_a_clinicians_board_lists_only_their_own_due_work(client, login_as, team, db):
    _dosed(team["clinician"], "Wren Own", hours_ago=24 * 4)
    _dosed(team["clinician2"], "Fern Colleague", hours_ago=24 * 4)
    db.session.commit()
    login_as(team["clinician"])
    due = _due_section(client.get("/").get_data(as_text=True))
    assert "Wren Own" in due and "Fern Colleague" not in due
    assert "in the team" not in due


def test_the_supervision_links_say_how_much_waits(client, login_as, team, db):
    for name in ("Hazel One", "Hazel Two"):
        course = gen_course(
            gen_patient(team["clinician"], display_name=name), Phase.INTEGRATION, PSILOCYBIN
        )
        gen_integration_session(course, team["clinician"])
    raise_alert(course, AlertKind.SUICIDE_RISK, "C-SSRS: high risk.")
    other = gen_course(gen_patient(team["outsider"]), Phase.INTEGRATION, PSILOCYBIN)
    raise_alert(other, AlertKind.SUICIDE_RISK, "Another team's patient.")
    db.session.commit()
    login_as(team["supervisor"])
    html = client.get("/").get_data(as_text=True)
    links = html[html.index('class="supervision-links"') :]
    links = links[: links.index("</nav>")]
    assert 'Review queue <span class="nav-count">2</span>' in links
    assert "2 notes waiting" in links.replace('</span><span class="visually-hidden"> ', " ")
    assert 'Safety alerts <span class="nav-count">1</span>' in links


def test_the_counts_cost_the_same_statements_for_any_size_of_queue(client, login_as, team, db):
    login_as(team["supervisor"])
    client.get("/")
    with count_queries(db.engine) as few:
        client.get("/")
    for i in range(5):
        course = gen_course(gen_patient(team["clinician2"]), Phase.INTEGRATION, PSILOCYBIN)
        gen_integration_session(course, team["clinician2"])
        raise_alert(course, AlertKind.SUICIDE_RISK, f"Alert {i}.")
        dosed_course(course, utcnow() - timedelta(days=4))
    db.session.commit()
    with count_queries(db.engine) as many:
        client.get("/")
    assert many.count == few.count
