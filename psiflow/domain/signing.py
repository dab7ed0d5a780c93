"""Electronic signatures (21 CFR 11.50, 11.70): what a signature means and what it binds.

A signature binds the signer to a hash of the record's content at the moment of signing, so
a later change of that content is detected by recomputing the hash.
"""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import date, datetime, time
from decimal import Decimal


class Meaning(enum.StrEnum):
    AUTHORED = "authored"  # I wrote this record and it is true
    CO_FACILITATED = "co_facilitated"  # the second facilitator of a session confirms it
    REVIEWED = "reviewed"  # a supervisor co-signs after review
    APPROVED = "approved"  # a supervisor's decision (e.g. clearing a flag)

    @property
    def label(self) -> str:
        return {
            Meaning.AUTHORED: "Authored",
            Meaning.CO_FACILITATED: "Co-facilitator",
            Meaning.REVIEWED: "Reviewed (co-signed)",
            Meaning.APPROVED: "Approved",
        }[self]


class RecordStatus(enum.StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    COSIGNED = "cosigned"

    @property
    def label(self) -> str:
        return {"draft": "Draft", "signed": "Signed", "cosigned": "Co-signed"}[self.value]


class SigningRefused(ValueError):
    """Signing is not possible yet; `missing` says what to complete first."""

    def __init__(self, missing: list[str]):
        super().__init__("Cannot sign yet: " + "; ".join(missing))
        self.missing = missing

    @property
    def sentence(self) -> str:
        """What a person reads: "Not signed. Still missing: Medical history and Psychiatric
        history." Items that hold commas of their own are set apart by semicolons."""
        return f"Not signed. Still missing: {_listed(self.missing)}."


def _listed(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    comma = "; " if any("," in p for p in parts) else ", "
    return comma.join(parts[:-1]) + (";" if comma == "; " else "") + " and " + parts[-1]


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})
# One encoder for every hash: json.dumps builds a new one per call when given options.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(value):
    if type(value) in _PLAIN_TYPES:  # most values; exact types, so enums still become values
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    # Plain values are taken as they are without a call: a signature's content is mostly them.
    plain = _PLAIN_TYPES
    if isinstance(value, dict):
        return {
            k if type(k) is str else str(k): v if type(v) in plain else _canonical(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [v if type(v) in plain else _canonical(v) for v in value]
    return value


def content_hash(record_type: str, record_id: int, content: dict) -> str:
    """SHA-256 over a canonical JSON form of what was signed (type, id and content)."""
    payload = _CANONICAL_JSON.encode(
        {"type": record_type, "id": record_id, "content": _canonical(content)}
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def addendum_hash(record_hash: str, text: str, author_id: int, created_at: datetime) -> str:
    payload = json.dumps([record_hash, text, author_id, created_at.isoformat()], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def signing_problems(
    *,
    status: RecordStatus,
    voided: bool,
    meaning: Meaning,
    signer_id: int,
    author_id: int,
    signer_is_care_team: bool,
    already_signed_by: set[int],
    pair_signing: bool,
) -> list[str]:
    """Why this signer may not add this signature now (empty: they may)."""
    if voided:
        return ["The record was voided; it cannot be signed."]
    if signer_id in already_signed_by and meaning != Meaning.REVIEWED:
        return ["You have already signed this record."]
    if meaning == Meaning.AUTHORED:
        if status != RecordStatus.DRAFT:
            return ["The record is already signed."]
        if signer_id != author_id:
            return ["Only the author signs a record as its author."]
        return []
    if meaning == Meaning.CO_FACILITATED:
        if not pair_signing:
            return ["This record is not co-signed by a second facilitator."]
        if status == RecordStatus.DRAFT:
            return ["The author signs first."]
        if signer_id == author_id or not signer_is_care_team:
            return ["Only the other facilitator recorded as present in the session co-signs it."]
        return []
    if meaning == Meaning.REVIEWED:
        if status == RecordStatus.DRAFT:
            return ["A draft cannot be reviewed; the author signs first."]
        if status == RecordStatus.COSIGNED:
            return ["The record is already co-signed."]
        if signer_id == author_id:
            return ["Nobody co-signs their own record."]
        return []
    return []
