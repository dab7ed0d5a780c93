"""Pages read as a clinician writes: risk levels in words, instrument labels as published,
scores one way, instruments by their names, only the rules an instrument defines, and a
refusal to sign that says what is missing in a sentence."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.models.preparation import Consent, PreparationSession, SetIntake
from psiflow.models.types import utcnow
from tests.factories import gen_course, gen_patient
from tests.integration_factories import gen_integration_session, gen_measure
from tests.views.test_integration import local
from tests.views.test_preparation import new_screening, sign

PSILOCYBIN = "psilocybin-single-dose@1.0"


def _course(team, phase=Phase.INTEGRATION, lead="clinician", name="Juniper Words"):
    return gen_course(gen_patient(team[lead], display_name=name), phase, PSILOCYBIN)


def test_a_risk_screen_with_no_risk_reads_no_risk_identified(client, login_as, team, db):
    course = _course(team)
    note = gen_integration_session(course, team["clinician"])
    login_as(team["clinician"])
    page = client.get(f"/records/integration_session/{note.id}").get_data(as_text=True)
    assert "C-SSRS: no risk identified" in page
    assert "none risk" not in page


def test_band_labels_keep_their_published_capitals(client, login_as, team, db):
    course = _course(team)
    measure = gen_measure(course, team["clinician"], "pcl5", "baseline", total=50)
    login_as(team["clinician"])
    record = client.get(f"/records/measure/{measure.id}").get_data(as_text=True)
    panel = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    for page in (record, panel):
        assert "Probable PTSD" in page and "Probable ptsd" not in page


def test_the_baseline_hint_names_instruments_as_clinicians_do(client, login_as, team, db):
    course = _course(team, phase=Phase.PREPARATION)
    login_as(team["clinician"])
    page = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    assert "the protocol asks for a baseline MADRS, PHQ-9, GAD-7, WHO-5, C-SSRS" in page
    assert "PHQ9" not in page


def test_the_madrs_form_asks_only_for_the_total_it_has(client, login_as, team, db):
    course = _course(team)
    login_as(team["clinician"])
    page = client.get(f"/measures/courses/{course.id}/new?instrument=madrs").get_data(as_text=True)
    assert "record the total from the scored paper form" in page
    assert "subscale" not in page


def test_a_contact_a_few_minutes_ahead_never_reads_as_minus_one_day(client, login_as, team, db):
    course = _course(team)
    # A tablet's clock a few minutes fast: within the form's allowance for clock skew.
    gen_integration_session(course, team["clinician"], occurred_at=utcnow() + timedelta(minutes=3))
    login_as(team["clinician"])
    page = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    assert "-1 days ago" not in page
    contact = page[page.index("Last contact") :]
    assert "(today)" in contact[: contact.index("</dd>")], contact[:300]


def test_the_team_table_states_only_the_rules_each_instrument_defines(client, login_as, team, db):
    course = _course(team, phase=Phase.FOLLOW_UP, name="Willow Wellbeing")
    for instrument, baseline, latest in (("who5", 28, 80), ("pcl5", 50, 30), ("phq9", 20, 4)):
        gen_measure(
            course,
            team["clinician"],
            instrument,
            "baseline",
            total=baseline,
            occurred_at=utcnow() - timedelta(days=60),
        )
        gen_measure(
            course,
            team["clinician"],
            instrument,
            "follow_up_week_4",
            total=latest,
            occurred_at=utcnow() - timedelta(days=1),
        )
    login_as(team["supervisor"])
    html = client.get("/supervision/outcomes").get_data(as_text=True)
    row = html[html.index("Willow Wellbeing") :]
    row = row[: row.index("</tr>")]
    cells = re.split(r"<td[^>]*>", row)
    phq9, who5 = cells[3], cells[6]
    pcl5 = cells[5]
    assert "remission" in phq9
    assert "meaningful improvement" in who5 and "remission" not in who5
    assert "clinically meaningful change" in pcl5 and "remission" not in pcl5
    # Each rule with its definition, and no remission where none is defined.
    definitions = html[html.index('id="definitions-title"') :]
    assert "Remission: a total below 5 (Kroenke &amp; Spitzer 2002)." in definitions
    assert "Remission: a total of 10 or less" in definitions
    assert "10-20 points is clinically meaningful change" in definitions
    assert definitions.count("No remission is defined for this instrument.") == 2


def test_the_screening_form_marks_what_signing_needs(client, login_as, team, db):
    course = _course(team, phase=Phase.SCREENING)
    login_as(team["clinician"])
    page = client.get(f"/preparation/courses/{course.id}/screening").get_data(as_text=True)
    for name in ("medical_history", "psychiatric_history"):
        tag = page[page.index(f'name="{name}"') - 200 : page.index(f'name="{name}"') + 50]
        assert 'aria-required="true"' in tag
    assert page.count("Required to sign.") == 2


def _marked_to_sign(page: str) -> set[str]:
    """The ids of the fields a form marks as needed for signing."""
    marked = set(re.findall(r'id="([^"]+)-hint">[^<]*Required to sign\.</p>', page))
    for name in marked:
        control = re.search(rf'<(input|textarea|select)[^>]*\bid="{name}"[^>]*>', page)
        if control is not None:  # a single control; a group says it on its fieldset
            assert 'aria-required="true"' in control.group(0), control.group(0)
        else:
            assert f'<fieldset aria-describedby="{name}-hint">' in page, name
    return marked


@pytest.mark.parametrize(
    "path, model, empty, marked",
    [
        (
            "consent",
            Consent,
            {"capacity_confirmed": "no", "risks_discussed": "no"},
            {
                "form_version",
                "consented_on",
                "witness_name",
                "capacity_confirmed",
                "risks_discussed",
            },
        ),
        ("set-intake", SetIntake, {}, {"intention", "emotional_readiness", "transport_plan"}),
        (
            "preparation-session",
            PreparationSession,
            {"occurred_at": local(utcnow() - timedelta(hours=1))},
            {"duration_minutes", "topics", "notes"},
        ),
    ],
)
def test_every_preparation_form_marks_what_signing_will_ask_for(
    client, login_as, team, db, path, model, empty, marked
):
    course = _course(team, phase=Phase.PREPARATION)
    login_as(team["clinician"])
    url = f"/preparation/courses/{course.id}/{path}"
    assert _marked_to_sign(client.get(url).get_data(as_text=True)) == marked
    # An empty draft saves; signing it names one missing item for each marked field.
    assert client.post(url, data=empty).status_code == 302
    draft = db.session.scalars(sa.select(model).order_by(model.id.desc())).first()
    assert len(draft.missing_for_signing()) == len(marked), draft.missing_for_signing()
    assert "Not signed. Still missing: " in sign(client, draft).get_data(as_text=True)


def test_the_integration_note_marks_what_signing_will_ask_for(client, login_as, team, db):
    course = _course(team)
    draft = gen_integration_session(
        course,
        team["clinician"],
        sign=False,
        duration_minutes=None,
        themes="",
        plan_next_session="",
    )
    db.session.commit()
    login_as(team["clinician"])
    page = client.get(f"/integration/integration_session/{draft.id}/edit").get_data(as_text=True)
    marked = _marked_to_sign(page)
    assert marked == {"duration_minutes", "themes", "plan_next_session"}
    assert len(draft.missing_for_signing()) == len(marked)


def test_signing_an_incomplete_screening_says_what_is_missing_in_a_sentence(
    client, login_as, team, db
):
    course = _course(team, phase=Phase.SCREENING)
    login_as(team["clinician"])
    screening = new_screening(client, course, medical_history="", psychiatric_history="")
    page = sign(client, screening).get_data(as_text=True)
    assert "Not signed. Still missing: Medical history and Psychiatric history." in page
