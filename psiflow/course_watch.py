"""Which courses a transaction touched through what a value stored on the course reads.

A course stores values worked out from its records so that lists of a hundred courses need not
read every record of each (`Course.attention_from`, `Course.gate_facts`). Such a value must
change whenever what it reads does. A `CourseWatch` names, per class, the columns its rule
reads; session listeners note at each flush which courses such a write touched and, just before
the transaction commits, hand their ids to the watch's `refresh` in one batch. Nothing else is
read or written when a transaction touches none of it. Rows written around the ORM (the
benchmark's seed, a migration) call the refresh themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.models.courses import Course


def _always(_cls, _state) -> bool:
    return True


@dataclass(frozen=True)
class CourseWatch:
    """One stored course value and what its rule reads."""

    name: str
    # The course attribute holding the value, or None for values kept in a table of their own.
    attribute: str | None
    # Per class, the columns the rule reads. An insert or delete counts whole.
    feeds: Mapping[type, tuple[str, ...]]
    # refresh(connection, course ids) works the value out again and returns the courses whose
    # value changed: {id: new value} when `attribute` names it.
    refresh: Callable[[object, set[int]], Collection[int]]
    # Whether this write (class, instance state) can change the value at all.
    can_matter: Callable[[type, object], bool] = _always
    inserts_that_cannot_matter: tuple[type, ...] = ()
    # Classes without a course: the attribute naming their parent row, and the parent class
    # (whose `course_id` is the course).
    through: Mapping[type, tuple[str, type]] = field(default_factory=dict)

    @property
    def _courses(self) -> str:
        return f"psiflow.course_watch.{self.name}.courses"

    @property
    def _parents(self) -> str:  # {parent class: ids whose course is unknown}
        return f"psiflow.course_watch.{self.name}.parents"

    @property
    def _records(self) -> str:  # (class, id) whose course is unknown
        return f"psiflow.course_watch.{self.name}.records"

    def _keys(self) -> tuple[str, str, str]:
        return self._courses, self._parents, self._records

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
            if self.can_matter(cls, state):
                self._note(session, cls, state)

    def _note(self, session, cls, state) -> None:
        courses = session.info.setdefault(self._courses, set())
        if cls is Course:
            courses.add(_row_id(state))
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
        connection = session.connection()
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
            if course is not None:
                so.attributes.set_committed_value(course, self.attribute, value)

    def forget(self, session) -> None:
        for key in self._keys():
            session.info.pop(key, None)


def _row_id(state) -> int:
    # A row inserted by this flush has its id, but no identity key until the flush ends.
    return state.identity[0] if state.identity else state.dict["id"]


def values(state, key) -> list:
    """Every value the attribute had or has in this flush (old and new)."""
    history = state.attrs[key].history
    found = [*history.added, *history.unchanged, *history.deleted]
    if not found and key in state.dict:
        found = [state.dict[key]]
    return found


_WATCHES: list[CourseWatch] = []


def watch(course_watch: CourseWatch) -> CourseWatch:
    """Register a stored course value: its listeners run on every session from now on."""
    if all(w.name != course_watch.name for w in _WATCHES):
        _WATCHES.append(course_watch)
    return course_watch


def init_app(app) -> None:
    # On the base Session class, like the audit trail: every session, whoever opened it.
    for name, listener in (
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not sa.event.contains(so.Session, name, listener):
            sa.event.listen(so.Session, name, listener)


def _after_flush(session, _flush_context) -> None:
    for course_watch in _WATCHES:
        course_watch.notice(session)


def _before_commit(session) -> None:
    # The commit flushes after this hook: flush now, so what it writes is noticed too.
    session.flush()
    for course_watch in _WATCHES:
        if course_watch.pending(session):
            course_watch.commit(session)


def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:
        for course_watch in _WATCHES:
            course_watch.forget(session)


# Courses a refresh of every course hands on at once (each refresh batches them further).
_EVERY_COURSE_BATCH = 2000


def refresh_every_course(connection, refresh: Callable[[object, list[int]], Collection[int]]):
    """`refresh` over every course, in batches of ids: for rows written around the ORM (the
    benchmark's seed, a migration). Returns how many courses' values changed."""
    courses = Course.__table__
    last, total = 0, 0
    while True:
        ids = (
            connection.execute(
                sa.select(courses.c.id)
                .where(courses.c.id > last)
                .order_by(courses.c.id)
                .limit(2000)
            )
            .scalars()
            .all()
        )
        if not ids:
            return total
        total += len(refresh(connection, ids))
        last = ids[-1]


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
