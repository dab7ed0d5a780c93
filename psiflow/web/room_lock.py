"""The session room locks instead of logging out.

Idle logout (guard.py) throws away the entry a facilitator makes after a quiet quarter of an
hour. On the pages of the session room, an idle login is therefore *locked*, not ended: the
request is answered "locked", nothing of it is recorded, and what it carried is handed back
(to the page's script as a 401 it keeps the entry for; without JavaScript as a password page
that carries the posted fields and sends them again once the password is verified, see
`auth.unlock`). Everywhere else idle logout stays exactly as it is, and a lock held longer than
`ROOM_LOCK_HOURS` ends the login as idle logout does.

Unlocking asks the same user's password again, through the same checks as logging in (rate
limit, failed-attempt lockout, audit): a lock is never weaker than logging in again.
"""

from __future__ import annotations

import time

from flask import current_app, jsonify, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

UNLOCK = "auth.unlock"
# The live page and every entry posted from it.
ROOM_ENDPOINTS = frozenset(
    {
        "sessions.live",
        "sessions.answer",
        "sessions.details",
        "sessions.dose",
        "sessions.event",
        "sessions.vitals",
        "sessions.acknowledge",
        "sessions.adverse_event",
        "sessions.discharge",
        "sessions.end_early",
        "sessions.follow_up_adverse_event",
    }
)
# Sent by static/room.js with every request it makes: it wants JSON, not a page.
SCRIPT_HEADER = "X-Room-Entry"
# Fields a lock never carries on: the password typed to unlock and where to send the entry.
_OWN_FIELDS = frozenset({"password", "resend_to", "resend_method"})


class UnlockForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=512)])
    # Where the locked request went, and how: sent there again once the password is verified.
    resend_to = HiddenField()
    resend_method = HiddenField()


def holds(endpoint: str | None) -> bool:
    """Whether an idle login locks (rather than ends) for a request to `endpoint`."""
    if endpoint not in ROOM_ENDPOINTS and endpoint != UNLOCK:
        return False
    seen = session.get("seen")
    limit = current_app.config["ROOM_LOCK_HOURS"] * 3600
    return seen is not None and time.time() - seen <= limit


def from_script() -> bool:
    return request.headers.get(SCRIPT_HEADER) == "1"


def locked():
    """The answer to a session-room request made while the login is locked."""
    if from_script():
        return jsonify(locked=True, unlock=url_for(UNLOCK)), 401
    form = UnlockForm(
        formdata=None, resend_to=request.full_path.rstrip("?"), resend_method=request.method
    )
    return lock_page(form)


def lock_page(form, status: int = 401):
    """The password page; the request's own fields ride along, hidden, to be sent again."""
    carried = [
        (name, value) for name, value in request.form.items(multi=True) if name not in _OWN_FIELDS
    ]
    return render_template(
        "auth/unlock.html",
        form=form,
        carried=carried,
        carries_csrf=any(name == "csrf_token" for name, _ in carried),
    ), status


def resend_target(path: str | None, method: str) -> str | None:
    """`path` when it is a session-room address of this site that takes `method`, else None:
    a lock page never sends anyone elsewhere."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(path.split("?", 1)[0], method=method)
    except Exception:  # noqa: BLE001 - any path that does not route is simply not a target
        return None
    return path if endpoint in ROOM_ENDPOINTS else None
