"""Training pages: start a scenario, its adherence report, the trainee's and supervisor's progress."""

from __future__ import annotations

from psiflow.training import bp  # noqa: F401  (routes register on the shared training blueprint)
