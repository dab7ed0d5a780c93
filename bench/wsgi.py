"""What gunicorn serves during a benchmark: PsiFlow as configured by its PSIFLOW_* environment,
with the baseline mounted beside it under /__baseline, so both run in the same server, workers
and database, in a process tuned as wsgi.py tunes a clinic's.
"""

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from bench.baseline_app import BASELINE_PREFIX, create_baseline
from psiflow import create_app
from wsgi import settle

application = DispatcherMiddleware(create_app(), {BASELINE_PREFIX: create_baseline()})
# Tuned as the clinic's own gunicorn entry (wsgi.py) tunes its process.
settle()
