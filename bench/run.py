"""`python -m bench.run --patients N`: seed a clinic network, serve it, measure every page.

Prints the table and writes bench/last.json; see bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from bench import database
from bench.cast import read_cast
from bench.measure import Crowd
from bench.network import BENCH_PASSWORD, PATIENTS_PER_BLOCK, Shape
from bench.pages import PAGES, baseline_page
from bench.report import MAX_SEED_SECONDS, table, write_json
from bench.seed import seed_network
from bench.server import app_environment, gunicorn

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000, help="size of the network")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--clients", type=int, default=4, help="concurrent simulated users")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--rounds", type=int, default=10, help="pages and baseline take turns this many times"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per user first")
    parser.add_argument(
        "--page-seconds", type=float, default=120.0, help="stop a page's requests after this long"
    )
    parser.add_argument(
        "--page", action="append", dest="only", help="measure only this page (repeatable)"
    )
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="seed, report each seeder's rows and seconds and each process's peak memory, stop",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database of the last run again, without seeding",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=HERE / "work",
        help="the SQLite database and the server log",
    )
    parser.add_argument("--json", type=Path, default=HERE / "last.json")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_password_hash() -> str:
    from psiflow.models import User

    user = User()
    user.set_password(BENCH_PASSWORD)  # the app's own Argon2 parameters; hashed once
    return user.password_hash


def seed(url: str, patients: int, patients_per_block: int = PATIENTS_PER_BLOCK) -> float:
    log(f"Creating the database ({database.dialect(url)}) with flask db upgrade...")
    database.recreate(url)
    database.upgrade(url, app_environment(url))
    engine = database.loading_engine(url)
    try:
        log(f"Seeding {patients:,} patients...")
        start = time.perf_counter()
        report = seed_network(
            engine, Shape(patients, patients_per_block=patients_per_block), bench_password_hash()
        )
        database.analyze(engine)
        seconds = time.perf_counter() - start
    finally:
        engine.dispose()
    for name, count in report.counts.items():
        log(f"  {count:>10,} {report.seconds[name]:7.1f} s  {name}")
    memory = ", ".join(f"{who} {mib:,.0f} MiB" for who, mib in report.peak_rss_mib.items())
    cpu = ", ".join(f"{who} {sec:,.1f} s" for who, sec in report.cpu_seconds.items())
    log(f"Peak resident memory: {memory}; CPU: {cpu}")
    verdict = "met" if seconds <= MAX_SEED_SECONDS else f"missed ({MAX_SEED_SECONDS:g} s)"
    log(f"Seeded in {seconds:.1f} s: target {verdict}")
    return seconds


def count_patients(engine) -> int:
    from psiflow.models import Patient

    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(Patient))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = database.database_url(args.work_dir)
    seed_seconds = None if args.reuse else seed(url, args.patients)
    if args.seed_only:
        return 0
    engine = database.engine_for(url)
    try:
        cast = read_cast(engine)
        patients = count_patients(engine)
    finally:
        engine.dispose()
    pages = [p for p in PAGES if not args.only or p.name in args.only]
    if args.only and len(pages) != len(set(args.only)):
        raise SystemExit(f"Unknown page in {args.only}; pages: {[p.name for p in PAGES]}")

    busy = os.getloadavg()[0]
    if busy > os.cpu_count() / 2:
        log(f"Warning: the machine is busy (load {busy:.1f}); timings will be slower than usual.")
    log(
        f"Serving with gunicorn ({args.workers} workers); {args.clients} concurrent users, "
        f"{args.requests} requests per page in {args.rounds} rounds..."
    )
    with gunicorn(url, args.workers, args.work_dir / "gunicorn.log") as address:

        def crowd(page, users):
            return Crowd(address, page, users, args.clients, args.warmup, args.page_seconds)

        crowds = [
            crowd(page, [m for m in cast.get(page.role, []) if not page.needs or page.needs(m)])
            for page in pages
        ]
        # The baseline renders as many bytes as the typical page of this run.
        sizes = [n for c in crowds if c.page.method == "GET" for n in c.warm_sizes]
        size = int(statistics.median(sizes)) if sizes else 20_000
        crowds.insert(0, crowd(baseline_page(size), []))
        try:
            for r in range(args.rounds):
                share = args.requests // args.rounds + (r < args.requests % args.rounds)
                for c in crowds:
                    c.run(share)
        finally:
            for c in crowds:
                c.close()
    results = [c.result() for c in crowds]
    baseline = results[0]
    for r in results:
        log(f"  {r.page}: p50 {r.p50_ms:.1f} ms, p95 {r.p95_ms:.1f} ms, {r.queries} queries")
    limits = {p.name: p.max_ratio for p in pages}
    print(table(results, baseline, limits))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json(
        args.json,
        patients,
        database.dialect(url),
        seed_seconds,
        results,
        baseline,
        {
            "workers": args.workers,
            "clients": args.clients,
            # Other processes on the machine slow every page: the load says how quiet it was.
            "load_average": [round(busy, 2), round(os.getloadavg()[0], 2)],
        },
        limits,
    )
    log(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
