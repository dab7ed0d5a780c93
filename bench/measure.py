"""Drives a page with several concurrent simulated users and summarises what they saw.

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

    def as_json(self, baseline_p50_ms: float) -> dict:
        return {
            "page": self.page,
            "requests": self.requests,
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "queries": self.queries,
            "ratio_p50": round(self.p50_ms / baseline_p50_ms, 2),
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


def measure_page(
    address: tuple[str, int],
    page: Page,
    users: list[Member],
    requests: int,
    clients: int,
    warmup: int,
    deadline_seconds: float,
) -> PageResult:
    if page.role is not None and not users:
        raise SystemExit(f"{page.name}: the seeded network has no {page.role.value} with patients")
    users = users or [ANONYMOUS]
    clients = max(1, min(clients, requests))
    samples: list[list[_Sample]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    deadline: list[float] = []
    # Every user is logged in and warmed up before the clock starts, all at once.
    ready = threading.Barrier(
        clients + 1,
        action=lambda: deadline.append(time.monotonic() + deadline_seconds),
        timeout=deadline_seconds,
    )

    def client(i: int) -> None:
        browser = Browser(*address)
        try:
            user = users[i % len(users)]
            if page.role is not None:
                browser.log_in(user.email, BENCH_PASSWORD)
            for n in range(warmup):  # fill the workers' caches, as a clinic's day would have
                _visit(browser, page, Visit(n, user))
            ready.wait()
            for n in range(i, requests, clients):
                if time.monotonic() > deadline[0]:
                    break
                samples[i].append(_visit(browser, page, Visit(n // clients + warmup, user)))
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            ready.abort()
        finally:
            browser.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        pass  # a client failed: its error is reported below
    for thread in threads:
        thread.join(deadline_seconds + 60)
    if errors:
        raise RuntimeError(f"{page.name}: {errors[0]}") from errors[0]
    done = [s for per_client in samples for s in per_client]
    if not done:
        raise RuntimeError(f"{page.name}: no request finished before the deadline")
    millis = [s.seconds * 1000 for s in done]
    counts = [s.queries for s in done if s.queries is not None]
    return PageResult(
        page=page.name,
        requests=len(done),
        p50_ms=percentile(millis, 50),
        p95_ms=percentile(millis, 95),
        queries=max(counts) if counts else None,
        bytes=int(statistics.median(s.size for s in done)),
    )


def _visit(browser: Browser, page: Page, visit: Visit) -> _Sample:
    if page.prepare is not None:
        page.prepare(browser, visit)
    form = page.form(visit) if page.form is not None else None
    response = browser.request(page.method, page.path(visit), form, expect=page.expect)
    return _Sample(response.seconds, response.queries, len(response.body))
