"""What gunicorn serves during a benchmark: PsiFlow as configured by its PSIFLOW_* environment,
with the baseline mounted beside it under /__baseline, so both run in the same server, workers
and database.
"""

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from bench.baseline_app import BASELINE_PREFIX, create_baseline
from psiflow import create_app

application = DispatcherMiddleware(create_app(), {BASELINE_PREFIX: create_baseline()})
