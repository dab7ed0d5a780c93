"""How a stored value is kept: which courses a transaction touched through what its rule reads.

A `StoredValue` names, per class, the columns its rule reads (`feeds`); session listeners
(`psiflow.models.stored.init_app`) ask each value at every flush which courses such a write
touched and, just before the transaction commits, hand their ids to its `refresh` in one
batch. Nothing else is read or written when a transaction touches none of it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.models.courses import Course


def _always(_cls, _state) -> bool:
    return True


class Disagreement(NamedTuple):
    """A stored value that is not what its rule works out from the record now."""

    course_id: int
    value: str  # which value: the stored value's name, and its part where it has several
    stored: Any
    computed: Any


@dataclass(frozen=True)
class StoredValue:
    """One value stored for each course, the rule it is kept equal to, and what that rule reads."""

    name: str
    # The course attribute holding the value, or None for values kept in a table of their own;
    # for a value of several columns, their names, and the value a tuple of them.
    attribute: str | tuple[str, ...] | None
    # Per class, the columns the rule reads. An insert or delete counts whole.
    feeds: Mapping[type, tuple[str, ...]]
    # refresh(connection, course ids) works the value out again and returns the courses whose
    # value changed: {id: new value} when `attribute` names it.
    refresh: Callable[[object, Iterable[int]], Collection[int]]
    # stale(connection, course ids): where what is stored differs from the rule, stored values
    # left alone (courses on a protocol this app did not load are skipped).
    stale: Callable[[object, Iterable[int]], list[Disagreement]]
    # Whether this write (class, instance state) can change the value at all.
    can_matter: Callable[[type, object], bool] = _always
    inserts_that_cannot_matter: tuple[type, ...] = ()
    # Classes without a course: the attribute naming their parent row, and the parent class
    # (whose `course_id` is the course).
    through: Mapping[type, tuple[str, type]] = field(default_factory=dict)
    # Classes that courses belong to (a patient): the course column naming their row. A write
    # to one touches every course it has.
    owners: Mapping[type, str] = field(default_factory=dict)

    @property
    def _courses(self) -> str:
        return f"psiflow.models.stored.{self.name}.courses"

    @property
    def _parents(self) -> str:  # {parent class: ids whose course is unknown}
        return f"psiflow.models.stored.{self.name}.parents"

    @property
    def _records(self) -> str:  # (class, id) whose course is unknown
        return f"psiflow.models.stored.{self.name}.records"

    @property
    def _owners(self) -> str:  # {owner class: ids}
        return f"psiflow.models.stored.{self.name}.owners"

    def _keys(self) -> tuple[str, str, str, str]:
        return self._courses, self._parents, self._records, self._owners

    def notice(self, session) -> None:
        # After the flush, new rows have their ids and foreign keys; "new", "dirty", "deleted"
        # and the attribute histories still describe what the flush wrote.
        new, deleted = session.new, session.deleted
        for obj in (*new, *session.dirty, *deleted):
            cls = type(obj)
            columns = self.feeds.get(cls)
            if columns is None:
                continue
            state = sa.inspect(obj)
            if obj in new:
                if cls in self.inserts_that_cannot_matter:
                    continue
            elif obj not in deleted and not any(
                state.attrs[key].history.has_changes() for key in columns
            ):
                continue
            if self.can_matter(cls, state) or (
                obj not in new and any(_old_value_unknown(state, key) for key in columns)
            ):
                self._note(session, cls, state)

    def _note(self, session, cls, state) -> None:
        courses = session.info.setdefault(self._courses, set())
        if cls is Course:
            courses.add(_row_id(state))
            return
        if cls in self.owners:
            session.info.setdefault(self._owners, {}).setdefault(cls, set()).add(_row_id(state))
            return
        if cls in self.through:
            key, parent_cls = self.through[cls]
            parent_ids = [v for v in values(state, key) if v is not None]
            if not parent_ids:
                session.info.setdefault(self._records, set()).add((cls, _row_id(state)))
            for parent_id in parent_ids:
                parent = session.identity_map.get(so.util.identity_key(parent_cls, parent_id))
                course_id = None if parent is None else sa.inspect(parent).dict.get("course_id")
                if course_id is None:
                    parents = session.info.setdefault(self._parents, {})
                    parents.setdefault(parent_cls, set()).add(parent_id)
                else:
                    courses.add(course_id)
            return
        course_ids = [v for v in values(state, "course_id") if v is not None]
        if not course_ids:
            # Expired since it was read: which course it belongs to is asked at commit.
            session.info.setdefault(self._records, set()).add((cls, _row_id(state)))
        courses.update(course_ids)

    def pending(self, session) -> bool:
        return any(session.info.get(key) for key in self._keys())

    def commit(self, session) -> None:
        """Refresh the value of every course noticed; the session has just flushed."""
        courses = session.info.pop(self._courses, set())
        parents = session.info.pop(self._parents, {})
        records = session.info.pop(self._records, set())
        owners = session.info.pop(self._owners, {})
        connection = session.connection()
        for owner_cls, ids in owners.items():
            column = Course.__table__.c[self.owners[owner_cls]]
            courses.update(
                connection.execute(sa.select(Course.id).where(column.in_(ids))).scalars()
            )
        for parent_cls, ids in parents.items():
            courses.update(
                connection.execute(
                    sa.select(parent_cls.course_id).where(parent_cls.id.in_(ids))
                ).scalars()
            )
        for cls, record_id in records:
            table = cls.__table__
            if cls in self.through:
                key, parent_cls = self.through[cls]
                query = (
                    sa.select(parent_cls.course_id)
                    .join(table, table.c[key] == parent_cls.id)
                    .where(table.c.id == record_id)
                )
            else:
                query = sa.select(table.c.course_id).where(table.c.id == record_id)
            courses.update(connection.execute(query).scalars())
        changed = self.refresh(connection, courses)
        if self.attribute is None:
            return
        # A course this session holds would show the old value until it is next loaded.
        for course_id, value in changed.items():
            course = session.identity_map.get(so.util.identity_key(Course, course_id))
            if course is None:
                continue
            if isinstance(self.attribute, tuple):
                for attribute, part in zip(self.attribute, value, strict=True):
                    so.attributes.set_committed_value(course, attribute, part)
            else:
                so.attributes.set_committed_value(course, self.attribute, value)

    def forget(self, session) -> None:
        for key in self._keys():
            session.info.pop(key, None)


def _row_id(state) -> int:
    # A row inserted by this flush has its id, but no identity key until the flush ends.
    return state.identity[0] if state.identity else state.dict["id"]


def _old_value_unknown(state, key) -> bool:
    """Whether an attribute was set while expired: what it held before is not known here
    (it may have been a value that mattered), so the write counts whatever it wrote."""
    history = state.attrs[key].history
    return bool(history.added) and not history.deleted and not history.unchanged


def values(state, key) -> list:
    """Every value the attribute had or has in this flush (old and new)."""
    history = state.attrs[key].history
    found = [*history.added, *history.unchanged, *history.deleted]
    if not found and key in state.dict:
        found = [state.dict[key]]
    return found


# Courses a walk over every course hands on at once (each refresh batches them further).
EVERY_COURSE_BATCH = 2000


def every_course(connection, size: int = EVERY_COURSE_BATCH) -> Iterator[list[int]]:
    """The ids of every course, in ascending batches (each read when the last is done, so the
    caller may commit between them)."""
    courses = Course.__table__
    last = 0
    while True:
        ids = (
            connection.execute(
                sa.select(courses.c.id)
                .where(courses.c.id > last)
                .order_by(courses.c.id)
                .limit(size)
            )
            .scalars()
            .all()
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def refresh_every_course(connection, refresh: Callable[[object, list[int]], Collection[int]]):
    """`refresh` over every course, in batches of ids: for rows written around the ORM (the
    benchmark's seed). Returns how many courses' values changed."""
    return sum(len(refresh(connection, ids)) for ids in every_course(connection))


def may_be_transition(state, from_phase, to_phase) -> bool:
    """Whether a phase transition this flush wrote is, or was, `from_phase` -> `to_phase`; one
    whose phases are not known here (expired) may be."""
    froms, tos = values(state, "from_phase"), values(state, "to_phase")
    return not froms or not tos or (from_phase in froms and to_phase in tos)


def batches(ids: Iterable[int], size: int):
    """Sorted ids in lists of at most `size` (a lock order, and bounded IN lists)."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
