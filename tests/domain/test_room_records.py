"""The session room's record: music, who signs, the discharge rule and the pickup, without an
app (issue 17, items 5 to 7)."""

import dataclasses
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from psiflow.domain.dosing import (
    DoseGiven,
    DoseKind,
    EventKind,
    check_pickup,
    discharge_rule,
    event_detail,
    event_errors,
    needs_second_signature,
    pickup_on_day,
    pickup_problem,
    second_signature_due,
)
from psiflow.domain.protocols import default_protocol_dir, load_protocols
from psiflow.domain.review import Decision, review_problems
from psiflow.domain.vitals import schedule

PROTOCOLS = load_protocols(default_protocol_dir())
MDMA = PROTOCOLS["mdma-three-session@1.0"]
PSILOCYBIN = PROTOCOLS["psilocybin-single-dose@1.0"]
KETAMINE = PROTOCOLS["ketamine-assisted-psychotherapy@1.0"]
ZONE = ZoneInfo("America/Los_Angeles")
# 16:45 in the clinic (Pacific standard time, UTC-8).
DOSE_AT = datetime(2026, 12, 7, 16, 45, tzinfo=ZONE).astimezone(UTC)


def given(amount, kind=DoseKind.INITIAL, minutes=0):
    return DoseGiven(kind, amount, DOSE_AT + timedelta(minutes=minutes))


# --- music ---------------------------------------------------------------------------------


def test_a_music_change_says_what_was_played():
    assert event_errors(EventKind.MUSIC_CHANGE, "", "", "") == {
        "playlist": "Say what is playing now: a playlist, a track or a note."
    }
    assert event_errors(EventKind.MUSIC_CHANGE, "", "Hopkins 2.0", "") == {}
    assert event_errors(EventKind.MUSIC_CHANGE, "", "", "Lux Aeterna") == {}
    assert event_errors(EventKind.MUSIC_CHANGE, "silence asked for", "", "") == {}
    assert event_errors(EventKind.PEAK, "", "", "") == {}
    assert event_errors(EventKind.NOTE, " ", "", "") == {"note": "A note needs text."}
    assert "track" in event_errors(EventKind.MUSIC_CHANGE, "", "", "x" * 301)


def test_the_timeline_line_of_a_music_change_names_playlist_track_and_note():
    assert event_detail("Hopkins 2.0", "Lux Aeterna", "volume down") == (
        "Playlist: Hopkins 2.0 · Track: Lux Aeterna · volume down"
    )
    # An event recorded before music had its fields reads as it did: its note.
    assert event_detail("", "", "Switched to the quiet set") == "Switched to the quiet set"
    assert event_detail("", "", "") == ""


# --- who signs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("required", "present", "both"), [(1, 1, False), (1, 2, True), (1, 3, True), (2, 1, True)]
)
def test_both_facilitators_sign_whenever_two_were_present(required, present, both):
    assert needs_second_signature(required, present) is both


def test_records_signed_before_the_rule_keep_the_protocol_pair_rule():
    assert second_signature_due(None, 2) is True
    assert second_signature_due(None, 1) is False
    assert second_signature_due(True, 1) is True
    assert second_signature_due(False, 2) is False


def _review(**overrides):
    values = dict(
        decision=Decision.COSIGNED,
        reviewer_id=7,
        author_supervisor_id=7,
        record_type="dosing_session",
        signed=True,
        cosigned=False,
        voided=False,
        needs_cosign=False,
        returned_open=False,
        comments="",
        fidelity=None,
        adherence_ids=[],
    )
    values.update(overrides)
    return review_problems(**values)


def test_an_attestation_waits_for_the_second_facilitator_and_the_care_team_supervisor():
    # A dosing record is not an always-reviewed type: it goes to review when its own rule says.
    assert _review() == ["This record does not go to supervisor review."]
    assert _review(due=True) == []
    waits = "The second facilitator signs before the supervisor attests."
    assert _review(due=True, waits_for=waits) == [waits]
    refusal = "Only a supervisor of the patient's care team attests this record."
    assert _review(due=True, reviewer_allowed=False, reviewer_refusal=refusal) == [refusal]
    # Without the record's own answer, the author's supervisor rule stands.
    assert _review(due=True, author_supervisor_id=8) == [
        "Only the author's own supervisor reviews this note."
    ]


# --- the earliest discharge ----------------------------------------------------------------


def test_before_the_dose_the_tile_states_the_rule_not_a_time():
    rule = discharge_rule(PSILOCYBIN, [])
    # The 25 mg dose sets 300 min (OAR 333-333-5250), not the 240 min floor.
    assert rule.earliest is None and rule.first_dose_at is None
    assert (rule.minutes, rule.most_minutes, rule.by_dose, rule.varies) == (300, 300, True, False)


def test_a_dose_range_gives_a_range_of_minimums_before_the_dose():
    ranged = dataclasses.replace(
        PSILOCYBIN, dose=dataclasses.replace(PSILOCYBIN.dose, min=10.0, max=30.0)
    )
    rule = discharge_rule(ranged, [])
    assert (rule.minutes, rule.most_minutes, rule.varies) == (240, 300, True)


def test_after_the_dose_the_earliest_discharge_is_counted_from_it():
    rule = discharge_rule(PSILOCYBIN, [given(25)])
    assert rule.earliest == DOSE_AT + timedelta(minutes=300)
    assert rule.earliest.astimezone(ZONE).strftime("%H:%M") == "21:45"
    assert (rule.minutes, rule.by_dose, rule.total_dose) == (300, True, 25)
    assert rule.supplemental is None  # the protocol gives none


def test_a_protocol_floor_is_named_as_such():
    rule = discharge_rule(KETAMINE, [given(KETAMINE.dose.min)])
    assert rule.minutes == KETAMINE.min_monitoring_minutes and not rule.by_dose


def test_a_planned_supplemental_dose_says_whether_it_moves_the_discharge():
    mdma = discharge_rule(MDMA, [given(120)])
    assert mdma.supplemental is not None
    # MDMA has no dose-dependent minimum: the supplemental half-dose changes nothing.
    assert not mdma.supplemental.changes(mdma.minutes)
    oregon = dataclasses.replace(
        PSILOCYBIN,
        dose=dataclasses.replace(
            PSILOCYBIN.dose,
            supplemental_allowed=True,
            supplemental_min=5.0,
            supplemental_max=15.0,
            supplemental_after_minutes=(60, 120),
        ),
    )
    rule = discharge_rule(oregon, [given(25)])
    assert rule.supplemental.changes(rule.minutes)
    assert rule.supplemental.minutes == 360  # 40 mg in total: 6 hours
    assert rule.supplemental.earliest == DOSE_AT + timedelta(minutes=360)
    after = discharge_rule(oregon, [given(25), given(10, DoseKind.SUPPLEMENTAL, 90)])
    assert after.supplemental is None and after.minutes == 360


# --- vitals before the dose ----------------------------------------------------------------


def test_scheduled_readings_before_the_dose_show_their_planned_offset():
    rows = schedule([0, 60, 120], None, [], DOSE_AT)
    assert [r.planned_offset for r in rows] == [
        "Before the dose",
        "+60 min after the dose",
        "+120 min after the dose",
    ]


# --- the pickup ----------------------------------------------------------------------------


def test_a_pickup_before_the_earliest_discharge_is_a_problem():
    earliest = DOSE_AT + timedelta(minutes=300)
    assert pickup_problem(earliest, earliest) is None
    assert pickup_problem(None, earliest) is None
    assert pickup_problem(earliest - timedelta(minutes=1), earliest) == (
        "The pickup is 1 minute before the earliest discharge: arrange a later pickup."
    )


def test_the_pickup_time_of_day_falls_on_the_dose_day_or_the_next_morning():
    assert pickup_on_day(time(17, 0), DOSE_AT, ZONE) == datetime(2026, 12, 7, 17, 0, tzinfo=ZONE)
    # Earlier in the day than the dose: the next morning (an overnight stay).
    assert pickup_on_day(time(9, 0), DOSE_AT, ZONE) == datetime(2026, 12, 8, 9, 0, tzinfo=ZONE)


def test_a_17_00_pickup_is_flagged_against_a_21_45_discharge():
    check = check_pickup(PSILOCYBIN, [given(25)], time(17, 0), dose_expected_at=None, zone=ZONE)
    assert check.dose_given and check.problem == (
        "The pickup is 285 minutes before the earliest discharge: arrange a later pickup."
    )
    fine = check_pickup(PSILOCYBIN, [given(25)], time(22, 0), dose_expected_at=None, zone=ZONE)
    assert fine.problem is None


def test_before_the_dose_the_pickup_is_checked_against_the_planned_dose_time():
    check = check_pickup(PSILOCYBIN, [], time(17, 0), dose_expected_at=DOSE_AT, zone=ZONE)
    assert not check.dose_given
    assert check.earliest == DOSE_AT + timedelta(minutes=300)
    assert check.problem is not None
    assert check_pickup(PSILOCYBIN, [], time(17, 0), dose_expected_at=None, zone=ZONE) is None
    assert check_pickup(PSILOCYBIN, [], None, dose_expected_at=DOSE_AT, zone=ZONE) is None
