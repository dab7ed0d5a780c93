"""Error pages that tell the user what to do and leak nothing about patients.

A server error page (5xx) is drawn without the database: the database is often what failed,
and finding out who is logged in asks it, so the page is drawn as for nobody logged in.
"""

import sqlalchemy as sa
from flask import current_app, g, render_template, request
from flask_wtf.csrf import CSRFError

from psiflow.audit import AuditTrailUnavailable
from psiflow.extensions import db

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    403: ("Not allowed", "Your role does not give access to this page."),
    404: ("Not found", "There is no such page, or it is not part of your caseload."),
    405: ("Not allowed", "This page does not accept that kind of request."),
    429: ("Too many attempts", "Too many requests in a short time. Wait a minute and try again."),
    500: ("Something went wrong", "Nothing was saved. The error has been logged; try again."),
}
DATABASE_UNAVAILABLE = (
    "Database unavailable",
    "PsiFlow could not reach its database, or the database could not finish the request (it "
    "may be restarting, busy or full). Nothing was saved: try again in a minute, and tell "
    "your administrator if this goes on.",
)
AUDIT_TRAIL_UNAVAILABLE = "Audit trail unavailable"
RECORD_NOT_SHOWN = (
    "The record cannot be shown because the audit trail cannot be written: tell your administrator."
)
NOTHING_DONE = (
    "Nothing was done because the audit trail cannot be written: tell your administrator."
)
# What a driver raises when the database is unreachable, restarting, out of space or too busy
# (SQLAlchemy's pool timeout), as opposed to a fault in PsiFlow (a 500).
_DATABASE_FAILURES = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


def init_app(app) -> None:
    for code in MESSAGES:
        if code != 500:
            app.register_error_handler(code, _handler(code))
    app.register_error_handler(500, _server_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(AuditTrailUnavailable, _audit_trail_unavailable)


def _render(code: int, detail: str | None = None):
    title, message = MESSAGES[code]
    return render_template(
        "errors/error.html", code=code, title=title, message=detail or message
    ), code


def _handler(code: int):
    def handle(_error):
        return _render(code)

    return handle


def _server_error(error):
    _roll_back()
    if isinstance(getattr(error, "original_exception", None), _DATABASE_FAILURES):
        return _render_without_database(503, *DATABASE_UNAVAILABLE)
    return _render_without_database(500, *MESSAGES[500])


def _audit_trail_unavailable(_error):
    # Logged once by the audit trail itself, not here for every refused request.
    _roll_back()
    message = RECORD_NOT_SHOWN if request.method in ("GET", "HEAD") else NOTHING_DONE
    return _render_without_database(503, AUDIT_TRAIL_UNAVAILABLE, message)


def _roll_back() -> None:
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        # The connection the work was on went with the database: there is nothing to undo.
        current_app.logger.warning("The session could not be rolled back after an error")


def _render_without_database(code: int, title: str, message: str):
    # Flask-Login keeps the request's user in g (audit.py and presentation.py read it there):
    # an anonymous one there is never loaded from the database, by the page or after it.
    g._login_user = current_app.login_manager.anonymous_user()
    return render_template(
        "errors/error.html", code=code, title=title, message=message, without_database=True
    ), code


def _csrf_error(_error):
    return _render(
        400,
        "The form had expired or did not come from PsiFlow. Nothing was saved: reload the "
        "page and submit it again.",
    )
