"""What gunicorn serves: `gunicorn 'wsgi:application()'`.

Process tuning lives here, with the process, not in `create_app`: an app built by a test, a
command or the development server is left as Python makes it.

The garbage collector of a process that serves pages: a page allocates tens of thousands of
short-lived objects (rows, Markup strings) while the app itself (models, compiled statements,
the protocol catalog, templates) lives as long as the process. With Python's defaults every
700 new objects started a collection, and every hundredth one walked all ~150,000 of the app's
objects: measured in a worker serving the benchmark's pages, those full collections stopped a
request for 95-170 ms, and collections took ~0.7 ms a request in all. After `settle`: the app's
objects are left out of collections for good and the young are collected every 10,000
allocations; the same pages spent ~0.1 ms a request collecting and the longest stop was 5-8 ms.
"""

from __future__ import annotations

import gc

from psiflow import create_app

YOUNG_COLLECTION_THRESHOLD = 10_000


def settle() -> None:
    """Once the app is built: keep what it holds out of every later collection."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, oldest)


def application(app=None):
    """The app a serving process keeps (configured by PSIFLOW_* and instance/config.py), with
    its garbage collector settled; `app` serves another WSGI app built around PsiFlow."""
    app = app if app is not None else create_app()
    settle()
    return app
