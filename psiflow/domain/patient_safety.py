"""Which of a patient's current medicines the protocol's substance interacts with.

The classes and the names in them are protocol data (`[[interacting_medicines]]`, each with its
source); this only matches a free-text medicine list against them, so the header that the room
reads (patient page, live session, every print) can put those medicines first, with why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from psiflow.domain.protocols import InteractingMedicine


@dataclass(frozen=True)
class CurrentMedicine:
    text: str  # as the clinician wrote it ("Sertraline 100 mg daily")
    interacts_with: tuple[InteractingMedicine, ...]  # empty: nothing the protocol lists


def _mentions(text: str, name: str) -> bool:
    # Whole words, so "lithium" is found in "Lithium carbonate 400 mg" but "maoi" is not
    # found inside another word.
    return re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", text.lower()) is not None


def current_medicines(
    lines: list[str], classes: tuple[InteractingMedicine, ...]
) -> list[CurrentMedicine]:
    """Each medicine line with the interacting classes it belongs to, in the order written."""
    return [
        CurrentMedicine(
            text=line,
            interacts_with=tuple(c for c in classes if any(_mentions(line, n) for n in c.names)),
        )
        for line in lines
    ]
