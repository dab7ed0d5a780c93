"""Each course's scheduled items after dosing that are still outstanding: derived from its
record (`domain.schedule.outstanding`), kept by `psiflow.models.stored.attention`."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.domain.schedule import DueItem, DueKind, due_label
from psiflow.extensions import db
from psiflow.models.types import UTCDateTime, enum_column


class CourseDueItem(db.Model):
    """An item of a course's schedule after dosing not yet done and not superseded by a later
    dosing session (a first integration session, a measure, a safety call, a follow-up): what
    the due-after-dosing lists read, across a team, in one statement ordered by deadline.
    Never written by a view: the stored-value watch keeps the rows equal to the rule."""

    __tablename__ = "course_due_items"
    __table_args__ = (
        # The team's list: items whose window has opened, overdue first.
        sa.Index("ix_course_due_items_due_from", "due_from"),
    )

    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), primary_key=True)
    item: so.Mapped[str] = so.mapped_column(sa.String(80), primary_key=True)  # DueItem.key
    kind: so.Mapped[DueKind] = so.mapped_column(enum_column(DueKind, 30))
    dosing_number: so.Mapped[int | None]
    instrument_id: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    timepoint: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    day: so.Mapped[int | None]
    week: so.Mapped[int | None]
    due_from: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    overdue_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)


# The columns that say what an item is, in DueItem's order (the rule's rows are compared on them).
ITEM_COLUMNS = (
    "kind",
    "dosing_number",
    "instrument_id",
    "timepoint",
    "day",
    "week",
    "due_from",
    "overdue_at",
)


def item_row(item: DueItem) -> tuple:
    """An item as stored: its columns in `ITEM_COLUMNS` order."""
    return tuple(getattr(item, column) for column in ITEM_COLUMNS)


def item_from_row(row, names: dict[str, str]) -> DueItem:
    """The item a stored row holds (`ITEM_COLUMNS` order), named for clinicians."""
    kind, number, instrument_id, timepoint, day, week, due_from, overdue_at = row
    kind = DueKind(kind)
    name = names.get(instrument_id, instrument_id) if instrument_id else None
    return DueItem(
        kind,
        due_label(kind, number, name, day, week),
        due_from,
        overdue_at,
        dosing_number=number,
        instrument_id=instrument_id,
        timepoint=timepoint,
        day=day,
        week=week,
    )
