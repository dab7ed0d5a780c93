"""The dosing sessions panel of the patient page (`templates/sessions/_panel.html`): its
context, per the contract in `psiflow.web.panels`."""

from __future__ import annotations

from psiflow.domain.phases import Phase
from psiflow.sessions.queries import courses_sessions


def panel_context(courses) -> dict[int, dict]:
    """The dosing sessions panel: each course's sessions as lines (one statement) and
    whether a session may be started."""
    sessions = courses_sessions(courses)
    return {
        c.id: {
            "dosing": sessions[c.id],
            "can_start": c.phase == Phase.DOSING,
        }
        for c in courses
    }
