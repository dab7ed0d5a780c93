"""The write scenario's figures: each kind of entry's latency against the baseline of the same
run (the table of bench/report.py), what was sent and stored, the audit chain's verdict and
how busy its head was; printed, and written to bench/last-writes.json."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.browser import Response
from bench.chain_watch import ChainLoad
from bench.entry_count import EntryCount
from bench.measure import PageResult, percentile
from bench.report import missed_targets, table
from bench.tablet import SCHEDULE, Sent
from psiflow.audit import ChainReport

SENT_AGAIN = "sent again (same key)"
RENEWED = "live page after each"
# The page a tablet with JavaScript opens after each answer is a page: 3x, as in bench.run.
PAGE_RATIO = 3.0


@dataclass(frozen=True)
class WriteRun:
    patients: int
    database: str
    seed_seconds: float | None
    workers: int
    sessions: int
    sessions_started: int  # of them, started through the app for this run
    seconds: float
    minute_seconds: float
    offered_per_second: float | None  # what the schedule asks for; None: as fast as answered
    ledger: list[Sent]
    renewed: list[Response]  # with --follow: the live page opened after each answer
    baseline: PageResult
    count: EntryCount
    chain: ChainReport
    verify_seconds: float
    chain_load: ChainLoad | None
    load_average: list[float]
    max_ratio: float

    @property
    def writes_per_second(self) -> float:
        """Entries stored per second of the run: each one a transaction that appended to the
        audit chain."""
        return self.count.stored / self.seconds

    def latencies(self) -> list[PageResult]:
        first = [s for s in self.ledger if not s.resend and s.status]
        rows = [_latency(k.name, [s for s in first if s.kind == k.name]) for k in SCHEDULE]
        again = [s for s in self.ledger if s.resend and s.status]
        if again:
            rows.append(_latency(SENT_AGAIN, again))
        if self.renewed:
            millis = [r.seconds * 1000 for r in self.renewed]
            rows.append(
                PageResult(
                    RENEWED,
                    len(millis),
                    percentile(millis, 50),
                    percentile(millis, 95),
                    max((r.queries or 0) for r in self.renewed),
                    int(statistics.median(len(r.body) for r in self.renewed)),
                )
            )
        return [r for r in rows if r is not None]

    def limits(self) -> dict[str, float]:
        return {
            r.page: PAGE_RATIO if r.page == RENEWED else self.max_ratio for r in self.latencies()
        }

    def head_hold_ms(self) -> float | None:
        """How long each stored entry held the chain's head, on average."""
        if self.chain_load is None or not self.count.stored:
            return None
        return self.chain_load.head_held_share * self.seconds / self.count.stored * 1000


def _latency(name: str, sends: list[Sent]) -> PageResult | None:
    if not sends:
        return None
    millis = [s.seconds * 1000 for s in sends]
    counts = [s.queries for s in sends if s.queries is not None]
    return PageResult(
        name,
        len(sends),
        percentile(millis, 50),
        percentile(millis, 95),
        max(counts) if counts else None,
        0,
    )


def print_report(run: WriteRun) -> None:
    rows = run.latencies()
    print(table([run.baseline, *rows], run.baseline, run.limits()))
    c = run.count
    late = [s.late_seconds for s in run.ledger if not s.resend]
    offered = (
        "as fast as answered"
        if run.offered_per_second is None
        else (f"{run.offered_per_second:.1f}/s offered")
    )
    lines = [
        f"sessions under way      {run.sessions} ({run.sessions_started} started by the run)",
        f"entries sent            {c.entries:,} ({c.sent_again:,} sent again with their key; "
        f"{c.failed_sends} sends failed)",
        f"entries acknowledged    {c.acknowledged:,}",
        f"entries stored          {c.stored:,} (receipts {c.receipts:,})",
        f"lost / duplicated       {c.lost} / {c.duplicated} "
        f"(unknown rows {c.unknown}, recorded twice {c.recorded_twice})",
        f"audit events per entry  {c.audited_once:,} exactly one "
        f"({c.audit_events_missing} missing, {c.audit_events_extra} extra)",
        f"writes per second       {run.writes_per_second:.1f} over {run.seconds:.1f} s "
        f"({offered}; behind schedule p95 {percentile(late, 95):.2f} s)",
        "audit chain             "
        + (
            f"verified: {run.chain.rows:,} rows in {run.verify_seconds:.1f} s"
            if run.chain.ok
            else f"BROKEN at row {run.chain.broken_at}: {run.chain.problem}"
        ),
    ]
    if run.chain_load is not None:
        hold = run.head_hold_ms()
        lines.append(
            f"chain head held         {run.chain_load.head_held_share:.0%} of the time; "
            f"{run.chain_load.waiting_mean:.2f} writers waiting on average; "
            f"{hold:.1f} ms held per entry"
        )
    print("\n".join(lines))


def as_json(run: WriteRun) -> dict:
    rows = run.latencies()
    late = [s.late_seconds for s in run.ledger if not s.resend]
    return {
        "patients": run.patients,
        "database": run.database,
        "seed_seconds": None if run.seed_seconds is None else round(run.seed_seconds, 2),
        "workers": run.workers,
        "sessions": run.sessions,
        "sessions_started": run.sessions_started,
        "seconds": round(run.seconds, 2),
        "minute_seconds": run.minute_seconds,
        "offered_per_second": None
        if run.offered_per_second is None
        else round(run.offered_per_second, 1),
        "writes_per_second": round(run.writes_per_second, 1),
        "behind_schedule_p95_seconds": round(percentile(late, 95), 3),
        "posts": [
            {
                **r.as_json(run.baseline),
                "missed": missed_targets(r, run.baseline, run.limits().get(r.page, 0.0)),
            }
            for r in [run.baseline, *rows]
        ],
        "entries": run.count.as_json(),
        "audit_chain": {
            "verified": run.chain.ok,
            "rows": run.chain.rows,
            "problem": run.chain.problem,
            "verify_seconds": round(run.verify_seconds, 1),
        },
        "chain_head": None
        if run.chain_load is None
        else {
            **run.chain_load.as_json(),
            "held_ms_per_entry": round(run.head_hold_ms(), 2),
        },
        "load_average": run.load_average,
    }


def write_json(path: Path, run: WriteRun) -> None:
    path.write_text(json.dumps(as_json(run), indent=2) + "\n")
