"""The baseline: the least a Flask page over this database can cost, to measure PsiFlow against.

One route, one raw SQL query, one Jinja template, no login, no ORM, no access checks. It
renders a caseload-like table of about `bytes` bytes (the size of PsiFlow's pages in the same
run), so the ratio of a page to it is what PsiFlow adds beyond serving a page of that size.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, render_template_string, request

from psiflow.models.engine import configure_engine

# Where bench.wsgi mounts it, beside PsiFlow in the same server.
BASELINE_PREFIX = "/__baseline"
# One rendered row is about this many bytes: the query fetches enough rows for the asked size.
ROW_BYTES = 180
MAX_BYTES = 2_000_000

CASELOAD = sa.text(
    """
    SELECT p.id, p.display_name, p.record_number, c.protocol_id, c.phase, c.phase_entered_at
    FROM courses AS c JOIN patients AS p ON p.id = c.patient_id
    ORDER BY c.id
    LIMIT :rows
    """
)

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Baseline</title></head>
<body>
<main>
<h1>Baseline caseload</h1>
<table>
<thead><tr><th scope="col">Patient</th><th scope="col">Record</th><th scope="col">Protocol</th>\
<th scope="col">Phase</th><th scope="col">Since</th></tr></thead>
<tbody>
{% for row in rows %}<tr><th scope="row"><a href="/patients/{{ row.id }}">{{ row.display_name }}\
</a></th><td>{{ row.record_number }}</td><td>{{ row.protocol_id }}</td><td>{{ row.phase }}</td>\
<td>{{ row.phase_entered_at }}</td></tr>
{% endfor %}</tbody>
</table>
</main>
</body>
</html>
"""


def create_baseline(database_url: str | None = None) -> Flask:
    app = Flask(__name__)
    engine = sa.create_engine(database_url or os.environ["PSIFLOW_DATABASE_URL"])
    configure_engine(engine)

    @app.get("/")
    def caseload():
        size = min(request.args.get("bytes", 20_000, type=int), MAX_BYTES)
        with engine.connect() as conn:
            rows = conn.execute(CASELOAD, {"rows": max(1, size // ROW_BYTES)}).all()
        return render_template_string(PAGE, rows=rows)

    return app
