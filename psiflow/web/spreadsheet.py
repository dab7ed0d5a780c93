"""CSV files that open safely in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# What a CSV download is sent as. Werkzeug appends "; charset=utf-8" to a text/* mimetype
# itself: naming the charset here as well sent it twice.
MIMETYPE = "text/csv"

# A text cell a spreadsheet would run as a formula is prefixed with ' (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
