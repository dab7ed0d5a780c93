"""Training: scripted practice scenarios on a training clock, adherence and progress.

The blueprint lives here so every training module (scenarios and progress in `views`,
practicum hours in `practicum_views`) registers its routes on the same "/training" prefix.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("training", __name__, url_prefix="/training")
