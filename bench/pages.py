"""The pages the benchmark measures: one line each in `PAGES`.

A page names who uses it (a clinician or a supervisor, logged in through the real form), the
URL for a visit and, for a form, what is posted (the session's CSRF token is added) and the
status a successful request answers (a post that fails validation answers 422, not 302, and
stops the run). What a visit needs from the network (a session under way, a draft note) comes
from the cast (bench/cast.py) through `Visit`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bench.baseline_app import BASELINE_PREFIX
from bench.browser import Browser
from bench.cast import Member
from bench.network import BENCH_PASSWORD
from psiflow.access import Role


@dataclass(frozen=True)
class Visit:
    """One request of one simulated user: the n-th this user makes of a page."""

    n: int
    user: Member
    client: int = 0  # which of the page's concurrent users makes it
    clients: int = 1

    @property
    def patient_id(self) -> int:
        """One of the user's own patients, a different one on each visit."""
        return self.user.patient_ids[self.n % len(self.user.patient_ids)]

    def _pick(self, values: tuple, what: str):
        if not values:
            raise SystemExit(f"{self.user.email} has no {what} in the seeded network")
        # Concurrent users of one account take turns through its records, never the same one
        # at once (one note is written by one clinician at a time).
        return values[(self.n * self.clients + self.client) % len(values)]

    @property
    def live_session_id(self) -> int:
        """A dosing session under way on one of the user's patients."""
        return self._pick(self.user.live_session_ids, "dosing session under way")

    @property
    def draft_note(self) -> tuple[int, dict]:
        return self._pick(self.user.draft_notes, "draft integration note")

    @property
    def course_id(self) -> int:
        return self._pick(self.user.course_ids, "course")

    @property
    def long_history_patient_id(self) -> int:
        return self.user.long_history_patient_id


@dataclass(frozen=True)
class Page:
    name: str
    role: Role | None  # None: no login (the baseline)
    path: Callable[[Visit], str]
    form: Callable[[Visit], dict] | None = None  # a POST of this form; a GET without one
    expect: int = 200
    # Untimed, before each request: what a user does before it (e.g. open the login form).
    prepare: Callable[[Browser, Visit], None] | None = None
    # Target: p95 at most this many times the baseline's. Issue 7 holds a bedside write (posting
    # a vitals reading) to 2x: `max_ratio=2.0` on its line.
    max_ratio: float = 3.0
    # Which users can make this request (e.g. those with a session under way); all by default.
    needs: Callable[[Member], object] | None = None

    @property
    def method(self) -> str:
        return "GET" if self.form is None else "POST"


def _open_login_form(browser: Browser, visit: Visit) -> None:
    browser.forget_session()
    browser.request("GET", "/login", expect=200)


# The version each draft note's edit page showed last (a save carries it, as the page's form
# does; a save with an older one is refused as stale). Concurrent users never share a note.
_NOTE_VERSIONS: dict[int, str] = {}


def _open_note(browser: Browser, visit: Visit) -> None:
    note_id = visit.draft_note[0]
    page = browser.request("GET", f"/integration/integration_session/{note_id}/edit", expect=200)
    found = re.search(rb'name="version"[^>]*value="(\d+)"', page.body) or re.search(
        rb'value="(\d+)"[^>]*name="version"', page.body
    )
    _NOTE_VERSIONS[note_id] = found.group(1).decode() if found else ""


# A draft integration note as the clinician saves it partway through writing it.
_NOTE = {
    "duration_minutes": 60,
    "themes": "Grief for the years lost; first anger at the father.",
    "meaning_made": "I was not to blame for what happened at home.",
    "plan_next_session": "Return to the letter to the father.",
}

PAGES: tuple[Page, ...] = (
    Page(
        "login",
        Role.CLINICIAN,
        lambda v: "/login",
        expect=302,
        prepare=_open_login_form,
        form=lambda v: {"email": v.user.email, "password": BENCH_PASSWORD},
    ),
    Page("clinician board", Role.CLINICIAN, lambda v: "/"),
    Page("clinician closed courses", Role.CLINICIAN, lambda v: "/?view=closed"),
    Page("supervisor board", Role.SUPERVISOR, lambda v: "/"),
    Page("supervisor phase list", Role.SUPERVISOR, lambda v: "/?phase=integration&page=2"),
    Page("patient page", Role.CLINICIAN, lambda v: f"/patients/{v.patient_id}"),
    Page("long history", Role.CLINICIAN, lambda v: f"/patients/{v.long_history_patient_id}"),
    Page(
        "live session",
        Role.CLINICIAN,
        lambda v: f"/dosing-sessions/{v.live_session_id}",
        needs=lambda m: m.live_session_ids,
    ),
    Page(
        "post vitals",
        Role.CLINICIAN,
        lambda v: f"/dosing-sessions/{v.live_session_id}/vitals",
        form=lambda v: {"systolic": 128, "diastolic": 82, "heart_rate": 88, "spo2": 97},
        expect=302,
        max_ratio=2.0,
        needs=lambda m: m.live_session_ids,
    ),
    Page(
        "save note",
        Role.CLINICIAN,
        lambda v: f"/integration/integration_session/{v.draft_note[0]}/edit",
        form=lambda v: {**_NOTE, **v.draft_note[1], "version": _NOTE_VERSIONS[v.draft_note[0]]},
        expect=302,
        prepare=_open_note,
        needs=lambda m: m.draft_notes,
    ),
    Page("review queue", Role.SUPERVISOR, lambda v: "/supervision/reviews"),
    Page("team outcomes", Role.SUPERVISOR, lambda v: "/supervision/outcomes"),
    Page(
        "course export",
        Role.CLINICIAN,
        lambda v: f"/integration/courses/{v.course_id}/export.csv",
    ),
)

BASELINE = "baseline"


def baseline_page(size: int) -> Page:
    """The bare page of `size` bytes that every figure is compared with."""
    return Page(BASELINE, None, lambda v: f"{BASELINE_PREFIX}/?bytes={size}")
