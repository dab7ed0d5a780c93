"""The session as one story: every kind of entry merged in the order it happened."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace as Row

from psiflow.domain.dosing import DoseKind, EventKind, Outcome
from psiflow.domain.session_timeline import current_stage, session_timeline, stages_from

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LEAD = Row(id=1, name="Dr Lead")
CO = Row(id=2, name="Dr Co")
PEOPLE = {1: LEAD, 2: CO}


def at(minutes):
    return START + timedelta(minutes=minutes)


def dose(minutes, kind=DoseKind.INITIAL, amount=25.0):
    return Row(
        kind=kind, amount=amount, unit="mg", substance="psilocybin", route="oral",
        lot_number="LOT-7", given_at=at(minutes), recorded_by_id=1,
    )  # fmt: skip


def vital(id_, minutes, flags=(), critical=(), acknowledged=None, note=""):
    return Row(
        id=id_, taken_at=at(minutes), systolic=150, diastolic=92, heart_rate=88,
        temperature_c=36.8, spo2=97, flags=list(flags), critical_flags=list(critical),
        acknowledged_at=at(acknowledged) if acknowledged is not None else None,
        acknowledged_by_id=2 if acknowledged is not None else None, acknowledgement=note,
        recorded_by_id=1,
    )  # fmt: skip


def event(minutes, kind, note=""):
    return Row(kind=kind, at=at(minutes), note=note, detail=note, recorded_by_id=2)


def test_entries_of_every_kind_come_in_the_order_they_happened():
    timeline = session_timeline(
        started_at=START,
        doses=[dose(30)],
        events=[
            event(70, EventKind.ONSET),
            event(95, EventKind.MUSIC_CHANGE, "Side B: strings"),
            event(20, EventKind.NOTE, "Intention read aloud"),
        ],
        vitals=[vital(5, 10), vital(6, 90, flags=["Systolic above 140"], acknowledged=100)],
        answers=[
            Row(
                kind="checklist",
                item_id="eyeshades",
                value=True,
                recorded_at=at(15),
                recorded_by_id=1,
            )
        ],  # fmt: skip
        item_labels={("checklist", "eyeshades"): "Eyeshades and headphones ready"},
        people=PEOPLE,
    )
    assert [(e.at - START, e.kind, e.title) for e in timeline] == [
        (timedelta(0), "start", "Session started"),
        (timedelta(minutes=10), "vitals", "Vital signs"),
        (timedelta(minutes=15), "checklist", "Ticked: Eyeshades and headphones ready"),
        (timedelta(minutes=20), "note", "Note"),
        (timedelta(minutes=30), "dose", "Initial dose"),
        (timedelta(minutes=70), "event", "Onset"),
        (timedelta(minutes=90), "vitals", "Vital signs"),
        (timedelta(minutes=95), "music", "Music change"),
        (timedelta(minutes=100), "acknowledgement", "Flag acknowledged"),
    ]
    by_kind = {e.kind: e for e in timeline}
    assert by_kind["dose"].detail == "25 mg psilocybin, oral, lot LOT-7"
    assert by_kind["music"].detail == "Side B: strings" and by_kind["music"].by is CO
    assert by_kind["acknowledgement"].by is CO and by_kind["acknowledgement"].refers_to == at(90)


def test_each_entry_says_how_long_after_the_first_dose_it_came():
    timeline = session_timeline(
        started_at=START, doses=[dose(30)], events=[event(125, EventKind.PEAK)]
    )
    offsets = {e.title: (e.minutes_after_dose, e.offset) for e in timeline}
    assert offsets["Session started"] == (None, "")
    assert offsets["Initial dose"] == (0, "+0:00")
    assert offsets["Peak"] == (95, "+1:35")


def test_a_flagged_reading_is_unacknowledged_until_someone_acknowledges_it():
    timeline = session_timeline(
        started_at=START,
        vitals=[
            vital(1, 40, flags=["Heart rate 130 bpm is above the limit"], critical=["heart_rate"]),
            vital(2, 50, flags=["Systolic above 140"], acknowledged=55, note="Rested"),
            vital(3, 60),
        ],
    )
    readings = [e for e in timeline if e.kind == "vitals"]
    assert [(e.unacknowledged, e.critical, bool(e.flags)) for e in readings] == [
        (True, True, True),
        (False, False, True),
        (False, False, False),
    ]
    assert readings[0].detail == "BP 150/92 · HR 88 · 36.8 °C · SpO2 97 %"
    assert [e.detail for e in timeline if e.kind == "acknowledgement"] == ["Rested"]


def test_unticks_answers_adverse_events_their_follow_ups_and_the_end_are_in_the_story():
    serious = Row(
        id=9, onset_at=at(200), description="Fainted", severity_label="Grade 3 – severe",
        serious=True, recorded_by_id=1,
    )  # fmt: skip
    later = Row(
        outcome=Outcome.RECOVERED, note="Home, well", as_of=at(2000), recorded_by_id=7,
        recorded_by=Row(id=7, name="Dr Supervisor"),
    )  # fmt: skip
    timeline = session_timeline(
        started_at=START,
        answers=[
            Row(kind="checklist", item_id="room", value=False, recorded_at=at(3), recorded_by_id=1),
            Row(kind="question", item_id="benzo", value=True, recorded_at=at(4), recorded_by_id=1),
        ],
        item_labels={("checklist", "room"): "Room ready", ("question", "benzo"): "Benzodiazepine"},
        adverse_events=[serious],
        adverse_event_updates={9: [later]},
        people=PEOPLE,
        ended_early_at=at(230),
    )
    assert [(e.kind, e.title, e.critical) for e in timeline[1:]] == [
        ("checklist", "Unticked: Room ready", False),
        ("question", "Benzodiazepine: Yes", False),
        ("adverse_event", "Adverse event (serious)", True),
        ("end", "Ended as an emergency", True),
        ("adverse_event_update", "Follow-up: Recovered / resolved", False),
    ]
    assert timeline[3].anchor == "adverse-event-9" and timeline[3].detail.startswith("Fainted")
    # The follow-up's author is not among the session's people: named from the row itself.
    assert timeline[-1].by.name == "Dr Supervisor"


def test_entries_at_the_same_minute_keep_the_order_the_session_runs_in():
    timeline = session_timeline(
        started_at=START,
        doses=[dose(30)],
        events=[event(30, EventKind.NOTE, "Swallowed with water")],
        vitals=[vital(1, 30)],
        discharged_at=at(400),
    )
    assert [e.kind for e in timeline] == ["start", "dose", "note", "vitals", "end"]


def test_the_current_stage_follows_the_dose_and_the_minimum_duration():
    dose_at, earliest = at(30), at(30 + 360)
    assert current_stage(None, None, None, at(10)) == "before"
    assert current_stage(dose_at, earliest, None, at(60)) == "during"
    assert current_stage(dose_at, earliest, None, earliest) == "after"
    assert current_stage(dose_at, earliest, at(200), at(200)) == "after"  # ended early


def test_the_checklist_shows_the_current_stage_first_then_what_is_to_come():
    assert stages_from("before") == ("before", "during", "after")
    assert stages_from("during") == ("during", "after", "before")
    assert stages_from("after") == ("after", "before", "during")
