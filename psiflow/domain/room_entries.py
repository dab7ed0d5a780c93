"""What an entry sent from the session room may say about itself: its key and when it was made.

A tablet keeps an entry while the connection is down or the page is locked and sends it later;
the entry then keeps the time it was made, not the time it arrived (DESIGN.md section 5), as
long as that time is believable.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# The keys the page makes: crypto.randomUUID(), a version-4 UUID in its canonical spelling.
_ENTRY_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
# The page corrects its clock against the server's when it loads; what is left is the drift of
# a tablet's clock over a session, and the time a request takes.
MADE_AT_AHEAD = timedelta(minutes=2)
# The longest a session runs (MDMA: eight hours) with a margin: an entry older than this was
# not made in a session still open, or its clock is wrong.
MADE_AT_OLDEST = timedelta(hours=24)


class EntryRefused(ValueError):
    """An entry key or time that cannot be taken; the message says why, for the facilitator."""


def check_key(key: str) -> str:
    if not _ENTRY_KEY.fullmatch(key):
        raise EntryRefused(
            "This entry's key is not one the session page makes; nothing was recorded."
        )
    return key


def parse_made_at(text: str) -> datetime:
    """The ISO 8601 time the page sent, as UTC; it must say its offset ("Z" or "+02:00")."""
    try:
        made_at = datetime.fromisoformat(text.strip())
    except ValueError:
        made_at = None
    if made_at is None or made_at.tzinfo is None or len(text) > 40:
        raise EntryRefused("The time this entry was made could not be read; nothing was recorded.")
    return made_at.astimezone(UTC)


def made_at_error(made_at: datetime, started_at: datetime, now: datetime) -> str | None:
    """Why `made_at` cannot be the time of an entry in a session started at `started_at`."""
    if made_at > now + MADE_AT_AHEAD:
        return (
            "This entry says it was made in the future: the device's clock is wrong. "
            "Nothing was recorded; enter the time it happened."
        )
    if made_at < started_at:
        return (
            "This entry says it was made before the session started. Nothing was recorded; "
            "enter the time it happened."
        )
    if made_at < now - MADE_AT_OLDEST:
        return (
            "This entry was made more than 24 hours ago. Nothing was recorded; enter the "
            "time it happened."
        )
    return None
