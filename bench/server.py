"""Runs bench.wsgi under gunicorn on a loopback port, configured as a clinic runs it.

The listening socket is bound here and handed to gunicorn (`fd://`), so the port is known and
already accepting before gunicorn starts: requests wait in the backlog until a worker is up,
and nothing has to poll for the server to come alive.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from bench.database import REPO

LOOPBACK = "127.0.0.1"


def app_environment(database_url: str) -> dict[str, str]:
    """PSIFLOW_* settings for a production-mode app on the benchmark database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSIFLOW_")}
    env.update(
        {
            "PSIFLOW_ENV": "production",
            "PSIFLOW_SECRET_KEY": secrets.token_hex(32),
            "PSIFLOW_DATABASE_URL": database_url,
            # The driver logs in hundreds of times a minute from one address.
            "PSIFLOW_RATELIMIT_ENABLED": "false",
            # Every response says how many SQL statements it ran (psiflow/query_count.py).
            "PSIFLOW_QUERY_COUNT_HEADER": "true",
        }
    )
    return env


@contextmanager
def gunicorn(database_url: str, workers: int, log_path: Path):
    """Yield (host, port) of a running server; stop it on the way out."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    listener.listen(256)
    port = listener.getsockname()[1]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--bind",
                f"fd://{listener.fileno()}",
                "--timeout",
                "120",
                "--no-control-socket",
                "--error-logfile",
                "-",
                "bench.wsgi:application",
            ],
            cwd=REPO,
            env=app_environment(database_url),
            pass_fds=(listener.fileno(),),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    listener.close()  # gunicorn holds its own copy
    try:
        yield LOOPBACK, port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
