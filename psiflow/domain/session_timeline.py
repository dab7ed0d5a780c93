"""The dosing session as one story: every entry of the live record in the order it happened.

The room reads a session as a sequence ("dose at 09:10, onset 09:40, BP 150/92 flagged at
10:20, acknowledged 10:25, music changed 10:30"), not as one table per kind of row. The rows
come already loaded (the session sheet reads each kind once), so merging them costs no query;
they are read by attribute, whatever class holds them. Time is what the entry says it happened
at (`taken_at`, `given_at`, `at`...), never when the row reached the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# The checklist's stages, in the order a session runs through them.
STAGES = ("before", "during", "after")


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # see KIND_LABELS
    title: str
    detail: str = ""
    by: object | None = None  # who entered it (a user), when known
    anchor: str = ""  # the id of the entry's full record on the page, if it has one
    flags: tuple[str, ...] = ()
    critical: bool = False
    # An out-of-range reading nobody has acknowledged yet: it holds discharge.
    unacknowledged: bool = False
    minutes_after_dose: int | None = None  # None: before the first dose, or no dose yet
    refers_to: datetime | None = None  # an acknowledgement: when the reading was taken

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def offset(self) -> str:
        """ "+1:05" after the first dose; "" before it."""
        if self.minutes_after_dose is None:
            return ""
        hours, minutes = divmod(self.minutes_after_dose, 60)
        return f"+{hours}:{minutes:02d}"


KIND_LABELS = {
    "start": "Session",
    "dose": "Dose",
    "event": "Event",
    "music": "Music",
    "note": "Note",
    "vitals": "Vital signs",
    "acknowledgement": "Flag acknowledged",
    "checklist": "Checklist",
    "question": "Question",
    "adverse_event": "Adverse event",
    "adverse_event_update": "Adverse event follow-up",
    "end": "Session",
}


def session_timeline(
    *,
    started_at: datetime,
    doses: Iterable = (),
    events: Iterable = (),
    vitals: Iterable = (),
    answers: Iterable = (),
    adverse_events: Iterable = (),
    adverse_event_updates: Mapping[int, Iterable] | None = None,
    item_labels: Mapping[tuple[str, str], str] | None = None,
    people: Mapping[int, object] | None = None,
    discharged_at: datetime | None = None,
    ended_early_at: datetime | None = None,
) -> list[TimelineEntry]:
    """Every entry of a session, oldest first; entries at the same minute keep the order
    in which the session runs (dose, events, readings, ticks, adverse events).

    `item_labels` names checklist items and questions by (answer kind, item id); `people`
    maps user ids to users.
    """
    people = people or {}
    labels = item_labels or {}
    doses = list(doses)
    first_dose = min((d.given_at for d in doses), default=None)

    def who(row, attribute: str = "recorded_by_id"):
        return people.get(getattr(row, attribute))

    found: list[TimelineEntry] = [TimelineEntry(started_at, "start", "Session started")]
    for d in doses:
        lot = f", lot {d.lot_number}" if d.lot_number else ""
        found.append(
            TimelineEntry(
                d.given_at,
                "dose",
                d.kind.label,
                f"{d.amount:g} {d.unit} {d.substance}, {d.route}{lot}",
                who(d),
                anchor="medicine",
            )
        )
    for e in events:
        kind = {"music_change": "music", "note": "note"}.get(str(e.kind), "event")
        # `detail`: a music change says what was played, then its note.
        found.append(TimelineEntry(e.at, kind, e.kind.label, e.detail or "", who(e)))
    for v in vitals:
        found.append(
            TimelineEntry(
                v.taken_at,
                "vitals",
                "Vital signs",
                reading_words(v),
                who(v),
                anchor=f"vital-{v.id}",
                flags=tuple(v.flags or ()),
                critical=bool(v.critical_flags),
                unacknowledged=bool(v.flags) and v.acknowledged_at is None,
            )
        )
        if v.acknowledged_at is not None:
            found.append(
                TimelineEntry(
                    v.acknowledged_at,
                    "acknowledgement",
                    "Flag acknowledged",
                    v.acknowledgement or "",
                    who(v, "acknowledged_by_id"),
                    anchor=f"vital-{v.id}",
                    refers_to=v.taken_at,
                )
            )
    for a in answers:
        kind = str(a.kind)
        label = labels.get((kind, a.item_id), a.item_id)
        if kind == "checklist":
            title = f"Ticked: {label}" if a.value else f"Unticked: {label}"
        else:
            title = f"{label}: {'Yes' if a.value else 'No'}"
        found.append(TimelineEntry(a.recorded_at, kind, title, "", who(a)))
    updates = adverse_event_updates or {}
    for a in adverse_events:
        found.append(
            TimelineEntry(
                a.onset_at,
                "adverse_event",
                "Adverse event" + (" (serious)" if a.serious else ""),
                f"{a.description} ({a.severity_label})",
                who(a),
                anchor=f"adverse-event-{a.id}",
                critical=bool(a.serious),
            )
        )
        for u in updates.get(a.id, ()):
            found.append(
                TimelineEntry(
                    u.as_of,
                    "adverse_event_update",
                    f"Follow-up: {u.outcome.label}",
                    u.note or "",
                    who(u) or u.recorded_by,
                    anchor=f"adverse-event-{a.id}",
                )
            )
    if discharged_at is not None:
        found.append(TimelineEntry(discharged_at, "end", "Discharged", anchor="discharge"))
    if ended_early_at is not None:
        found.append(
            TimelineEntry(
                ended_early_at, "end", "Ended as an emergency", anchor="emergency", critical=True
            )
        )
    # sorted() is stable: the order above settles entries at the same time.
    ordered = sorted(found, key=lambda entry: entry.at)
    return [_after_dose(entry, first_dose) for entry in ordered]


def _after_dose(entry: TimelineEntry, first_dose: datetime | None) -> TimelineEntry:
    if first_dose is None or entry.at < first_dose:
        return entry
    minutes = int((entry.at - first_dose) / timedelta(minutes=1))
    return TimelineEntry(**{**entry.__dict__, "minutes_after_dose": minutes})


def reading_words(v) -> str:
    """A reading as the room says it: "BP 122/78 · HR 72 · 36.8 °C · SpO2 98 %"."""
    parts = []
    if v.systolic is not None:
        parts.append(f"BP {v.systolic}/{v.diastolic}")
    if v.heart_rate is not None:
        parts.append(f"HR {v.heart_rate}")
    if v.temperature_c is not None:
        parts.append(f"{v.temperature_c:g} °C")
    if v.spo2 is not None:
        parts.append(f"SpO2 {v.spo2} %")
    words = " · ".join(parts)
    # Where it came from when not typed in the room: "pulse oximeter", "monitor (scenario)".
    source = getattr(v, "source", "")
    return f"{words} ({source})" if source else words


def current_stage(
    first_dose_at: datetime | None,
    earliest_discharge: datetime | None,
    ended_at: datetime | None,
    now: datetime,
) -> str:
    """Where the session is: "before" the dose, "during" the monitoring, "after" once the
    minimum duration has run (or the session ended, by discharge or as an emergency)."""
    if ended_at is not None:
        return "after"
    if first_dose_at is None:
        return "before"
    if earliest_discharge is not None and now >= earliest_discharge:
        return "after"
    return "during"


def stages_from(current: str) -> tuple[str, ...]:
    """The checklist's stages with the current one first, then those still to come, then
    the ones already past (what is left of them is still to be done, so they stay)."""
    at = STAGES.index(current)
    return STAGES[at:] + STAGES[:at]
