"""Supervisor review of signed notes: who reviews what, and the fidelity rating.

Every signed integration note of a supervisee, and every signed record of a trainee (which
counts for nothing until co-signed), waits in the supervisor's queue. The supervisor co-signs
it or returns it with comments; the author answers a returned note with an addendum and
re-submits it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime

# Clinic default: a note waiting longer than this for review is flagged as overdue.
REVIEW_OVERDUE_DAYS = 7
# Record types every supervisee's note of which is reviewed, not only trainees' notes.
ALWAYS_REVIEWED = frozenset({"integration_session"})


class Decision(enum.StrEnum):
    COSIGNED = "cosigned"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return {"cosigned": "Co-signed", "returned": "Returned with comments"}[self.value]


class Fidelity(enum.StrEnum):
    """A rating per adherence item. Categorical rather than 0-3: the protocols define no
    anchors for a numeric competence scale, and a supervisor rating from a written note can
    defend "met / partly / not met" but not a fine grade. "Not applicable" because many items
    (touch, the co-therapist) have no place in a given note."""

    MET = "met"
    PARTLY = "partly"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> str:
        return {
            "met": "Met",
            "partly": "Partly met",
            "not_met": "Not met",
            "not_applicable": "Not applicable",
        }[self.value]


class ReviewRefused(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def needs_review(record_type: str, needs_cosign: bool) -> bool:
    return needs_cosign or record_type in ALWAYS_REVIEWED


def review_problems(
    *,
    decision: Decision,
    reviewer_id: int,
    author_supervisor_id: int | None,
    record_type: str,
    signed: bool,
    cosigned: bool,
    voided: bool,
    needs_cosign: bool,
    returned_open: bool,
    comments: str,
    fidelity: Mapping[str, str] | None,
    adherence_ids: Iterable[str],
    reviewer_allowed: bool | None = None,
    due: bool | None = None,
    waits_for: str | None = None,
    reviewer_refusal: str = "Only the author's own supervisor reviews this note.",
) -> list[str]:
    """Why this reviewer may not take this decision on this record now (empty: they may).

    `reviewer_allowed` and `due` are the record type's own answers where it has them (a
    dosing record is attested by the care team's supervisor once both facilitators signed);
    by default the author's own supervisor reviews what `needs_review` sends to review.
    """
    if reviewer_allowed is None:
        reviewer_allowed = author_supervisor_id == reviewer_id
    if not reviewer_allowed:
        return [reviewer_refusal]
    if voided:
        return ["The record was voided; there is nothing to review."]
    if not signed:
        return ["A draft is not reviewed; the author signs it first."]
    if cosigned:
        return ["The record is already co-signed."]
    if not (needs_review(record_type, needs_cosign) if due is None else due):
        return ["This record does not go to supervisor review."]
    if waits_for:
        return [waits_for]
    if returned_open:
        return ["The note is back with its author; it is reviewed again when re-submitted."]
    problems = []
    if decision == Decision.RETURNED and not comments.strip():
        problems.append("Returning a note needs comments that say what to address.")
    if needs_cosign and decision == Decision.COSIGNED:
        problems += fidelity_problems(fidelity or {}, adherence_ids)
    elif fidelity:
        problems += fidelity_problems(fidelity, adherence_ids, complete=False)
    return problems


def fidelity_problems(
    fidelity: Mapping[str, str], adherence_ids: Iterable[str], complete: bool = True
) -> list[str]:
    ids = list(adherence_ids)
    problems = []
    unknown = sorted(set(fidelity) - set(ids))
    if unknown:
        problems.append("Unknown adherence items: " + ", ".join(unknown) + ".")
    bad = sorted(k for k, v in fidelity.items() if v not in {f.value for f in Fidelity})
    if bad:
        problems.append("Rate each adherence item as met, partly met, not met or not applicable.")
    if complete and any(i not in fidelity for i in ids):
        problems.append(
            "A trainee's record is co-signed with a fidelity rating on every "
            "adherence item of the protocol."
        )
    return problems


def fidelity_summary(fidelity: Mapping[str, str]) -> str:
    """E.g. "5 of 6 applicable items met, 1 partly"."""
    values = [Fidelity(v) for v in fidelity.values()]
    applicable = [v for v in values if v != Fidelity.NOT_APPLICABLE]
    if not applicable:
        return "No applicable items"
    met = sum(v == Fidelity.MET for v in applicable)
    partly = sum(v == Fidelity.PARTLY for v in applicable)
    text = f"{met} of {len(applicable)} applicable items met"
    return text + (f", {partly} partly" if partly else "")


def resubmit_problems(
    *,
    user_id: int,
    author_id: int,
    returned_open: bool,
    returned_at: datetime | None,
    addenda: Iterable[tuple[int, datetime]],
) -> list[str]:
    """The author re-submits a returned note once they have answered it with an addendum."""
    if user_id != author_id:
        return ["Only the note's author re-submits it."]
    if not returned_open or returned_at is None:
        return ["The note is not waiting for its author."]
    if not any(a_author == author_id and at >= returned_at for a_author, at in addenda):
        return ["Answer the supervisor's comments with an addendum before re-submitting."]
    return []
