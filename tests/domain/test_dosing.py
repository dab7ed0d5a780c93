"""Dose limits, the Oregon session length, discharge and what signing needs, without an app."""

from datetime import UTC, datetime, timedelta

import pytest

from psiflow.domain.dosing import (
    DoseGiven,
    DoseKind,
    discharge_errors,
    dose_errors,
    earliest_discharge,
    minimum_minutes,
    signing_gaps,
    time_error,
)
from psiflow.domain.protocols import default_protocol_dir, load_protocols

PROTOCOLS = load_protocols(default_protocol_dir())
MDMA = PROTOCOLS["mdma-three-session@1.0"]
PSILOCYBIN = PROTOCOLS["psilocybin-single-dose@1.0"]
ESKETAMINE = PROTOCOLS["esketamine-monitoring@1.0"]
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def initial(amount, minutes=0):
    return DoseGiven(DoseKind.INITIAL, amount, at(minutes))


@pytest.mark.parametrize(("amount", "ok"), [(79.9, False), (80, True), (120, True), (121, False)])
def test_initial_dose_must_be_in_the_protocol_range(amount, ok):
    errors = dose_errors(MDMA.dose, DoseKind.INITIAL, amount, at(0), [])
    assert (errors == {}) is ok
    if not ok:
        assert errors["amount"] == "The dose must be between 80 and 120 mg in this protocol."


def test_a_fixed_dose_protocol_says_the_one_dose():
    errors = dose_errors(PSILOCYBIN.dose, DoseKind.INITIAL, 30, at(0), [])
    assert errors == {"amount": "The dose in this protocol is 25 mg."}


def test_the_initial_dose_is_recorded_once():
    assert "kind" in dose_errors(MDMA.dose, DoseKind.INITIAL, 120, at(5), [initial(120)])


def test_supplemental_dose_within_amount_and_time_window():
    given = [initial(120)]
    assert dose_errors(MDMA.dose, DoseKind.SUPPLEMENTAL, 60, at(100), given) == {}
    early = dose_errors(MDMA.dose, DoseKind.SUPPLEMENTAL, 60, at(60), given)
    assert "60 minutes after it" in early["given_at"]
    assert "given_at" in dose_errors(MDMA.dose, DoseKind.SUPPLEMENTAL, 60, at(121), given)
    assert "amount" in dose_errors(MDMA.dose, DoseKind.SUPPLEMENTAL, 80, at(100), given)


def test_supplemental_dose_needs_an_initial_one_and_a_protocol_that_allows_it():
    assert dose_errors(MDMA.dose, DoseKind.SUPPLEMENTAL, 60, at(100), [])["kind"] == (
        "Record the initial dose first."
    )
    assert dose_errors(PSILOCYBIN.dose, DoseKind.SUPPLEMENTAL, 5, at(100), [initial(25)]) == {
        "kind": "This protocol gives no supplemental dose."
    }
    both = [initial(120), DoseGiven(DoseKind.SUPPLEMENTAL, 60, at(95))]
    assert "kind" in dose_errors(MDMA.dose, DoseKind.SUPPLEMENTAL, 60, at(100), both)


def test_times_before_the_session_or_in_the_future_are_refused():
    assert time_error(at(-1), started_at=at(0), now=at(30)).startswith("This is before")
    assert time_error(at(33), started_at=at(0), now=at(30)).startswith("This time is in the future")
    assert time_error(at(31), started_at=at(0), now=at(30)) is None


def test_oregon_minimum_counts_the_supplemental_dose():
    # 20 mg alone needs 4 hours; with a 5 mg secondary dose the total of 25 mg needs 5 hours.
    doses = [initial(20), DoseGiven(DoseKind.SUPPLEMENTAL, 5, at(90))]
    assert minimum_minutes(PSILOCYBIN, doses[:1]) == 240
    assert minimum_minutes(PSILOCYBIN, doses) == 300
    assert earliest_discharge(PSILOCYBIN, doses) == at(300)


def _discharge(protocol, doses, minutes, **overrides):
    fields = {
        "discharged_at": at(minutes),
        "criteria_met": [c.id for c in protocol.discharge_criteria],
        "accompanied_by": "Partner (Sam)",
        "as_planned": True,
        "deviation": "",
    }
    fields.update(overrides)
    return discharge_errors(protocol, doses, **fields)


def test_discharge_is_refused_before_the_minimum_for_the_dose():
    errors = _discharge(PSILOCYBIN, [initial(25)], 299)
    assert errors["discharged_at"] == (
        "The minimum session for 25 mg is 300 minutes from the first dose; 1 more minute to go."
    )
    assert _discharge(PSILOCYBIN, [initial(25)], 300) == {}


def test_discharge_needs_a_dose_every_criterion_and_a_companion():
    errors = _discharge(ESKETAMINE, [], 200, criteria_met=["sedation_resolved"], accompanied_by=" ")
    assert set(errors) == {"discharged_at", "criteria", "accompanied_by"}
    assert "Dissociation resolved" in errors["criteria"]


def test_a_departure_from_the_transport_plan_must_be_described():
    doses = [initial(84)]
    assert "deviation" in _discharge(ESKETAMINE, doses, 130, as_planned=False)
    assert _discharge(ESKETAMINE, doses, 130, as_planned=False, deviation="Taxi, not sister") == {}


def _gaps(protocol, **overrides):
    fields = {
        "done_items": [i.id for i in protocol.checklist],
        "answered_questions": [q.id for q in protocol.session_questions],
        "doses": [initial(protocol.dose.min)],
        "discharged_at": at(600),
        "facilitators_present": protocol.facilitators_required,
        "unacknowledged_flags": 0,
    }
    fields.update(overrides)
    return signing_gaps(protocol, **fields)


def test_a_complete_session_has_no_gaps():
    for protocol in PROTOCOLS.values():
        assert _gaps(protocol) == [], protocol.key


def test_signing_lists_every_gap():
    gaps = _gaps(
        MDMA,
        done_items=["identity_consent_confirmed"],
        doses=[],
        discharged_at=None,
        facilitators_present=1,
        unacknowledged_flags=2,
    )
    assert "Checklist (before): Urine drug screen negative" in gaps
    assert "Facilitators present: the protocol needs 2" in gaps
    assert "The dose given (substance, amount, lot number, time)" in gaps
    assert "Discharge (criteria confirmed, time, who accompanies the patient)" in gaps
    assert "Acknowledge 2 out-of-range vital sign reading(s)" in gaps
    assert not any("Light breakfast" in g for g in gaps)  # not a required item


def test_signing_needs_the_minimum_monitoring_time_and_every_question():
    gaps = _gaps(ESKETAMINE, discharged_at=at(90), answered_questions=["sedation"])
    assert "The minimum monitoring time of 120 minutes" in gaps
    assert "Answer: The patient experienced dissociation" in gaps
