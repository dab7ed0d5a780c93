"""Keeps patient data out of the server's logs: access logs show paths, never query strings.

PsiFlow's URLs carry only opaque ids, but a query string (a search, a filter) or a referrer
may carry what a user typed. Form bodies are never logged, and SQL parameters are hidden by the
engine (see extensions.py).
"""

import logging
import re

# `?` up to the next space or quote: the query part of a request line or a referrer URL.
_QUERY = re.compile(r"\?[^\s\"]*")
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


class DropQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _QUERY.sub("", message), None
        return True


def init_app(_app) -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropQueryStrings) for f in logger.filters):
            logger.addFilter(DropQueryStrings())
