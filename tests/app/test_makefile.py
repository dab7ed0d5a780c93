"""`make run` installs what serving needs, `make test` and `make lint` the test tools too.

Read from make's own dry run (`make -n -B`: every command of the target's chain, run nothing),
so the test follows the Makefile's real prerequisites rather than its text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


def dry_run(target: str) -> list[str]:
    # As a user types it: under `make test` the suite inherits make's own variables, and a
    # nested make then prints "Entering directory" lines around its commands.
    clean = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    result = subprocess.run(
        ["make", "-n", "-B", target, "VENV=/nonexistent/venv"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def pip_installs(target: str) -> list[str]:
    return [line for line in dry_run(target) if "/pip install" in line]


def test_run_installs_the_app_without_the_test_tools():
    installs = pip_installs("run")
    assert any(" -e . " in line for line in installs)
    assert not any("[test]" in line for line in installs)


@pytest.mark.parametrize("target", ["test", "lint"])
def test_test_and_lint_install_the_test_tools(target):
    assert any("-e '.[test]'" in line for line in pip_installs(target))


def test_run_prints_the_demo_logins_and_the_address_last():
    """Everything before seeding goes to a log; the logins and the address come last."""
    commands = dry_run("run")
    seed = next(i for i, c in enumerate(commands) if "seed-demo" in c)
    for command in commands[:seed]:
        if "pip install" in command or "db upgrade" in command or "stored-values" in command:
            assert ">/nonexistent/venv/make.log 2>&1" in command, command
    assert "seed-demo" in commands[seed] and "make.log" not in commands[seed]
    assert commands[seed + 1].startswith('echo "PsiFlow is at http://')
    assert " run --host " in commands[seed + 2]
    assert len(commands) == seed + 3
