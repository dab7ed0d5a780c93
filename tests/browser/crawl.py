"""The demo clinic's pages as a role reaches them: links followed from the board, a few pages
of each kind (e.g. two patient pages: the kind is /patients/N). The HTML check and the width
check walk the same pages."""

from __future__ import annotations

import re

_LINK = re.compile(r'href="(/[^"#]*)"')
# Downloads and leaving are not pages; the rest is reached by following links from the board.
_NOT_PAGES = re.compile(r"^/(static/|logout)|\.(csv|json)(\?|$)|/export")
PAGES_PER_KIND = 2


def kind(url: str) -> str:
    path, _, query = url.partition("?")
    names = sorted(part.split("=")[0] for part in query.split("&") if part)
    return re.sub(r"\d+", "N", path) + "?" + "&".join(names)


def crawl(client, start: str = "/", limit: int = 120):
    """(url, html) of the pages reached by following links, a few of each kind."""
    seen, per_kind, queue = set(), {}, [start]
    while queue and len(seen) < limit:
        url = queue.pop(0)
        url_kind = kind(url)
        if url in seen or per_kind.get(url_kind, 0) >= PAGES_PER_KIND:
            continue
        seen.add(url)
        per_kind[url_kind] = per_kind.get(url_kind, 0) + 1
        response = client.get(url)
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        html = response.get_data()
        yield url, html
        for link in _LINK.findall(html.decode()):
            link = link.replace("&amp;", "&")
            if not _NOT_PAGES.search(link) and link not in seen:
                queue.append(link)
