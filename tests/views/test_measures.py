"""Recording measures: scoring from the instrument data, bad answers, risk alerts, the gate."""

import pytest
import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.models import Alert, Course, MeasureResponse
from tests.factories import TEST_PASSWORD, gen_course, gen_patient

KAP = "ketamine-assisted-psychotherapy@1.0"  # baseline: PHQ-9, GAD-7, WHO-5, C-SSRS


@pytest.fixture
def course(db, team):
    return gen_course(gen_patient(team["clinician"]), Phase.PREPARATION, KAP)


def answers(values, **extra):
    data = {f"item_q{i + 1}": v for i, v in enumerate(values)}
    return {"timepoint": "baseline", "password": TEST_PASSWORD, **data, **extra}


def record(client, course, instrument, data):
    return client.post(
        f"/measures/courses/{course.id}/new?instrument={instrument}",
        data=data,
        follow_redirects=True,
    )


def test_phq9_is_scored_banded_and_signed(client, login_as, team, db, course):
    login_as(team["clinician"])
    page = record(client, course, "phq9", answers([2, 2, 2, 2, 2, 2, 2, 1, 0])).get_data(
        as_text=True
    )
    assert "PHQ-9 recorded: 15 (Moderately severe)" in page
    measure = db.session.scalar(sa.select(MeasureResponse))
    assert measure.total == 15 and measure.status == "signed" and measure.timepoint == "baseline"
    assert measure.answers["q9"] == 0
    unmet = dict(db.session.get(Course, course.id).gates())[Phase.DOSING]
    assert "Baseline PHQ-9 recorded" not in unmet and "Baseline GAD-7 recorded" in unmet


@pytest.mark.parametrize(
    "data,message",
    [
        (answers([1] * 8), "Answer this item."),  # q9 missing
        (answers([1] * 8 + [7]), "valid choice"),  # not an offered answer
        (answers([1] * 9, item_q10="1"), "does not have: item_q10"),  # forged item id
        (answers([1] * 9, timepoint="week_99"), "valid choice"),
        (answers([1] * 9, password="wrong password"), "password is not correct"),
    ],
)
def test_bad_answers_save_nothing(client, login_as, team, db, course, data, message):
    login_as(team["clinician"])
    assert message in record(client, course, "phq9", data).get_data(as_text=True)
    assert db.session.query(MeasureResponse).count() == 0


def test_unknown_instrument_is_404(client, login_as, team, course):
    login_as(team["clinician"])
    assert client.get(f"/measures/courses/{course.id}/new?instrument=nope").status_code == 404


def test_cssrs_high_risk_alerts_the_supervisor(client, login_as, team, db, course):
    login_as(team["clinician"])
    # Columbia triage: "yes" to method/intent (Q4) is high risk
    page = record(client, course, "cssrs", answers([1, 1, 1, 1, 0, 0])).get_data(as_text=True)
    assert "The supervisor has been alerted" in page
    alert = db.session.scalar(sa.select(Alert))
    assert alert.kind == "suicide_risk" and "high" in alert.message


def test_cssrs_low_risk_does_not_alert(client, login_as, team, db, course):
    login_as(team["clinician"])
    record(client, course, "cssrs", answers([1, 0], item_q6="0"))
    assert db.session.scalar(sa.select(MeasureResponse)).risk == "low"
    assert db.session.query(Alert).count() == 0


def test_totals_only_instrument_checks_its_range(client, login_as, team, db, course):
    login_as(team["clinician"])
    data = {"timepoint": "after_dosing_1", "password": TEST_PASSWORD, "total": "61"}
    page = record(client, course, "madrs", data).get_data(as_text=True)
    assert "Not recorded" in page
    assert db.session.query(MeasureResponse).count() == 0
    data["total"] = "22"
    assert "MADRS recorded: 22" in record(client, course, "madrs", data).get_data(as_text=True)


def test_copyrighted_items_are_not_shown(client, login_as, team, course):
    login_as(team["clinician"])
    page = client.get(f"/measures/courses/{course.id}/new?instrument=meq30").get_data(as_text=True)
    assert "items are copyrighted" in page and 'name="total"' in page


def test_measures_show_on_the_patient_page(client, login_as, team, db, course):
    login_as(team["clinician"])
    record(client, course, "gad7", answers([3, 3, 3, 3, 3, 3, 3]))
    page = client.get(f"/patients/{course.patient_id}").get_data(as_text=True)
    assert "GAD-7" in page and "21" in page and "Severe" in page


def test_trainee_measure_on_practice_patient_needs_cosign(client, login_as, team, db):
    course = gen_course(gen_patient(team["trainee"]), Phase.PREPARATION, KAP)
    login_as(team["trainee"])
    record(client, course, "phq9", answers([0] * 9))
    measure = db.session.scalar(sa.select(MeasureResponse))
    assert measure.needs_cosign and not measure.counts
    assert (
        "Baseline PHQ-9 recorded" in dict(db.session.get(Course, course.id).gates())[Phase.DOSING]
    )


def test_other_caseload_cannot_record(client, login_as, team, db, course):
    login_as(team["outsider"])
    response = client.post(
        f"/measures/courses/{course.id}/new?instrument=phq9", data=answers([0] * 9)
    )
    assert response.status_code == 404
    assert db.session.query(MeasureResponse).count() == 0
