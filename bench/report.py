"""The benchmark's table, checked against the targets of issue 7, and bench/last.json."""

from __future__ import annotations

import json
from pathlib import Path

from bench.measure import PageResult
from bench.pages import BASELINE

# Targets at 10,000 patients on SQLite with 2 workers.
MAX_P95_MS = 50.0
MAX_SEED_SECONDS = 120.0


def missed_targets(result: PageResult, baseline: PageResult, limit: float) -> list[str]:
    """The targets a page missed; `limit` is its p95 ratio to the baseline's p95."""
    if result.page == BASELINE:
        return []
    missed = []
    if result.p95_ms > MAX_P95_MS:
        missed.append(f"p95 > {MAX_P95_MS:g} ms")
    if result.p95_ms > limit * baseline.p95_ms:
        missed.append(f"p95 > {limit:g}x baseline")
    return missed


def table(results: list[PageResult], baseline: PageResult, limits: dict[str, float]) -> str:
    header = ("page", "requests", "p50 ms", "p95 ms", "queries", "p50/base", "kB", "target")
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
) -> None:
    document = {
        "patients": patients,
        "database": database,
        "seed_seconds": None if seed_seconds is None else round(seed_seconds, 2),
        "pages": [r.as_json(baseline.p50_ms) for r in results],
        **extra,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
