"""Validated outcome measures given at the protocol's timepoints."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow import catalog
from psiflow.domain.outcomes import timepoint_label
from psiflow.domain.signing import Meaning
from psiflow.extensions import db
from psiflow.models.courses import Course, fact_source
from psiflow.models.records import ClinicalRecord, sign_record
from psiflow.models.statements import COURSE_IDS

BASELINE = "baseline"


class MeasureResponse(ClinicalRecord, db.Model):
    """One administration of an instrument: answers, total, severity band, risk level.

    Recorded and signed in one step: the clinician re-enters their password on saving.
    """

    __tablename__ = "measure_responses"
    __table_args__ = (
        sa.Index(
            "ix_measure_responses_course_instrument", "course_id", "instrument_id", "timepoint"
        ),
        # Covers every column the team outcome table's score query reads, so SQLite answers
        # it from the index alone (supervision.queries.outcome_scores).
        sa.Index(
            "ix_measure_responses_outcome_scores",
            "course_id",
            "instrument_id",
            "timepoint",
            "occurred_at",
            "total",
            "status",
            "needs_cosign",
            "voided_at",
        ),
    )
    record_type = "measure"
    record_label = "Measure"

    instrument_id: so.Mapped[str] = so.mapped_column(sa.String(20))
    # "baseline", "after_dosing_<n>", "follow_up_week_<n>", "integration", "ad_hoc"
    timepoint: so.Mapped[str] = so.mapped_column(sa.String(40))
    answers: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    total: so.Mapped[float]
    band: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    band_level: so.Mapped[int | None]
    subscales: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    risk: so.Mapped[str | None] = so.mapped_column(sa.String(20))

    @property
    def instrument(self):
        return catalog.instruments()[self.instrument_id]

    @property
    def record_label_full(self) -> str:
        return f"{self.instrument.short_name} ({timepoint_label(self.timepoint)})"


def record_measure(
    course,
    author,
    instrument,
    timepoint: str,
    answers: dict,
    score,
    occurred_at: datetime,
    signed_at: datetime | None = None,
) -> MeasureResponse:
    """Store a scored administration and sign it: measures are recorded and signed in one
    step, by the clinician who gave them."""
    response = MeasureResponse(
        course=course,
        author=author,
        occurred_at=occurred_at,
        instrument_id=instrument.id,
        timepoint=timepoint,
        answers=answers,
        total=score.total,
        band=score.band,
        band_level=score.band_level,
        subscales=dict(score.subscales),
        risk=score.risk,
    )
    db.session.add(response)
    sign_record(response, author, Meaning.AUTHORED, now=signed_at or occurred_at)
    return response


def _counting(query, course_ids):
    """`query` narrowed to the measures of these courses that count."""
    return query.where(
        MeasureResponse.course_id.in_(course_ids),
        MeasureResponse.counting(),
    )


_BASELINES_GIVEN_SQL = _counting(
    sa.select(MeasureResponse.course_id, MeasureResponse.instrument_id), COURSE_IDS
).where(MeasureResponse.timepoint == BASELINE)


@fact_source("baseline_recorded", "missing_baseline_measures")
def baseline_facts(courses: list[Course], connection=None) -> dict[int, dict]:
    given: dict[int, set[str]] = {c.id: set() for c in courses}
    # Which instruments, not the records: a board asks this of a hundred courses at once.
    for course_id, instrument_id in (connection or db.session).execute(
        _BASELINES_GIVEN_SQL, {"course_ids": list(given)}
    ):
        given[course_id].add(instrument_id)
    instruments = catalog.instruments()
    facts = {}
    for course in courses:
        wanted = course.protocol.baseline_measures
        missing = tuple(instruments[i].short_name for i in wanted if i not in given[course.id])
        facts[course.id] = {"baseline_recorded": not missing, "missing_baseline_measures": missing}
    return facts
