"""Error pages that tell the user what to do and leak nothing about patients."""

from flask import render_template
from flask_wtf.csrf import CSRFError

from psiflow.extensions import db

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    403: ("Not allowed", "Your role does not give access to this page."),
    404: ("Not found", "There is no such page, or it is not part of your caseload."),
    405: ("Not allowed", "This page does not accept that kind of request."),
    429: ("Too many attempts", "Too many requests in a short time. Wait a minute and try again."),
    500: ("Something went wrong", "Nothing was saved. The error has been logged; try again."),
}


def init_app(app) -> None:
    for code in MESSAGES:
        app.register_error_handler(code, _handler(code))
    app.register_error_handler(CSRFError, _csrf_error)


def _render(code: int, detail: str | None = None):
    title, message = MESSAGES[code]
    return render_template(
        "errors/error.html", code=code, title=title, message=detail or message
    ), code


def _handler(code: int):
    def handle(_error):
        if code == 500:
            db.session.rollback()
        return _render(code)

    return handle


def _csrf_error(_error):
    return _render(
        400,
        "The form had expired or did not come from PsiFlow. Nothing was saved: reload the "
        "page and submit it again.",
    )
