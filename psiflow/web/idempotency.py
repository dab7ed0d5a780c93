"""Entries sent from the session room with a key: recorded once however often they are sent.

The live page's script (static/room.js) gives every entry an `entry_key` and the time it was
made (`made_at`) and may send it again after a dropped connection or a lock. An entry view
decorated with `room_entry`:

- with no key (the page without JavaScript) works exactly as before;
- with a key already stored for this user records nothing and answers as the first send did;
- otherwise runs, and the view, when it records the entry, calls `answer_with` just before its
  commit, so the receipt is stored in the same transaction as the entry: either both or neither.

`made_at()` is the time the entry was made, for a view to use as the entry's time when the
facilitator left the time empty ("now" meant the moment they pressed the button).
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import flash, g, redirect, render_template, request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from psiflow.domain.room_entries import EntryRefused, check_key, parse_made_at
from psiflow.extensions import db
from psiflow.models.entry_receipts import EntryReceipt, receipt_for

RECEIPT_HEADER = "X-Entry-Receipt"


def room_entry(view):
    @functools.wraps(view)
    def send(**kwargs):
        g.entry_receipt = None
        g.made_at = None
        key = request.form.get("entry_key", "")
        made_at = request.form.get("made_at", "")
        if not key and not made_at:
            return view(**kwargs)
        try:
            check_key(key)
            g.made_at = parse_made_at(made_at) if made_at else None
        except EntryRefused as refused:
            return _bad_entry(str(refused))
        user_id = current_user.id
        found = receipt_for(user_id, key)
        if found is not None:
            return _repeat(found)
        g.entry_receipt = EntryReceipt(
            user_id=user_id,
            key=key,
            endpoint=request.endpoint,
            path=request.path[:200],
            made_at=g.made_at,
        )
        try:
            response = view(**kwargs)
        except IntegrityError:
            # The same entry sent twice at once: the first send's receipt stands.
            db.session.rollback()
            found = receipt_for(user_id, key)
            if found is None:
                raise
            return _repeat(found)
        if g.entry_receipt is not None and sa.inspect(g.entry_receipt).persistent:
            response.headers[RECEIPT_HEADER] = "recorded"
        return response

    return send


def made_at():
    """When the entry being sent was made (UTC), or None when the page did not say."""
    return g.get("made_at")


def answer_with(location: str, message: str = "", category: str = "", entry=None) -> None:
    """Keep what this send answers beside its key; call it just before the view's commit.
    `entry` is the row the send created (flushed here so its id can be kept)."""
    receipt = g.get("entry_receipt")
    if receipt is None:
        return
    receipt.location = location[:300]
    receipt.message = message
    receipt.category = category
    if entry is not None and hasattr(entry, "__table__"):
        db.session.flush()
        receipt.entry_type = entry.__table__.name
        receipt.entry_id = entry.id
    db.session.add(receipt)


def _repeat(receipt: EntryReceipt):
    if receipt.endpoint != request.endpoint or receipt.path != request.path[:200]:
        return _bad_entry(
            "This entry's key was already used for another entry; nothing was recorded."
        )
    if receipt.message:
        flash(receipt.message, receipt.category or "success")
    response = redirect(receipt.location or request.path)
    response.headers[RECEIPT_HEADER] = "repeated"
    return response


def _bad_entry(message: str):
    return render_template(
        "errors/error.html", code=400, title="Entry not recorded", message=message
    ), 400
