"""Audit events: recorded for every change to any model, chained by hash, verified on demand.

Data changes are captured generically by session listeners over every mapped class, so a record
type added later is audited without code of its own. A model may refine what is recorded:

- `__audit_action__ = "sign"`: inserts of the model are recorded under that action (models
  named in `INSERT_ACTIONS` get theirs without saying so);
- `__audit_redact__ = {"column"}`: the change is recorded, the values are not (secrets);
- `audit_patient_id(self)`: the patient an object belongs to, when its foreign keys do not lead
  to the patients table (by default the path is found from the foreign keys).

Events that are not data changes (views, log-ins, exports) go through `record_event`.

The chain: each row stores the hash of the row before it, and its own hash over a canonical
JSON of its fields. Appending is serialised by the single row of `audit_chain_head`, which an
appender writes first (see `_claim_head`), so concurrent requests cannot fork the chain.
"""

from __future__ import annotations

import decimal
import enum
import functools
import hashlib
import json
import re
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g, has_request_context, request

from psiflow.extensions import db
from psiflow.models.audit import GENESIS_HASH, AuditChainHead, AuditEvent, AuditTrailIsAppendOnly
from psiflow.models.session_events import listen_on_every_session
from psiflow.models.types import utcnow
from psiflow.web import outages

# Inserts of these models are events of their own kind (21 CFR 11.10(e), 11.50, 11.70).
INSERT_ACTIONS = {
    "PhaseTransition": "phase_transition",
    "Signature": "sign",
    "Addendum": "addendum",
}
ACTIONS = (
    "create",
    "update",
    "void",
    "delete",
    "sign",
    "addendum",
    "phase_transition",
    "login_success",
    "login_failure",
    "logout",
    "export",
    "view",
    "restore",
    "refused",
)
REDACTED = "[redacted]"
# Columns whose values would hand out a credential if an audit reader saw them.
_SECRET_COLUMN = re.compile(r"password|token|secret", re.IGNORECASE)
_UNAUDITED = (AuditEvent, AuditChainHead)
_HEAD_ID = 1
# The fields each row hash covers, in order (the seeded benchmark and tests reuse it).
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "context",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "changes",
    "detail",
    "request_id",
    "remote_addr",
    "prev_hash",
)
# session.info key: this transaction holds the chain head; its value is the head as this
# transaction last wrote it, (seq, hash), or True where it must be read again.
_CLAIMED = "psiflow.audit.claimed"


def init_app(app) -> None:
    listen_on_every_session(
        (
            ("before_flush", _before_flush),
            ("after_flush", _after_flush),
            ("after_transaction_end", _after_transaction_end),
            ("do_orm_execute", _refuse_bulk_change_of_audit),
        )
    )


# --- Recording -----------------------------------------------------------------------------


class AuditTrailUnavailable(RuntimeError):
    """An audit event could not be written, so what needed it was not done."""


def record_event(
    action: str,
    obj=None,
    *,
    patient_id: int | None = None,
    detail: str | None = None,
    actor_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
) -> None:
    """Record an event that is not a data change (a view, a log-in, an export).

    It is written at once and committed on its own, unless the session's transaction already
    holds the chain head (it has written clinical data): then it commits or rolls back with
    that data, and waiting for a second connection would wait on ourselves.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if obj is not None:
        object_type, object_id = _identity(obj)
        if patient_id is None:
            patient_id = _patient_id_of_loaded(obj)
    event = _new_event(action, object_type, object_id, patient_id, None, detail)
    if actor_id is not None:
        event["actor_id"] = actor_id
    session = db.session()
    try:
        if session.info.get(_CLAIMED):
            session.info[_CLAIMED] = _append(session.connection(), [event], session.info[_CLAIMED])
        else:
            with db.engine.begin() as connection:
                _append(connection, [event], _claim_head(connection))
    except sa.exc.OperationalError as error:
        if error.connection_invalidated:
            raise  # the database itself is away, not only its audit trail
        # A full disk or a read-only database: what needed this event fails closed (a record
        # is not shown unaudited), and says why (psiflow/errors.py).
        outages.report_away(
            outages.AUDIT_TRAIL,
            f"{_first_line(error.orig)}; every page that must record a view or an action is "
            "refused until it can be written",
        )
        raise AuditTrailUnavailable from error
    outages.report_back(outages.AUDIT_TRAIL)


def _first_line(error: BaseException) -> str:
    # The driver's own words ("database or disk is full"), never the statement or its values.
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _new_event(action, object_type, object_id, patient_id, changes, detail) -> dict:
    actor_id, context, request_id, remote_addr = _who_and_where()
    return {
        "at": utcnow(),
        "actor_id": actor_id,
        "context": context,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "patient_id": patient_id,
        "changes": changes,
        "detail": detail[:200] if detail else None,
        "request_id": request_id,
        "remote_addr": remote_addr,
    }


def _who_and_where() -> tuple[int | None, str, str | None, str | None]:
    if not has_request_context():
        return None, "cli", None, None
    # flask_login keeps the request's user in g; reading it there never loads a user from the
    # database in the middle of a flush.
    user = g.get("_login_user")
    actor_id = None
    if user is not None and user.is_authenticated:
        actor_id = sa.inspect(user).identity[0]
    return actor_id, "web", g.get("request_id"), request.remote_addr


# --- Capturing data changes ----------------------------------------------------------------


def _auditable(obj) -> bool:
    return isinstance(obj, db.Model) and not isinstance(obj, _UNAUDITED)


def _before_flush(session, _flush_context, _instances) -> None:
    # An object set to the values it already had is "dirty" but writes nothing: it must not
    # take the chain head (SQLite's write lock) either.
    dirty = [o for o in session.dirty if session.is_modified(o)]
    changed = [o for o in (*session.new, *dirty, *session.deleted) if _auditable(o)]
    if not changed:
        return
    _remember_unloaded_old_values(session)
    if not session.info.get(_CLAIMED):
        session.info[_CLAIMED] = _claim_head(session.connection())


def _remember_unloaded_old_values(session) -> None:
    """An attribute set without being read first has no old value in its history: read it
    from the database now, before the flush overwrites it."""
    old = session.info.setdefault("psiflow.audit.old", {})
    for obj in session.dirty:
        state = sa.inspect(obj)
        if not _auditable(obj) or state.identity is None:
            continue
        missing = []
        for attr in state.mapper.column_attrs:
            history = state.attrs[attr.key].history
            if history.added and not history.deleted:
                missing.append(attr)
        if not missing:
            continue
        mapper = state.mapper
        condition = _by_primary_key(mapper, state.identity)
        row = (
            session.connection()
            .execute(
                sa.select(*(a.columns[0].label(a.key) for a in missing))
                .select_from(mapper.local_table)
                .where(condition)
            )
            .mappings()
            .first()
        )
        if row is not None:
            old[id(obj)] = {key: _plain(value) for key, value in row.items()}


def _by_primary_key(mapper, identity):
    return sa.and_(*(c == v for c, v in zip(mapper.primary_key, identity, strict=True)))


def _after_flush(session, _flush_context) -> None:
    old_values = session.info.pop("psiflow.audit.old", {})
    events = []
    cache: dict = {}
    connection = session.connection()
    for obj in _in_dependency_order(session.new):
        events.append(_insert_event(obj, connection, cache))
    for obj in _in_dependency_order(session.dirty):
        if obj not in session.deleted:
            event = _update_event(obj, old_values.get(id(obj), {}), connection, cache)
            if event is not None:
                events.append(event)
    for obj in _in_dependency_order(session.deleted):
        changes = {k: [v, None] for k, v in _values(obj).items() if v is not None}
        events.append(_event_for(obj, "delete", _redact(type(obj), changes), connection, cache))
    if events:
        session.info[_CLAIMED] = _append(connection, events, session.info.get(_CLAIMED, True))


@functools.cache
def _table_order() -> dict[str, int]:
    # The schema is fixed once the models are imported; sorting it on every flush cost a write
    # request ~3 ms.
    return {t.name: i for i, t in enumerate(db.metadata.sorted_tables)}


def _in_dependency_order(objects) -> list:
    """Parents before children (a patient before its course), then by id: a stable order."""
    order = _table_order()
    auditable = [o for o in objects if _auditable(o)]
    return sorted(
        auditable,
        key=lambda o: (order.get(sa.inspect(o).mapper.local_table.name, 0), _identity(o)[1]),
    )


def _insert_event(obj, connection, cache) -> dict:
    action = getattr(type(obj), "__audit_action__", None) or INSERT_ACTIONS.get(
        type(obj).__name__, "create"
    )
    changes = {k: [None, v] for k, v in _values(obj).items() if v is not None}
    return _event_for(obj, action, _redact(type(obj), changes), connection, cache)


def _update_event(obj, remembered: dict, connection, cache) -> dict | None:
    state = sa.inspect(obj)
    changes = {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.added and not history.deleted:
            continue
        old = _plain(history.deleted[0]) if history.deleted else remembered.get(attr.key)
        new = _plain(history.added[0]) if history.added else None
        if old != new:
            changes[attr.key] = [old, new]
    if not changes:
        return None
    # Records are never deleted: an entered-in-error record is voided with a reason.
    voided = "voided_at" in changes and changes["voided_at"][1] is not None
    action = "void" if voided else "update"
    return _event_for(obj, action, _redact(type(obj), changes), connection, cache)


def _event_for(obj, action, changes, connection, cache) -> dict:
    object_type, object_id = _identity(obj)
    patient_id = _patient_id(obj, connection, cache, load=False)
    return _new_event(action, object_type, object_id, patient_id, changes or None, None)


def _values(obj) -> dict:
    """The object's column values as JSON, read from what is loaded (never a lazy load)."""
    state = sa.inspect(obj)
    return {
        attr.key: _plain(state.dict[attr.key])
        for attr in state.mapper.column_attrs
        if attr.key in state.dict
    }


def _redact(cls, changes: dict) -> dict:
    secret = set(getattr(cls, "__audit_redact__", ()))
    return {
        key: [REDACTED if v is not None else None for v in pair]
        if key in secret or _SECRET_COLUMN.search(key)
        else pair
        for key, pair in changes.items()
    }


def _identity(obj) -> tuple[str, str]:
    state = sa.inspect(obj)
    mapper = state.mapper
    values = [state.dict.get(mapper.get_property_by_column(col).key) for col in mapper.primary_key]
    if any(v is None for v in values) and state.identity is not None:
        values = list(state.identity)
    return type(obj).__name__, ",".join(str(v) for v in values)


def _plain(value):
    """A JSON value that reads back exactly as written, so the row hash can be recomputed."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


# --- Which patient an object belongs to ----------------------------------------------------


@dataclass(frozen=True)
class _Hop:
    table: str
    column: str  # the foreign key column in `table`
    target: str  # the table it refers to
    target_column: str


@functools.cache
def _path_to_patients(table_name: str) -> tuple[_Hop, ...] | None:
    """The shortest chain of foreign keys from `table_name` to the patients table."""
    tables = db.metadata.tables
    queue: deque = deque([(table_name, ())])
    seen = {table_name}
    while queue:
        name, path = queue.popleft()
        for fk in sorted(tables[name].foreign_keys, key=lambda f: f.parent.name):
            target = fk.column.table.name
            hop = _Hop(name, fk.parent.name, target, fk.column.name)
            if target == "patients":
                return (*path, hop)
            if target not in seen:
                seen.add(target)
                queue.append((target, (*path, hop)))
    return None


def _patient_id(obj, connection, cache, load: bool) -> int | None:
    """Follow the object's foreign keys to its patient. Inside a flush (`load` false) only
    what is already loaded is read, and the rest with plain SELECTs on the flush's connection."""
    custom = getattr(obj, "audit_patient_id", None)
    if callable(custom):
        return custom()
    state = sa.inspect(obj)
    mapper = state.mapper
    path = _path_to_patients(mapper.local_table.name)
    if mapper.local_table.name == "patients":
        key = "id"
    elif path is None:
        return None
    else:
        key = mapper.get_property_by_column(mapper.local_table.c[path[0].column]).key
    value = getattr(obj, key) if load else state.dict.get(key)
    if value is None and not load and state.identity is not None:
        # Expired since it was loaded: read the stored value rather than lazy-load mid-flush.
        condition = _by_primary_key(mapper, state.identity)
        column = mapper.get_property(key).columns[0]
        value = connection.scalar(sa.select(column).where(condition))
    session = so.object_session(obj)
    for previous, hop in zip(path or (), (path or ())[1:], strict=False):
        if value is None:
            return None
        cache_key = (hop.table, hop.column, value)
        if cache_key not in cache:
            found = _held_value(session, hop, previous.target_column, value)
            if found is _NOT_HELD:
                table = db.metadata.tables[hop.table]
                found = connection.scalar(
                    sa.select(table.c[hop.column]).where(table.c[previous.target_column] == value)
                )
            cache[cache_key] = found
        value = cache[cache_key]
    return value


_NOT_HELD = object()


@functools.cache
def _mappers_by_table() -> dict[str, so.Mapper]:
    return {mapper.local_table.name: mapper for mapper in db.Model.registry.mappers}


def _held_value(session, hop: _Hop, by_column: str, key):
    """The hop's column of a row the session already holds (a vital's dosing session, that
    session's course), or `_NOT_HELD`: finding the patient of a write then costs no SELECT."""
    mapper = _mappers_by_table().get(hop.table)
    if session is None or mapper is None or [c.name for c in mapper.primary_key] != [by_column]:
        return _NOT_HELD
    held = session.identity_map.get(mapper.identity_key_from_primary_key([key]))
    if held is None:
        return _NOT_HELD
    attribute = mapper.get_property_by_column(mapper.local_table.c[hop.column]).key
    return sa.inspect(held).dict.get(attribute, _NOT_HELD)


def _patient_id_of_loaded(obj) -> int | None:
    """The patient of an object outside a flush (a view, an export)."""
    with db.session.no_autoflush:
        return _patient_id(obj, db.session.connection(), {}, load=True)


# --- The chain -----------------------------------------------------------------------------


# One encoder for every event: json.dumps builds a new one per call when given options.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(fields: dict) -> str:
    payload = {key: fields[key] for key in HASHED_FIELDS}
    payload["at"] = fields["at"].astimezone(UTC).isoformat(timespec="microseconds")
    canonical = _CANONICAL_JSON.encode(payload)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Every patient page view appends an event: its four statements are built once (building
# one and its cache key took as long as SQLite running it).
_HEAD = AuditChainHead.__table__
# Taking the head and reading it are one statement: the head cannot move once it is held.
_TOUCH_HEAD = (
    sa.update(_HEAD)
    .where(_HEAD.c.id == _HEAD_ID)
    .values(last_seq=_HEAD.c.last_seq)
    .returning(_HEAD.c.last_seq, _HEAD.c.last_hash)
)
_READ_HEAD = sa.select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == _HEAD_ID)
_INSERT_EVENTS = sa.insert(AuditEvent.__table__)
_MOVE_HEAD = (
    sa.update(_HEAD)
    .where(_HEAD.c.id == _HEAD_ID)
    .values(last_seq=sa.bindparam("new_seq"), last_hash=sa.bindparam("new_hash"))
)


def _claim_head(connection) -> tuple[int, str]:
    """Take the chain head for the rest of this transaction, and say where the chain ends.

    Writing the head row is how it is locked, the same way on both databases: on PostgreSQL an
    UPDATE holds the row lock until commit (as SELECT ... FOR UPDATE would), and a second
    appender's UPDATE waits, then sees the head the first one committed; on SQLite the first
    write of a transaction takes the database's single write lock (waiting up to the busy
    timeout), so writers are serialised anyway. It is taken in before_flush, before the
    flush's own writes, so an appender never holds a record's row lock while waiting for the
    head (which could deadlock with one that holds the head and wants that record).
    """
    head = connection.execute(_TOUCH_HEAD).first()
    if head is None:
        _create_head(connection)
        head = connection.execute(_TOUCH_HEAD).one()
    return tuple(head)


def _create_head(connection) -> None:
    # Started from the newest row, so a lost head row never restarts (and forks) the chain.
    events = AuditEvent.__table__
    last = connection.execute(
        sa.select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)
    ).first()
    values = {
        "id": _HEAD_ID,
        "last_seq": last.seq if last else 0,
        "last_hash": last.hash if last else GENESIS_HASH,
    }
    dialect = connection.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        connection.execute(sa.insert(AuditChainHead.__table__).values(**values))
        return
    # Two first appenders may race here: the loser's insert does nothing.
    connection.execute(insert(AuditChainHead.__table__).values(**values).on_conflict_do_nothing())


def _append(connection, events: list[dict], head: tuple[int, str] | bool) -> tuple[int, str]:
    """Chain `events` on after `head` (or the head as stored, where `head` is True) and move
    the head past them; the new head."""
    seq, prev = head if head is not True else connection.execute(_READ_HEAD).one()
    rows = []
    for event in events:
        seq += 1
        row = {**event, "seq": seq, "prev_hash": prev}
        row["hash"] = prev = row_hash(row)
        rows.append(row)
    connection.execute(_INSERT_EVENTS, rows)
    connection.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    return seq, prev


def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CLAIMED, None)
        session.info.pop("psiflow.audit.old", None)
    elif session.info.get(_CLAIMED):
        # A savepoint that ends may have rolled back what it appended: read the head again.
        session.info[_CLAIMED] = True


def _refuse_bulk_change_of_audit(execute_state) -> None:
    if execute_state.is_update or execute_state.is_delete:
        mapper = execute_state.bind_mapper
        if mapper is not None and issubclass(mapper.class_, AuditEvent):
            raise AuditTrailIsAppendOnly("the audit trail may not be updated or deleted")


# --- Verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    rows: int
    broken_at: int | None = None  # the first row (seq) that does not verify
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(connection, batch: int = 1000) -> ChainReport:
    """Recompute every row's hash in order and check its link, its position and the head."""
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    for row in _rows_in_order(connection, batch):
        count += 1
        if row.seq != expected_seq:
            return ChainReport(
                count, row.seq, f"row {expected_seq} is missing: the next row is {row.seq}"
            )
        if row.prev_hash != prev:
            return ChainReport(count, row.seq, f"row {row.seq} does not follow the row before it")
        if row_hash(row._mapping) != row.hash:
            return ChainReport(count, row.seq, f"row {row.seq} was changed after it was written")
        prev, expected_seq = row.hash, expected_seq + 1
    last_seq = expected_seq - 1
    head_table = AuditChainHead.__table__
    head = connection.execute(
        sa.select(head_table.c.last_seq, head_table.c.last_hash).where(head_table.c.id == _HEAD_ID)
    ).first()
    if head is None:
        if count == 0:
            return ChainReport(0)
        return ChainReport(count, last_seq, "the chain head row is missing")
    if head.last_seq > last_seq:
        return ChainReport(
            count,
            last_seq + 1,
            f"rows {last_seq + 1} to {head.last_seq} were cut off the end of the chain",
        )
    if head.last_seq != last_seq or head.last_hash != prev:
        return ChainReport(count, last_seq, f"the chain head does not match row {last_seq}")
    return ChainReport(count)


def _rows_in_order(connection, batch: int) -> Iterator:
    table = AuditEvent.__table__
    last = 0
    while True:
        rows = connection.execute(
            sa.select(table).where(table.c.seq > last).order_by(table.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
