"""Links a page repeats on every row, built once per request.

Building a URL through the app's URL map costs more than the rest of a board card together
(about 12 microseconds, a hundred cards and rows on a board). A row link differs from row to
row only in one id, so the URL is built once, around a marker id, and each row's link is the
same text with its own id: what `url_for` itself would build, for an integer id.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import g, url_for

# No row has this id; only its place in the built URL is used.
_MARKER = 9_876_543_210_123


def id_link(endpoint: str, key: str, **values) -> Callable[[int], str]:
    """A function giving `url_for(endpoint, key=id, **values)` for any integer id (`values`
    the same for every row, e.g. a record type)."""
    links = g.setdefault("_id_links", {})
    name = (endpoint, key, *values.items())
    link = links.get(name)
    if link is None:
        built = url_for(endpoint, **values, **{key: _MARKER})
        prefix, _, suffix = built.partition(str(_MARKER))

        def link(value: int) -> str:
            return f"{prefix}{int(value)}{suffix}"

        links[name] = link
    return link


def init_app(app) -> None:
    app.add_template_global(id_link, "id_link")
