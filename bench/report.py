"""The benchmark's table, each page judged against the baseline of the same run, and
bench/last.json.

The machine the benchmark runs on is shared: its absolute milliseconds vary from run to run
with the load, so they are reported as information only. A page meets its target when both its
p50 and its p95 are within its ratio (`Page.max_ratio`: 3x, posting vitals 2x) of the bare
baseline's p50 and p95 measured in the same run, under the same load.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.measure import PageResult
from bench.pages import BASELINE

# Seeding 10,000 patients on SQLite.
MAX_SEED_SECONDS = 120.0


def missed_targets(result: PageResult, baseline: PageResult, limit: float) -> list[str]:
    """The targets a page missed; `limit` is the most its p50 and its p95 may be, each as a
    multiple of the baseline's p50 and p95 of the same run."""
    if result.page == BASELINE:
        return []
    missed = []
    if result.p50_ms > limit * baseline.p50_ms:
        missed.append(f"p50 > {limit:g}x baseline")
    if result.p95_ms > limit * baseline.p95_ms:
        missed.append(f"p95 > {limit:g}x baseline")
    return missed


def table(results: list[PageResult], baseline: PageResult, limits: dict[str, float]) -> str:
    header = (
        "page",
        "requests",
        "p50 ms",
        "p95 ms",
        "queries",
        "p50/base",
        "p95/base",
        "kB",
        "target",
    )
    rows = [header]
    for r in results:
        missed = missed_targets(r, baseline, limits.get(r.page, 0.0))
        rows.append(
            (
                r.page,
                str(r.requests),
                f"{r.p50_ms:.1f}",
                f"{r.p95_ms:.1f}",
                "-" if r.queries is None else str(r.queries),
                f"{r.p50_ms / baseline.p50_ms:.2f}",
                f"{r.p95_ms / baseline.p95_ms:.2f}",
                f"{r.bytes / 1000:.1f}",
                "; ".join(missed) if missed else ("-" if r.page == BASELINE else "met"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:-1], widths[1:-1], strict=True)
        ]
        lines.append("| " + " | ".join(cells + [row[-1].ljust(widths[-1])]) + " |")
        if n == 0:
            rule = ["-" * widths[0]] + ["-" * (w - 1) + ":" for w in widths[1:-1]]
            lines.append("| " + " | ".join(rule + ["-" * widths[-1]]) + " |")
    return "\n".join(lines)


def write_json(
    path: Path,
    patients: int,
    database: str,
    seed_seconds: float | None,
    results: list[PageResult],
    baseline: PageResult,
    extra: dict,
    limits: dict[str, float],
) -> None:
    document = {
        "patients": patients,
        "database": database,
        "seed_seconds": None if seed_seconds is None else round(seed_seconds, 2),
        "pages": [
            {
                **r.as_json(baseline),
                "missed": missed_targets(r, baseline, limits.get(r.page, 0.0)),
            }
            for r in results
        ],
        **extra,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
