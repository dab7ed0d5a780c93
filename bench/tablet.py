"""A facilitator's tablet in a dosing session under way: one simulated user on its own
logged-in connection, sending what the live page's script (static/room.js) sends, on the
session's schedule with its minutes scaled down to seconds.

Every entry carries a key and the time it was made (`entry_key`, `made_at`), as the script
sends them, and goes to the endpoint the page's form names. A share of the entries is sent
again with the same key, as a tablet does when its connection drops: after the answer came
(the answer was lost on the way back) or while the first send is still in flight (the tablet
gave up waiting and sent it again on a new connection). A send that gets no answer at all is
sent again with its key, up to three times. With `follow`, the tablet then opens the page the
answer sends it to, as the script does (it renews the live page from it); that view of the
patient's record is audited, so it appends to the chain too. Every send and its answer go
into the tablet's ledger, which the rows in the database are counted against afterwards
(bench/entry_count.py).
"""

from __future__ import annotations

import http.client
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bench.browser import Browser, Response
from bench.live_sessions import LiveSession
from bench.network import BENCH_PASSWORD
from psiflow.domain.dosing import EventKind
from psiflow.web.idempotency import RECEIPT_HEADER

RECORDED, REPEATED = "recorded", "repeated"
AFTER_ANSWER, IN_FLIGHT, NO_ANSWER = "after the answer", "in flight", "no answer"
# A send that got no answer (a timeout, a reset) is sent again this many times at most.
NO_ANSWER_RETRIES = 3


@dataclass(frozen=True)
class EntryKind:
    name: str
    every_minutes: int
    endpoint: str  # after /dosing-sessions/<id>/
    table: str  # where the entry is stored


# What the facilitators enter in a session under way, and how often (in session minutes).
SCHEDULE = (
    # The room's pulse oximeter: heart rate and SpO2 every minute (the seed notes them every 6).
    EntryKind("pulse oximetry", 1, "vitals", "vital_signs"),
    # Blood pressure, heart rate, temperature and SpO2: every 15 minutes is the densest
    # protocol schedule (ketamine, through the peak).
    EntryKind("vital signs", 15, "vitals", "vital_signs"),
    EntryKind("note", 10, "events", "session_events"),
    EntryKind("music change", 20, "events", "session_events"),
)


def offered_per_minute() -> float:
    """Entries one session sends per session minute."""
    return sum(1 / kind.every_minutes for kind in SCHEDULE)


@dataclass(frozen=True)
class Sent:
    """One send of an entry and its answer."""

    kind: str
    table: str
    session_id: int
    key: str
    made_at: datetime
    status: int  # 0: no answer came
    receipt: str | None  # what the server said of the key: recorded, or repeated
    seconds: float
    queries: int | None = None  # the SQL statements the server ran for it
    resend: str = ""  # "" for the first send; else why it was sent again
    late_seconds: float = 0.0  # behind the session's schedule when sent

    @property
    def succeeded(self) -> bool:
        return self.status == 302


class Tablet:
    def __init__(
        self,
        address: tuple[str, int],
        session: LiveSession,
        seed: int,
        minute_seconds: float,
        resend_share: float,
        follow: bool = False,
    ):
        self.session = session
        self._address = address
        self._browser = Browser(*address)
        self._twin = Browser(*address)  # the tablet's second connection, for a send in flight
        self._rng = random.Random(seed)
        self._minute_seconds = minute_seconds
        self._resend_share = resend_share
        self._follow = follow
        self._resends = 0
        self._last_made_at: datetime | None = None
        self.ledger: list[Sent] = []
        self.renewed: list[Response] = []  # the live page opened after each answer
        self.page_bytes = 0

    def open(self) -> None:
        """Log in through the real form and open the live page (its CSRF token, its size)."""
        self._browser.log_in(self.session.clinician.email, BENCH_PASSWORD)
        page = self._browser.request("GET", self._live_page(), expect=200)
        self.page_bytes = len(page.body)

    def close(self) -> None:
        self._browser.close()
        self._twin.close()

    def run(self, start: float, deadline: float) -> None:
        """Send the session's entries on schedule from `start` (time.monotonic) until
        `deadline`; behind schedule, the next is sent as soon as the last is answered."""
        # Sessions started at different times: each tablet is at its own minute of its
        # session, and its minutes fall at their own moment of the clock's.
        start += self._rng.uniform(0, self._minute_seconds)
        first = minute = self._rng.randrange(60)
        while True:
            due = start + (minute - first) * self._minute_seconds
            # Behind schedule (or with no pauses at all) the clock, not the schedule, ends it.
            if due >= deadline or time.monotonic() >= deadline:
                return
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            for kind in SCHEDULE:
                if minute % kind.every_minutes == 0:
                    self._send(kind, minute, max(0.0, time.monotonic() - due))
            minute += 1

    def _live_page(self) -> str:
        return f"/dosing-sessions/{self.session.id}"

    def _made_at(self) -> datetime:
        # Strictly later than the tablet's last entry: an entry is found again by its session
        # and its time (bench/entry_count.py).
        now = datetime.now(UTC)
        if self._last_made_at is not None and now <= self._last_made_at:
            now = self._last_made_at + timedelta(microseconds=1)
        self._last_made_at = now
        return now

    def _send(self, kind: EntryKind, minute: int, late: float) -> None:
        made_at = self._made_at()
        form = {
            **self._fields(kind, minute),
            "entry_key": str(uuid.uuid4()),
            "made_at": made_at.isoformat(),
        }
        resend = self._rng.random() < self._resend_share
        in_flight = resend and self._resends % 2 == 1
        if resend:
            self._resends += 1
        if in_flight:
            twin = threading.Thread(target=self._post, args=(kind, form, made_at, IN_FLIGHT, 0.0))
            self._twin.cookies = dict(self._browser.cookies)
            self._twin.csrf_token = self._browser.csrf_token
            twin.start()
            self._post(kind, form, made_at, "", late)
            twin.join()
        else:
            self._post(kind, form, made_at, "", late)
            if resend:
                self._post(kind, form, made_at, AFTER_ANSWER, 0.0)

    def _post(self, kind: EntryKind, form: dict, made_at: datetime, resend: str, late: float):
        browser = self._twin if resend == IN_FLIGHT else self._browser
        path = f"/dosing-sessions/{self.session.id}/{kind.endpoint}"
        for _ in range(NO_ANSWER_RETRIES + 1):
            started = time.perf_counter()
            try:
                answer = browser.request("POST", path, form)
                status, receipt, seconds = (
                    answer.status,
                    answer.headers.get(RECEIPT_HEADER),
                    answer.seconds,
                )
                queries = answer.queries
            except (OSError, http.client.HTTPException):
                # No answer: the tablet keeps the entry and sends it again on a new connection.
                browser.close()
                status, receipt, seconds = 0, None, time.perf_counter() - started
                queries = None
            self.ledger.append(
                Sent(
                    kind.name,
                    kind.table,
                    self.session.id,
                    form["entry_key"],
                    made_at,
                    status,
                    receipt,
                    seconds,
                    queries,
                    resend,
                    late,
                )
            )
            if status:
                if self._follow and status == 302 and answer.location:
                    self.renewed.append(self._renew(browser, answer.location))
                return
            resend = resend or NO_ANSWER

    @staticmethod
    def _renew(browser: Browser, location: str) -> Response:
        # What fetch() follows: the path and query, never the #fragment.
        parts = urlsplit(location)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return browser.request("GET", path, expect=200)

    def _fields(self, kind: EntryKind, minute: int) -> dict:
        """Readings inside every shipped protocol's limits: no flag, no alert to acknowledge."""
        rng = self._rng
        if kind.name == "pulse oximetry":
            return {"heart_rate": rng.randint(62, 96), "spo2": rng.randint(96, 99)}
        if kind.name == "vital signs":
            return {
                "systolic": rng.randint(112, 134),
                "diastolic": rng.randint(70, 84),
                "heart_rate": rng.randint(62, 96),
                "temperature_c": round(rng.uniform(36.5, 37.2), 1),
                "spo2": rng.randint(96, 99),
            }
        if kind.name == "note":
            return {
                "kind": EventKind.NOTE.value,
                "note": f"Minute {minute}: resting with eyeshades, breathing slow and even.",
            }
        return {
            "kind": EventKind.MUSIC_CHANGE.value,
            "playlist": "Johns Hopkins psilocybin playlist",
            "track": f"Track {minute // 20 + 1}",
        }
