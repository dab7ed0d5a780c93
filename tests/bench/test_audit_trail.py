"""The seeded audit trail hashes each row as the app's own `row_hash` does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bench.audit_trail import _chained, hashable
from bench.network import Network, Shape
from psiflow.audit import row_hash
from psiflow.models.audit import GENESIS_HASH

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EVENTS = [
    (AT, 3, "create", "Screening", "17", 40, {"checks": [None, {"b": 1, "a": [True, None]}]}),
    (AT + timedelta(microseconds=7), None, "login_success", "User", "3", None, None),
    (AT, 12, "sign", "Signature", "9", 2, {"note": [None, 'Café "quoted" \\ é 日本\n']}),
    (AT, 5, "create", "Alert", "1", 7, {"amount": [None, 2.5], "empty": [None, []]}),
    (datetime(2026, 3, 1, 4, 0, tzinfo=timezone(timedelta(hours=-8))), 1, "view", "P", "", 1, {}),
]


@pytest.mark.parametrize("sqlite", [True, False])
def test_each_seeded_row_has_the_hash_the_app_gives_it(sqlite):
    net = Network(Shape(10), AT, None, [], "hash", sqlite=sqlite)
    head: dict = {}

    rows = list(_chained(net, [hashable(*event) for event in EVENTS], head))

    prev = GENESIS_HASH
    for (at, actor, action, object_type, object_id, patient, changes), row in zip(
        EVENTS, rows, strict=True
    ):
        seq = row[0]
        fields = {
            "seq": seq,
            "at": at,
            "actor_id": actor,
            "context": "web",
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "patient_id": patient,
            "changes": changes,
            "detail": None,
            "request_id": row[10],
            "remote_addr": "10.0.0.10",
            "prev_hash": prev,
        }
        assert row[12] == prev
        assert row[13] == row_hash(fields)
        assert (json.loads(row[8]) if row[8] else None) == changes
        expected_at = at.astimezone(UTC)
        if sqlite:
            assert row[1] == expected_at.isoformat(" ", "microseconds")[:26]
        else:
            assert datetime.fromisoformat(row[1]) == expected_at
        prev = row[13]
    assert head == {"last_seq": len(EVENTS), "last_hash": prev}
