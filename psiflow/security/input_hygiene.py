"""Refuse input no database column can hold, before any view sees it.

PostgreSQL text cannot contain NUL (0x00) characters; SQLite would store them and a later
move to PostgreSQL would fail. No clinical text needs one, so a request carrying one is
refused with a clear 400 and nothing is saved, on both databases alike.
"""

from flask import abort, request


def init_app(app) -> None:
    app.before_request(_refuse_nul_characters)


def _refuse_nul_characters():
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400)
