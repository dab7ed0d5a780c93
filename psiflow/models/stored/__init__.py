"""Stored values: what a course keeps worked out from its records, always equal to the rule.

A **stored value** is something a rule works out from a course's records, kept with the course
so that a page listing a hundred courses reads one column instead of every record of each:

- `attention_from` (`attention.py`): the course's schedule after dosing, in two parts kept
  together: its outstanding items (`CourseDueItem` rows, `domain.schedule.outstanding` less the
  superseded) and `Course.attention_from`, from when it has anything due; read by the
  due-after-dosing boards (the team's most urgent, one ordered statement) and the team
  outcome table's overdue follow-ups.
- `stored_facts` (`gates.py`): `Course.stored_facts`, what the gates out of its phase read (the
  fact sources of `models.courses.gate_facts`); read by boards and the patient page's gates.
- `outcome_scores` (`outcomes.py`): `CourseOutcomeScore` rows, the baseline and latest score
  per outcome instrument (`domain.outcomes.course_outcomes`, picked in SQL); read by the team
  outcome table.
- `care_team` (`care_team.py`): `Course.lead_clinician_id`, `co_facilitator_id` and
  `is_practice`, a copy of the patient's; read by every list of a caseload's courses
  (`models.courses.caseload_courses`). A patient is not a course's record but its owner: a
  write to one touches all its courses (`StoredValue.owners`).

Each rule reads the record and never the clock, so the value only changes when the record
does. The record stays the truth: a phase change asks the records, not the stored copy.

**How the watch keeps it** (`watch.py`). Each value is a `StoredValue` naming, per model class,
the columns its rule reads (`feeds`). Listeners on every session (`init_app`) ask each value,
after every flush, which courses the flush touched through those columns; just before the
transaction commits they hand those course ids to the value's `refresh`, in one batch. A
refresh locks the course rows first (PostgreSQL), works the value out again through the same
rule the pages would use, and writes what changed through SQLAlchemy Core: a derived value is
no clinical change (no audit event, no version bump). A transaction that touches none of what
a rule reads costs nothing more; one rolled back leaves nothing behind.

**Rows written around the ORM** (the benchmark's seed, a manual change in the database, a
restored backup) are not seen by the watch. `flask --app psiflow stored-values verify` lists
every value that disagrees with its rule (course, value, stored, computed) and exits 1 when
any does; `flask --app psiflow stored-values refresh` works every value of every course out
again, in batches. Migrations never apply today's rules (they are frozen): after
`flask db upgrade`, run `stored-values refresh`. The test suite runs `verify` after every
test (tests/conftest.py), so a write path that escapes the watch fails the test that took it.

**Adding a stored value**: add its column or table through a migration (backfilled there by a
frozen copy of the rule, or left NULL where the app works a NULL out live); write a module here
with the rule over many courses (`compute`; the schedule's is `compute_schedule`),
`refresh(connection, course_ids)` returning the courses that changed, `stale(connection,
course_ids)` and the `FEEDS` its rule reads, ending in a `VALUE = StoredValue(...)`; add that to
`VALUES` below; and have the benchmark's seed (bench/records.py) call its refresh over every
course.
"""

from __future__ import annotations

from collections.abc import Iterable

from psiflow.models.session_events import listen_on_every_session
from psiflow.models.stored import attention, care_team, gates, outcomes
from psiflow.models.stored.watch import Disagreement, StoredValue, every_course

__all__ = [
    "VALUES",
    "Disagreement",
    "StoredValue",
    "every_course",
    "init_app",
    "refresh",
    "verify",
]

VALUES: tuple[StoredValue, ...] = (attention.VALUE, gates.VALUE, outcomes.VALUE, care_team.VALUE)


def verify(connection, course_ids: Iterable[int] | None = None) -> list[Disagreement]:
    """Every stored value of these courses (all, by default) that differs from its rule over
    what is on record now, read in batches; nothing is written."""
    found: list[Disagreement] = []
    for ids in every_course(connection) if course_ids is None else [list(course_ids)]:
        for value in VALUES:
            found += value.stale(connection, ids)
    return sorted(found, key=lambda d: (d.course_id, d.value))


def refresh(connection, course_ids: Iterable[int]) -> dict[str, int]:
    """Work every stored value of these courses out again; per value, how many courses'
    value changed."""
    ids = list(course_ids)
    return {value.name: len(value.refresh(connection, ids)) for value in VALUES}


# --- The watch on every session ----------------------------------------------------------------


def init_app(app) -> None:
    listen_on_every_session(
        (
            ("after_flush", _after_flush),
            ("before_commit", _before_commit),
            ("after_transaction_end", _after_transaction_end),
        )
    )


def _after_flush(session, _flush_context) -> None:
    for value in VALUES:
        value.notice(session)


def _before_commit(session) -> None:
    # The commit flushes after this hook: flush now, so what it writes is noticed too.
    session.flush()
    for value in VALUES:
        if value.pending(session):
            value.commit(session)


def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:
        for value in VALUES:
            value.forget(session)
