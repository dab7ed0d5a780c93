"""Drives each page with several concurrent simulated users and summarises what they saw.

Each user is a thread with its own Browser (connection, cookies, login). Loops are bounded in
count (the fixed number of requests per page) and in time (a deadline per page).
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

from bench.browser import Browser
from bench.cast import Member
from bench.network import BENCH_PASSWORD
from bench.pages import Page, Visit

ANONYMOUS = Member(0, "", None, (0,))


@dataclass(frozen=True)
class PageResult:
    page: str
    requests: int
    p50_ms: float
    p95_ms: float
    queries: int | None  # the most statements any request of the page ran
    bytes: int  # median body size

    def as_json(self, baseline: PageResult) -> dict:
        return {
            "page": self.page,
            "requests": self.requests,
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "queries": self.queries,
            "ratio_p50": round(self.p50_ms / baseline.p50_ms, 2),
            "ratio_p95": round(self.p95_ms / baseline.p95_ms, 2),
        }


@dataclass
class _Sample:
    seconds: float
    queries: int | None
    size: int


def percentile(values: list[float], pct: int) -> float:
    """Nearest-rank percentile (no interpolation: every figure is a real request)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[rank - 1]


class Crowd:
    """The simulated users of one page: logged in and warmed up once, then measured in rounds.

    Rounds let every page and the baseline take turns, so a machine that gets busier or quieter
    during the run (other processes, a CI job) weighs on all of them alike, not on one.
    """

    def __init__(
        self,
        address: tuple[str, int],
        page: Page,
        users: list[Member],
        clients: int,
        warmup: int,
        deadline_seconds: float,
    ):
        if page.role is not None and not users:
            raise SystemExit(f"{page.name}: the network has no {page.role.value} with patients")
        self.page = page
        self._users = [users[i % len(users)] if users else ANONYMOUS for i in range(clients)]
        self._browsers = [Browser(*address) for _ in range(clients)]
        self._next_visit = [0] * clients
        self._samples: list[_Sample] = []
        self._seconds_left = deadline_seconds
        self.warm_sizes: list[int] = []
        in_parallel(clients, self._get_ready, warmup)

    def _get_ready(self, i: int, warmup: int) -> None:
        if self.page.role is not None:
            self._browsers[i].log_in(self._users[i].email, BENCH_PASSWORD)
        for _ in range(warmup):  # fill the workers' caches, as a clinic's day would have
            self.warm_sizes.append(self._visit(i).size)

    def _visit(self, i: int) -> _Sample:
        visit = Visit(self._next_visit[i], self._users[i], i, len(self._browsers))
        self._next_visit[i] += 1
        page, browser = self.page, self._browsers[i]
        if page.prepare is not None:
            page.prepare(browser, visit)
        form = page.form(visit) if page.form is not None else None
        response = browser.request(page.method, page.path(visit), form, expect=page.expect)
        return _Sample(response.seconds, response.queries, len(response.body))

    def run(self, requests: int) -> None:
        """`requests` timed requests, shared by the users, all starting together."""
        if self._seconds_left <= 0:
            return
        clients = len(self._browsers)
        deadline = time.monotonic() + self._seconds_left
        start = time.monotonic()

        def share(i: int) -> None:
            for _ in range(i, requests, clients):
                if time.monotonic() > deadline:
                    return
                self._samples.append(self._visit(i))

        in_parallel(clients, share)
        self._seconds_left -= time.monotonic() - start

    def result(self) -> PageResult:
        done = self._samples
        if not done:
            raise RuntimeError(f"{self.page.name}: no request finished before the deadline")
        millis = [s.seconds * 1000 for s in done]
        counts = [s.queries for s in done if s.queries is not None]
        return PageResult(
            page=self.page.name,
            requests=len(done),
            p50_ms=percentile(millis, 50),
            p95_ms=percentile(millis, 95),
            queries=max(counts) if counts else None,
            bytes=int(statistics.median(s.size for s in done)),
        )

    def close(self) -> None:
        for browser in self._browsers:
            browser.close()


def in_parallel(clients: int, work, *args) -> None:
    """Run work(i, *args) on `clients` threads released together; re-raise the first error."""
    errors: list[BaseException] = []
    start = threading.Barrier(clients, timeout=120)

    def client(i: int) -> None:
        try:
            start.wait()
            work(i, *args)
        except BaseException as error:  # reported by the calling thread
            errors.append(error)
            start.abort()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{errors[0]}") from errors[0]
