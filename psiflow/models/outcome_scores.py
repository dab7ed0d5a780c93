"""Each course's two scores per outcome instrument: a value derived from its measures."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.extensions import db
from psiflow.models.types import UTCDateTime


class CourseOutcomeScore(db.Model):
    """The first counting baseline score of an outcome instrument and the latest counting
    score after it: the two an outcome compares (`domain.outcomes.course_outcomes`). Kept by
    `psiflow.models.stored.outcomes` on every write of a measure, never written by a view."""

    __tablename__ = "course_outcome_scores"

    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), primary_key=True)
    instrument_id: so.Mapped[str] = so.mapped_column(sa.String(20), primary_key=True)
    baseline: so.Mapped[float]
    latest: so.Mapped[float]
    latest_timepoint: so.Mapped[str] = so.mapped_column(sa.String(40))
    latest_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
