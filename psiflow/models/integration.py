"""Integration after dosing: session notes, safety check-ins and the patient's action items."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow import catalog
from psiflow.domain.dosing import DoseKind
from psiflow.domain.instruments import score_instrument
from psiflow.domain.phases import Phase
from psiflow.domain.safety import CHECK_IN_SIGNALS, CheckInVerdict, check_in_day, judge_check_in
from psiflow.domain.schedule import (
    AFTER_DOSING_PREFIX,
    FOLLOW_UP_PREFIX,
    Done,
    follow_up_timepoint,
)
from psiflow.domain.signing import Meaning, RecordStatus, SigningRefused
from psiflow.extensions import db
from psiflow.models.alerts import AlertKind, raise_alert
from psiflow.models.courses import Course, PhaseTransition, fact_source
from psiflow.models.dosing import DoseAdministration, DosingSession
from psiflow.models.measures import MeasureResponse, record_measure
from psiflow.models.records import ClinicalRecord, sign_record
from psiflow.models.statements import COURSE_IDS
from psiflow.models.types import UTCDateTime, enum_column, utcnow

# The suicidality screen given where a protocol sets risk_screen_at_integration.
RISK_SCREEN = "cssrs"

# What patients most often work through after a session; free text says the rest.
EMOTIONS = (
    ("grief", "Grief or loss"),
    ("fear", "Fear or anxiety"),
    ("anger", "Anger"),
    ("shame", "Shame or guilt"),
    ("joy", "Joy"),
    ("love", "Love or connection"),
    ("awe", "Awe"),
    ("relief", "Relief"),
    ("confusion", "Confusion"),
    ("sadness", "Sadness"),
)

integration_session_measures = sa.Table(
    "integration_session_measures",
    db.metadata,
    sa.Column("integration_session_id", sa.ForeignKey("integration_sessions.id"), primary_key=True),
    sa.Column(
        "measure_response_id", sa.ForeignKey("measure_responses.id"), primary_key=True, index=True
    ),
)


class IntegrationSession(ClinicalRecord, db.Model):
    """A session note after dosing: what the patient is integrating and what they will do."""

    __tablename__ = "integration_sessions"
    record_type = "integration_session"
    record_label = "Integration session"
    edit_endpoint = "integration.edit_session"

    duration_minutes: so.Mapped[int | None]
    themes: so.Mapped[str] = so.mapped_column(sa.Text, default="")  # themes and insights
    emotions: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)  # EMOTIONS ids
    emotions_notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    meaning_made: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    risk_notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    plan_next_session: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # The safety check-in and the C-SSRS given at the start of this session.
    check_in_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("safety_check_ins.id"), index=True
    )
    risk_screen_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("measure_responses.id"), index=True
    )

    check_in: so.Mapped[SafetyCheckIn | None] = so.relationship(foreign_keys=[check_in_id])
    risk_screen: so.Mapped[MeasureResponse | None] = so.relationship(foreign_keys=[risk_screen_id])
    measures_given: so.Mapped[list[MeasureResponse]] = so.relationship(
        secondary=integration_session_measures, order_by=MeasureResponse.occurred_at
    )

    def content(self) -> dict:
        # The signature binds the linked measures and the action plan too, not only columns.
        content = super().content()
        content["measures_given"] = sorted(m.id for m in self.measures_given)
        items = (
            db.session.scalars(
                sa.select(ActionItem)
                .where(
                    sa.or_(ActionItem.created_in_id == self.id, ActionItem.closed_in_id == self.id)
                )
                .order_by(ActionItem.id)
            ).all()
            if self.id is not None
            else []
        )
        content["action_items"] = [
            [i.id, i.text, i.status.value if i.closed_in_id == self.id else "open"] for i in items
        ]
        return content

    def missing_for_signing(self) -> list[str]:
        missing = []
        if not self.duration_minutes:
            missing.append("Duration")
        if not self.themes.strip():
            missing.append("Themes and insights")
        if not self.plan_next_session.strip():
            missing.append("Plan for the next session")
        if self.check_in_id is None:
            missing.append("Safety check-in at the start of the session")
        if self.course.protocol.risk_screen_at_integration and self.risk_screen_id is None:
            missing.append("Risk screen (C-SSRS) at the start of the session")
        return missing

    @property
    def emotion_labels(self) -> list[str]:
        labels = dict(EMOTIONS)
        return [labels.get(e, e) for e in self.emotions or []]


class Sleep(enum.StrEnum):
    AS_USUAL = "as_usual"
    SOMEWHAT_DISTURBED = "somewhat_disturbed"
    BADLY_DISTURBED = "badly_disturbed"

    @property
    def label(self) -> str:
        return {
            "as_usual": "As usual",
            "somewhat_disturbed": "Somewhat disturbed",
            "badly_disturbed": "Badly disturbed",
        }[self.value]


class CheckInContext(enum.StrEnum):
    INTEGRATION_SESSION = "integration_session"
    CALL = "call"

    @property
    def label(self) -> str:
        return {"integration_session": "Start of an integration session", "call": "Scheduled call"}[
            self.value
        ]


class SafetyCheckIn(ClinicalRecord, db.Model):
    """Recorded and signed in one step, so a positive answer alerts the supervisor at once."""

    __tablename__ = "safety_check_ins"
    record_type = "safety_check_in"
    record_label = "Safety check-in"

    context: so.Mapped[CheckInContext] = so.mapped_column(enum_column(CheckInContext))
    # Which scheduled call this was: the dosing session it follows and the protocol day.
    dosing_number: so.Mapped[int | None]
    scheduled_day: so.Mapped[int | None]
    serious_events: so.Mapped[bool] = so.mapped_column(default=False)
    serious_events_detail: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    sleep: so.Mapped[Sleep] = so.mapped_column(enum_column(Sleep), default=Sleep.AS_USUAL)
    substance_use: so.Mapped[bool] = so.mapped_column(default=False)
    substance_use_detail: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    back_to_normal: so.Mapped[bool] = so.mapped_column(default=True)
    suicidal_thoughts: so.Mapped[bool] = so.mapped_column(default=False)
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    def signals(self) -> list[str]:
        """The positive answers, by their ids in `domain.safety.CHECK_IN_SIGNALS`."""
        answered = {
            "serious_events": self.serious_events,
            "badly_disturbed_sleep": self.sleep == Sleep.BADLY_DISTURBED,
            "substance_use": self.substance_use,
            "not_back_to_normal": not self.back_to_normal,
            "suicidal_thoughts": self.suicidal_thoughts,
        }
        return [signal for signal in CHECK_IN_SIGNALS if answered[signal]]

    def concerns(self) -> list[str]:
        """The positive answers, in words; `judged` says which of them alert."""
        return [CHECK_IN_SIGNALS[signal] for signal in self.signals()]

    def judged(self, doses=None) -> CheckInVerdict:
        """Which answers alert the supervisor and which the protocol expects on this day after
        dosing (`domain.safety.judge_check_in`); the course's dose times are read when not
        given."""
        if doses is None:
            doses = dosing_times([self.course_id])[self.course_id]
        day = check_in_day(self.occurred_at, doses, self.scheduled_day)
        return judge_check_in(self.signals(), day, self.course.protocol.check_in_expected)

    @property
    def when_label(self) -> str:
        if self.context == CheckInContext.CALL and self.scheduled_day is not None:
            return f"day {self.scheduled_day} call after dosing {self.dosing_number}"
        return self.context.label.lower()


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"

    @property
    def label(self) -> str:
        return {"open": "Open", "done": "Done", "dropped": "Dropped"}[self.value]


class ActionItem(db.Model):
    """A behavioural commitment: made in one session, carried forward until a later session
    marks it done or dropped."""

    __tablename__ = "action_items"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    created_in_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("integration_sessions.id"), index=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    status: so.Mapped[ActionStatus] = so.mapped_column(
        enum_column(ActionStatus), default=ActionStatus.OPEN, index=True
    )
    closed_in_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("integration_sessions.id"), index=True
    )
    closed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    created_in: so.Mapped[IntegrationSession] = so.relationship(foreign_keys=[created_in_id])
    closed_in: so.Mapped[IntegrationSession | None] = so.relationship(foreign_keys=[closed_in_id])


# --- operations (the caller has checked access and commits) --------------------------------


def standing_items(select):
    """`select` (of action items) narrowed to the items whose note stands: a voided note's
    action plan is void with it. On the tables, so a column statement stays a Core one."""
    items, notes = ActionItem.__table__, IntegrationSession.__table__
    return select.join(notes, notes.c.id == items.c.created_in_id).where(
        notes.c.voided_at.is_(None)
    )


def open_action_items(course_ids, before: IntegrationSession | None = None):
    """Items still open in these courses, from notes that were not voided (oldest first).

    With `before` (a draft note): also the items that very draft closed, since it may still
    change its mind, and never the items it created itself.
    """
    query = (
        standing_items(sa.select(ActionItem))
        .where(ActionItem.course_id.in_(list(course_ids)))
        .order_by(ActionItem.created_at, ActionItem.id)
    )
    if before is not None:
        query = query.where(
            ActionItem.created_in_id != before.id,
            sa.or_(ActionItem.status == ActionStatus.OPEN, ActionItem.closed_in_id == before.id),
        )
    else:
        query = query.where(ActionItem.status == ActionStatus.OPEN)
    return db.session.scalars(query).all()


def update_action_plan(
    note: IntegrationSession,
    reviewed: dict[int, ActionStatus],
    new_items: list[str],
    now: datetime | None = None,
    carried: list[ActionItem] | None = None,
) -> None:
    """Mark carried-forward items and add the note's new commitments (drafts only).

    `carried`: `open_action_items([note.course_id], before=note)` if the caller has it.
    """
    if note.is_signed or note.is_voided:
        raise SigningRefused(["The note is signed: its action plan is part of what was signed."])
    now = now or utcnow()
    if carried is None:
        carried = open_action_items([note.course_id], before=note)
    carried = {i.id: i for i in carried}
    for item_id, status in reviewed.items():
        item = carried.get(item_id)
        if item is None:
            continue
        if status == ActionStatus.OPEN:
            item.status, item.closed_in_id, item.closed_at = status, None, None
        else:
            item.status, item.closed_in_id, item.closed_at = status, note.id, now
    for text in new_items:
        if text.strip():
            db.session.add(
                ActionItem(
                    course_id=note.course_id,
                    text=text.strip(),
                    created_in_id=note.id,
                    created_at=now,
                )
            )


def remove_draft_items(
    note: IntegrationSession, keep_ids: set[int], own: list[ActionItem] | None = None
) -> None:
    """Items a draft created and the clinician has since cleared from the form.

    `own`: `items_created_in(note)` if the caller has it.
    """
    if note.is_signed:
        raise SigningRefused(["The note is signed: its action plan is part of what was signed."])
    for item in items_created_in(note) if own is None else own:
        if item.id not in keep_ids:
            # Only ever a draft's own new item: nothing signed refers to it yet.
            db.session.delete(item)


def items_created_in(note: IntegrationSession) -> list[ActionItem]:
    return db.session.scalars(
        sa.select(ActionItem).where(ActionItem.created_in_id == note.id).order_by(ActionItem.id)
    ).all()


# The schedule's reads run on every board and patient page: built once, the course ids bound
# at each execution (building and keying a statement cost more than running it).
def _dosing_times_statement():
    # Doses and stand-in transitions in one statement, so a page reads them with the same
    # number of queries whichever kind its courses have.
    doses = sa.select(
        DosingSession.course_id,
        DoseAdministration.given_at.label("at"),
        sa.literal(0).label("stand_in"),
        DoseAdministration.id.label("tie"),
    ).where(
        DoseAdministration.session_id == DosingSession.id,
        DosingSession.course_id.in_(COURSE_IDS),
        DosingSession.voided_at.is_(None),
        DoseAdministration.kind == DoseKind.INITIAL,
    )
    stand_ins = sa.select(
        PhaseTransition.course_id,
        PhaseTransition.at,
        sa.literal(1),
        PhaseTransition.id,
    ).where(
        PhaseTransition.course_id.in_(COURSE_IDS),
        PhaseTransition.from_phase == Phase.DOSING,
        PhaseTransition.to_phase == Phase.INTEGRATION,
    )
    both = sa.union_all(doses, stand_ins).subquery()
    return sa.select(both).order_by(both.c.stand_in, both.c.at, both.c.tie)


_DOSING_TIMES_SQL = _dosing_times_statement()
_NOTE_TIMES_SQL = sa.select(IntegrationSession.course_id, IntegrationSession.occurred_at).where(
    IntegrationSession.course_id.in_(COURSE_IDS), IntegrationSession.voided_at.is_(None)
)
# Only the schedule's timepoints, once each: baselines and repeats are most of the rows.
_SCHEDULED_MEASURES_SQL = (
    sa.select(MeasureResponse.course_id, MeasureResponse.instrument_id, MeasureResponse.timepoint)
    .where(
        MeasureResponse.course_id.in_(COURSE_IDS),
        MeasureResponse.voided_at.is_(None),
        MeasureResponse.status != RecordStatus.DRAFT,
        sa.or_(
            MeasureResponse.timepoint.startswith(AFTER_DOSING_PREFIX, autoescape=True),
            MeasureResponse.timepoint.startswith(FOLLOW_UP_PREFIX, autoescape=True),
        ),
    )
    .distinct()
)
_SCHEDULED_CALLS_SQL = (
    sa.select(SafetyCheckIn.course_id, SafetyCheckIn.dosing_number, SafetyCheckIn.scheduled_day)
    .where(
        SafetyCheckIn.course_id.in_(COURSE_IDS),
        SafetyCheckIn.voided_at.is_(None),
        SafetyCheckIn.scheduled_day.is_not(None),
    )
    .distinct()
)


def dosing_times(course_ids, connection=None) -> dict[int, list[datetime]]:
    """When each dose was given, per course, oldest first: the initial dose of every dosing
    session that was not voided. A course whose dosing was recorded outside PsiFlow (the
    gate overridden) has no session: its dosing -> integration transitions stand in.

    `connection`: a session or connection to read through (the app's session by default).
    """
    execute = (db.session if connection is None else connection).execute
    ids = list(course_ids)
    dosed: dict[int, list[datetime]] = {cid: [] for cid in ids}
    moved: dict[int, list[datetime]] = {cid: [] for cid in ids}
    for course_id, at, stand_in, _tie in execute(_DOSING_TIMES_SQL, {"course_ids": ids}):
        (moved if stand_in else dosed)[course_id].append(at)
    return {cid: dosed[cid] or moved[cid] for cid in ids}


def schedule_done(courses, connection=None) -> dict[int, Done]:
    """What the schedule needs to know about many courses, in a fixed number of queries.

    `courses`: anything with an `id`. `connection`: as for `dosing_times`. Keep
    `psiflow.models.stored.attention.FEEDS` in step with what is read here.
    """
    execute = (db.session if connection is None else connection).execute
    ids = [c.id for c in courses]
    bound = {"course_ids": ids}
    doses = dosing_times(ids, connection)
    notes: dict[int, list[datetime]] = {cid: [] for cid in ids}
    for course_id, at in execute(_NOTE_TIMES_SQL, bound):
        notes[course_id].append(at)
    measures: dict[int, set] = {cid: set() for cid in ids}
    for course_id, instrument_id, timepoint in execute(_SCHEDULED_MEASURES_SQL, bound):
        measures[course_id].add((instrument_id, timepoint))
    calls: dict[int, set] = {cid: set() for cid in ids}
    for course_id, number, day in execute(_SCHEDULED_CALLS_SQL, bound):
        calls[course_id].add((number, day))
    return done_from(ids, doses, notes, measures, calls)


def done_from(ids, doses, notes, measures, calls) -> dict[int, Done]:
    """Each course's `Done` from what was read of it, per course id: dose times (oldest
    first), note times, (instrument, timepoint) given, (dosing number, day) called."""
    return {
        cid: Done(
            dosing_times=tuple(doses[cid]),
            integration_times=tuple(sorted(notes[cid])),
            measures=frozenset(measures[cid]),
            check_ins=frozenset(calls[cid]),
        )
        for cid in ids
    }


def instrument_names() -> dict[str, str]:
    return {iid: i.short_name for iid, i in catalog.instruments().items()}


_LAST_DOSING = (
    sa.select(PhaseTransition.course_id, sa.func.max(PhaseTransition.at).label("at"))
    .where(
        PhaseTransition.course_id.in_(COURSE_IDS),
        PhaseTransition.from_phase == Phase.DOSING,
        PhaseTransition.to_phase == Phase.INTEGRATION,
    )
    .group_by(PhaseTransition.course_id)
    .subquery()
)
# Counted in SQL against each course's last dosing: one query and a row per course.
_SESSIONS_SINCE_DOSING_SQL = (
    sa.select(IntegrationSession.course_id, sa.func.count())
    .join(_LAST_DOSING, _LAST_DOSING.c.course_id == IntegrationSession.course_id)
    .where(IntegrationSession.counting(), IntegrationSession.occurred_at >= _LAST_DOSING.c.at)
    .group_by(IntegrationSession.course_id)
)


@fact_source("integration_sessions_since_last_dosing")
def integration_facts(courses: list[Course], connection=None) -> dict[int, dict]:
    since = (connection or db.session).execute(
        _SESSIONS_SINCE_DOSING_SQL, {"course_ids": [c.id for c in courses]}
    )
    return {course_id: {"integration_sessions_since_last_dosing": n} for course_id, n in since}


_FINAL_MEASURES_SQL = sa.select(
    MeasureResponse.course_id, MeasureResponse.instrument_id, MeasureResponse.timepoint
).where(
    MeasureResponse.course_id.in_(COURSE_IDS),
    MeasureResponse.timepoint.in_(sa.bindparam("timepoints", expanding=True)),
    MeasureResponse.counting(),
)


@fact_source("final_follow_up_recorded", "missing_follow_up_measures")
def follow_up_facts(courses: list[Course], connection=None) -> dict[int, dict]:
    """The final follow-up: the last of the protocol's follow-up weeks, every follow-up measure."""
    final = {c.id: follow_up_timepoint(c.protocol.follow_up_weeks[-1]) for c in courses}
    given: dict[int, set[str]] = {cid: set() for cid in final}
    for course_id, instrument_id, timepoint in (connection or db.session).execute(
        _FINAL_MEASURES_SQL,
        {"course_ids": list(final), "timepoints": sorted(set(final.values()))},
    ):
        if timepoint == final[course_id]:
            given[course_id].add(instrument_id)
    names = instrument_names()
    facts = {}
    for course in courses:
        missing = tuple(
            names.get(i, i) for i in course.protocol.follow_up_measures if i not in given[course.id]
        )
        facts[course.id] = {
            "final_follow_up_recorded": not missing,
            "missing_follow_up_measures": missing,
        }
    return facts


# --- recording (the caller has checked access and commits once) -----------------------------


def record_check_in(
    course: Course,
    author,
    *,
    occurred_at: datetime,
    context: CheckInContext,
    answers: dict,
    dosing_number: int | None = None,
    scheduled_day: int | None = None,
) -> SafetyCheckIn:
    """A check-in, signed as it is saved; any positive answer alerts the supervisor at once."""
    check_in = SafetyCheckIn(
        course=course,
        author=author,
        occurred_at=occurred_at,
        context=context,
        dosing_number=dosing_number,
        scheduled_day=scheduled_day,
        status=RecordStatus.DRAFT,
        **answers,
    )
    db.session.add(check_in)
    db.session.flush()  # the signature needs the record's id and author
    sign_record(check_in, author, Meaning.AUTHORED)
    # What the protocol expects on this day after dosing (not back to normal activities on
    # the dosing day) is recorded and shown, but alerts no one: alert fatigue hides dangers.
    verdict = check_in.judged()
    if verdict.alert:
        raise_alert(
            course,
            AlertKind.SAFETY_CHECK_IN,
            f"Safety check-in ({check_in.when_label}): " + "; ".join(verdict.alert) + ".",
            source=check_in,
            by=author,
        )
    return check_in


def record_risk_screen(
    course: Course, author, answers: dict, occurred_at: datetime, timepoint: str = "integration"
) -> MeasureResponse:
    """The C-SSRS screener, scored and signed as it is saved; moderate or high risk alerts."""
    instrument = catalog.instruments()[RISK_SCREEN]
    score = score_instrument(instrument, answers)
    screen = record_measure(
        course, author, instrument, timepoint, answers, score, occurred_at, signed_at=utcnow()
    )
    if score.alert:
        raise_alert(
            course,
            AlertKind.SUICIDE_RISK,
            f"{instrument.short_name} at an integration session: {score.risk} risk.",
            source=screen,
            by=author,
        )
    return screen


def start_integration_session(
    course: Course,
    author,
    *,
    occurred_at: datetime,
    check_in_answers: dict,
    risk_answers: dict | None,
) -> IntegrationSession:
    """Open a session: the safety check-in and (where the protocol asks) the risk screen are
    signed first, so their alerts go out before the note is written; the note is a draft."""
    check_in = record_check_in(
        course,
        author,
        occurred_at=occurred_at,
        context=CheckInContext.INTEGRATION_SESSION,
        answers=check_in_answers,
    )
    screen = None
    if risk_answers is not None:
        screen = record_risk_screen(course, author, risk_answers, occurred_at)
    note = IntegrationSession(
        course=course, author=author, occurred_at=occurred_at, check_in=check_in, risk_screen=screen
    )
    db.session.add(note)
    db.session.flush()
    return note


def eligible_measures(note: IntegrationSession) -> list[MeasureResponse]:
    """Measures a note may list as given: the course's, not listed by another note."""
    taken = sa.select(integration_session_measures.c.measure_response_id).where(
        integration_session_measures.c.integration_session_id != note.id
    )
    query = (
        sa.select(MeasureResponse)
        .where(
            MeasureResponse.course_id == note.course_id,
            MeasureResponse.voided_at.is_(None),
            MeasureResponse.id.not_in(taken),
        )
        .order_by(MeasureResponse.occurred_at.desc())
    )
    if note.risk_screen_id is not None:  # the note's own screen is part of it already
        query = query.where(MeasureResponse.id != note.risk_screen_id)
    return db.session.scalars(query).all()


@dataclass(frozen=True)
class NoteRows:
    """What a draft note's form offers: the items carried into it, the items it created and
    the measures it may list."""

    carried: list[ActionItem]
    own: list[ActionItem]
    eligible: list[MeasureResponse]


def note_rows(note: IntegrationSession) -> NoteRows:
    return NoteRows(
        carried=open_action_items([note.course_id], before=note),
        own=items_created_in(note),
        eligible=eligible_measures(note),
    )


def save_note(
    note: IntegrationSession,
    fields: dict,
    *,
    reviewed: dict[int, ActionStatus],
    own_items: dict[int, str],
    new_items: list[str],
    measure_ids: set[int],
    now: datetime | None = None,
    loaded: NoteRows | None = None,
) -> None:
    """Save a draft note with its action plan and the measures it lists.

    `loaded`: the note's rows as the caller read them for its form in this transaction
    (a save then reads each once); read here when not given.
    """
    if note.is_signed or note.is_voided:
        raise SigningRefused(["The note is signed: change it with an addendum, not an edit."])
    loaded = loaded or note_rows(note)
    for name, value in fields.items():
        setattr(note, name, value)
    for item in loaded.own:
        text = own_items.get(item.id, "").strip()
        if text:
            item.text = text
    remove_draft_items(note, {i for i, t in own_items.items() if t.strip()}, own=loaded.own)
    update_action_plan(note, reviewed, new_items, now=now, carried=loaded.carried)
    eligible = {m.id: m for m in loaded.eligible}
    note.measures_given = [eligible[i] for i in sorted(measure_ids) if i in eligible]
