"""A signature's content hash is over one canonical form: stored signatures must still verify
after any change to how that form is made."""

import enum
import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

from psiflow.domain.signing import content_hash


class Dose(enum.Enum):
    INITIAL = "initial"


def test_the_canonical_form_of_nested_content_is_pinned():
    content = {
        "notes": "Calm, «rested»",
        "given": [1, 2.5, True, None, Dose.INITIAL, datetime(2026, 3, 1, 9, 30, tzinfo=UTC)],
        "plan": {3: Decimal("1.50"), "due": date(2026, 3, 8), "items": ({"n": Dose.INITIAL},)},
        "version": 2,
    }
    payload = (
        '{"content":{"given":[1,2.5,true,null,"initial","2026-03-01T09:30:00+00:00"],'
        '"notes":"Calm, «rested»","plan":{"3":"1.50","due":"2026-03-08",'
        '"items":[{"n":"initial"}]},"version":2},"id":7,"type":"dosing_session"}'
    )
    expected = hashlib.sha256(payload.encode()).hexdigest()
    assert content_hash("dosing_session", 7, content) == expected
