"""Reading a patient's audit trail: filtered, paged, with the names and record dates the
sentences need, in a bounded number of statements whatever the page size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from psiflow.domain.audit_words import EVENT_KINDS, RECORD_GROUPS, AuditRow
from psiflow.extensions import db
from psiflow.models import RECORD_TYPES, AuditEvent, Course, User
from psiflow.web.paging import RowPage

_EVENTS = AuditEvent.__table__
_ROW_COLUMNS = [_EVENTS.c[name] for name in AuditRow.__dataclass_fields__]
SYSTEM = 0  # the person filter's value for events no user did (commands, the system)


@dataclass(frozen=True)
class TrailFilters:
    person: int | None = None  # an actor's user id, SYSTEM, or any
    record: str | None = None  # a RECORD_GROUPS key
    kind: str | None = None  # an EVENT_KINDS key
    since: date | None = None  # clinic-local days, both ends included
    until: date | None = None

    def query_args(self) -> dict:
        """The filters as URL arguments, for the pager and the CSV link."""
        args = {
            "person": self.person,
            "record": self.record,
            "kind": self.kind,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {k: v for k, v in args.items() if v is not None}

    @property
    def any(self) -> bool:
        return bool(self.query_args())


def _conditions(patient_id: int, filters: TrailFilters, zone) -> list:
    where = [_EVENTS.c.patient_id == patient_id]
    if filters.person == SYSTEM:
        where.append(_EVENTS.c.actor_id.is_(None))
    elif filters.person is not None:
        where.append(_EVENTS.c.actor_id == filters.person)
    if filters.record in RECORD_GROUPS:
        where.append(_EVENTS.c.object_type.in_(RECORD_GROUPS[filters.record][1]))
    if filters.kind in EVENT_KINDS:
        where.append(_EVENTS.c.action.in_(EVENT_KINDS[filters.kind][1]))
    if filters.since is not None:
        where.append(_EVENTS.c.at >= _start_of(filters.since, zone))
    if filters.until is not None:
        where.append(_EVENTS.c.at < _start_of(filters.until + timedelta(days=1), zone))
    return where


def _start_of(day: date, zone) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _row(row) -> AuditRow:
    return AuditRow(**row._mapping)


def trail_page(patient_id: int, filters: TrailFilters, zone, page: int, per_page: int) -> RowPage:
    where = _conditions(patient_id, filters, zone)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(_EVENTS).where(*where))
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.execute(
        sa.select(*_ROW_COLUMNS)
        .where(*where)
        .order_by(_EVENTS.c.seq.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return RowPage(page, per_page, total, [_row(r) for r in rows])


def all_trail_rows(patient_id: int, filters: TrailFilters, zone) -> list[AuditRow]:
    where = _conditions(patient_id, filters, zone)
    rows = db.session.execute(
        sa.select(*_ROW_COLUMNS).where(*where).order_by(_EVENTS.c.seq.desc())
    ).all()
    return [_row(r) for r in rows]


def people_in_trail(patient_id: int) -> dict[int, str]:
    """Everyone who appears in the patient's trail, by name: the person filter's choices and
    the names the page's sentences use (one statement for both)."""
    actors = (
        sa.select(_EVENTS.c.actor_id)
        .where(_EVENTS.c.patient_id == patient_id, _EVENTS.c.actor_id.is_not(None))
        .distinct()
    )
    rows = db.session.execute(
        sa.select(User.id, User.name).where(User.id.in_(actors)).order_by(User.name)
    ).all()
    return dict(rows)


def record_facts(
    named: set[tuple[str, int]],
) -> tuple[dict[tuple[str, int], datetime], dict[tuple[str, int], str]]:
    """When each named clinical record occurred, and the protocol version its course follows
    ("id@version": it names the record's checklist items), in one statement across their
    tables."""
    models = {model.__name__: model for model in RECORD_TYPES.values()}
    by_class: dict[str, set[int]] = {}
    for class_name, record_id in named:
        if class_name in models:
            by_class.setdefault(class_name, set()).add(record_id)
    if not by_class:
        return {}, {}
    selects = [
        sa.select(
            sa.literal(class_name, sa.String(40)).label("kind"),
            models[class_name].id.label("id"),
            models[class_name].occurred_at.label("occurred_at"),
            Course.protocol_id,
            Course.protocol_version,
        )
        .join(Course, Course.id == models[class_name].course_id)
        .where(models[class_name].id.in_(sorted(ids)))
        for class_name, ids in sorted(by_class.items())
    ]
    statement = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    dates, protocols = {}, {}
    for r in db.session.execute(statement):
        dates[(r.kind, r.id)] = r.occurred_at
        protocols[(r.kind, r.id)] = f"{r.protocol_id}@{r.protocol_version}"
    return dates, protocols
