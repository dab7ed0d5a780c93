"""`python -m bench.writes`: many dosing sessions under way at once, each with a tablet
sending its entries; then every entry is counted in the database and the audit chain verified.

The network is seeded (or reused, `--reuse`) as `bench.run` does, served by gunicorn with
several workers, and `--sessions` sessions are driven at once for `--seconds` (bench/tablet.py:
pulse oximetry every session minute, vital signs every 15, notes and music changes, each
minute lasting `--minute-seconds`). The bare baseline page is measured in the same server at
the same time, so each kind of entry's latency is judged against it (a bedside write: 2x).
Prints the latencies and the counts and writes bench/last-writes.json; see bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench import database, run
from bench.cast import read_cast
from bench.chain_watch import ChainLoad, ChainWatch
from bench.entry_count import Marks, count_entries, take_marks
from bench.live_sessions import sessions_under_way
from bench.measure import Crowd, PageResult, in_parallel
from bench.pages import baseline_page
from bench.server import gunicorn
from bench.tablet import SCHEDULE, Tablet, offered_per_minute
from bench.writes_report import WriteRun, print_report, write_json
from psiflow.audit import verify_chain

HERE = Path(__file__).resolve().parent
# Every post from the session room is a bedside write, held to the vitals post's ratio.
MAX_RATIO = 2.0
# The baseline's users take a turn this often during the run: enough requests for its p95,
# few enough not to add to the load the writes are measured under.
BASELINE_EVERY_SECONDS = 0.25


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.writes", description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000, help="size of the network")
    parser.add_argument(
        "--reuse", action="store_true", help="drive the database of the last run, unseeded"
    )
    parser.add_argument("--sessions", type=int, default=100, help="sessions under way at once")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they send")
    parser.add_argument(
        "--minute-seconds",
        type=float,
        default=1.0,
        help="real seconds per session minute (0: each tablet sends as fast as it is answered)",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--resend", type=float, default=0.05, help="share of entries sent again with their key"
    )
    parser.add_argument(
        "--follow",
        action="store_true",
        help="open the live page after each answer, as the page's script does",
    )
    parser.add_argument("--baseline-clients", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20, help="the tablets' random readings")
    parser.add_argument(
        "--work-dir", type=Path, default=HERE / "work", help="the SQLite database and server log"
    )
    parser.add_argument("--json", type=Path, default=HERE / "last-writes.json")
    args = parser.parse_args(argv)
    # The migrations run from the repository and the app reads a relative SQLite path from
    # its instance folder: the work folder is named absolutely for both.
    args.work_dir = args.work_dir.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = database.database_url(args.work_dir)
    seed_seconds = None if args.reuse else run.seed(url, args.patients)
    engine = database.engine_for(url)
    try:
        cast = read_cast(engine)
        patients = run.count_patients(engine)
        load_before = os.getloadavg()[0]
        with gunicorn(url, args.workers, args.work_dir / "gunicorn-writes.log") as address:
            sessions, started = sessions_under_way(engine, cast, args.sessions, address)
            run.log(
                f"{len(sessions)} sessions under way ({started} started through the app); "
                f"{args.workers} gunicorn workers; tablets logging in..."
            )
            tablets = [
                Tablet(
                    address,
                    s,
                    args.seed * 1_000 + i,
                    args.minute_seconds,
                    args.resend,
                    args.follow,
                )
                for i, s in enumerate(sessions)
            ]
            try:
                drive = _drive(engine, address, tablets, args)
            finally:
                for tablet in tablets:
                    tablet.close()
        ledger = [sent for tablet in tablets for sent in tablet.ledger]
        run.log(f"Counting {len(ledger):,} sends against the database...")
        count = count_entries(engine, drive.marks, ledger)
        run.log("Verifying the audit chain...")
        verify_start = time.perf_counter()
        with engine.connect() as conn:
            chain = verify_chain(conn)
        verify_seconds = time.perf_counter() - verify_start
    finally:
        engine.dispose()
    result = WriteRun(
        patients=patients,
        database=database.dialect(url),
        seed_seconds=seed_seconds,
        workers=args.workers,
        sessions=len(sessions),
        sessions_started=started,
        seconds=drive.seconds,
        minute_seconds=args.minute_seconds,
        offered_per_second=(
            None
            if args.minute_seconds <= 0
            else len(sessions) * offered_per_minute() / args.minute_seconds
        ),
        ledger=ledger,
        renewed=[page for tablet in tablets for page in tablet.renewed],
        baseline=drive.baseline,
        count=count,
        chain=chain,
        verify_seconds=verify_seconds,
        chain_load=drive.chain_load,
        load_average=[round(load_before, 2), round(os.getloadavg()[0], 2)],
        max_ratio=MAX_RATIO,
    )
    print_report(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.json, result)
    run.log(f"Wrote {args.json}")
    return 0 if count.clean and chain.ok else 1


@dataclass(frozen=True)
class _Drive:
    marks: Marks
    seconds: float  # from the first send to the last answer
    baseline: PageResult
    chain_load: ChainLoad | None


def _drive(engine, address, tablets: list[Tablet], args) -> _Drive:
    in_parallel(len(tablets), lambda i: tablets[i].open())
    # The baseline is as large as the page the tablets have open, as bench.run sizes it.
    size = int(statistics.median(t.page_bytes for t in tablets))
    baseline = Crowd(
        address, baseline_page(size), [], args.baseline_clients, 3, args.seconds * 3 + 60
    )
    marks = take_marks(engine)
    stop = threading.Event()

    def measure_baseline():
        while not stop.wait(BASELINE_EVERY_SECONDS):
            baseline.run(args.baseline_clients)

    run.log(
        f"Sending for {args.seconds:g} s ({args.minute_seconds:g} s a session minute; "
        f"{', '.join(f'{k.name} every {k.every_minutes}' for k in SCHEDULE)})..."
    )
    watch = ChainWatch(engine) if engine.dialect.name == "postgresql" else None
    beside = threading.Thread(target=measure_baseline, daemon=True)
    start = time.monotonic() + 0.5
    try:
        with watch or contextlib.nullcontext():
            beside.start()
            in_parallel(len(tablets), lambda i: tablets[i].run(start, start + args.seconds))
            seconds = time.monotonic() - start
    finally:
        stop.set()
        if beside.is_alive():
            beside.join()
        baseline.close()
    return _Drive(marks, seconds, baseline.result(), watch.result() if watch else None)


if __name__ == "__main__":
    sys.exit(main())
