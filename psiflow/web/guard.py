"""Enforces access.py on every request, before any view runs.

Order, as in every request: rule lookup (unlisted endpoint: 403) -> login (redirect) ->
idle timeout (logout; in the session room a lock instead, see room_lock.py) -> role (403) ->
load the object the URL names (404) -> relationship to its patient (404, so another
caseload's patient is indistinguishable from one that does not exist).

A view takes that object through the loader of the id its route names, e.g.
`patient = guard.load_patient(patient_id)` or `record = guard.load_record(record_type,
record_id)`: the same load and check, answered once per request (the guard's own call, before
the view, already made it), so reading a view shows what it works on and no view checks access
itself. A feature whose URLs name its own objects registers a loader for them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user

from psiflow import access, audit
from psiflow.extensions import db, login_manager
from psiflow.web import room_lock

# The view arguments a loader reads -> find(*their values) returning (object, its patient) or
# None. In registration order: the guard checks the first whose arguments the URL has.
_FINDERS: dict[tuple[str, ...], Callable] = {}


def register_loader(*view_args: str, find: Callable) -> Callable:
    """Let URLs name an object by `view_args` (e.g. "flag_id") and have it checked before the
    view: `find` takes their values and returns (the object, its patient) or None. Returns the
    loader the views call with those values; it answers the object, checked for this request."""
    _FINDERS[view_args] = find

    def load(*values):
        return _checked(view_args, values)

    return load


def _find_patient(patient_id: int):
    from psiflow.models import Patient

    patient = db.session.get(Patient, patient_id)
    return (patient, patient) if patient else None


def _find_course(course_id: int):
    from psiflow.models import Course

    course = db.session.get(Course, course_id)
    return (course, course.patient) if course else None


def _find_record(record_type: str, record_id: int):
    """Any clinical record, named by its type and id in the URL."""
    from psiflow.models import RECORD_TYPES

    model = RECORD_TYPES.get(record_type)
    record = db.session.get(model, record_id) if model else None
    return (record, record.course.patient) if record else None


load_patient = register_loader("patient_id", find=_find_patient)
load_course = register_loader("course_id", find=_find_course)
load_record = register_loader("record_type", "record_id", find=_find_record)


def refuse(status: int):
    """Answer `status` (403, or 404 for what another caseload holds) and leave a trace in the
    audit trail, so an administrator sees someone probing: who, which endpoint, when, and the
    answer; never anything of the record refused, which may belong to another caseload."""
    if current_user.is_authenticated:  # an anonymous request is sent to log in, not refused
        object_type, object_id = _named_object()
        audit.record_event(
            "refused",
            detail=refusal_detail(status, request.method, request.endpoint),
            object_type=object_type,
            object_id=object_id,
        )
    abort(status)


def refusal_detail(status: int, method: str, endpoint: str | None) -> str:
    return f"{status} {method} {endpoint}"


def read_refusal_detail(detail: str) -> tuple[int, str, str]:
    """(status, method, endpoint) of a refusal recorded by `refuse`."""
    status, method, endpoint = detail.split(" ", 2)
    return int(status), method, endpoint


def _named_object() -> tuple[str | None, int | None]:
    """The id the URL asked for (`patient_id` 42 -> ("patient", 42)): the requester's own
    words, an opaque number, never read from the database."""
    for view_arg, value in (request.view_args or {}).items():
        if view_arg.endswith("_id") and isinstance(value, int):
            return view_arg.removesuffix("_id"), value
    return None, None


def init_app(app) -> None:
    app.before_request(_assign_request_id)
    app.before_request(_enforce)


def _assign_request_id() -> None:
    g.request_id = uuid.uuid4().hex


def _enforce():
    if request.endpoint is None:
        return None  # no such URL: routing answers 404 (or 405)
    rule = access.rule_for(request.endpoint)
    if rule is None:
        refuse(403)  # deny by default: every endpoint must be listed in access.ENDPOINTS
    if rule.public:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not _idle_too_long():
        session["seen"] = int(time.time())
    elif not room_lock.holds(request.endpoint):
        return _log_out_idle()
    elif request.endpoint != room_lock.UNLOCK:
        return room_lock.locked()
    # (auth.unlock, idle: it checks the password, and only then counts as activity.)
    if not access.role_allowed(current_user, rule):
        refuse(403)
    g.checked = {}
    if rule.patient is not None:
        _check_what_the_url_names()
    return None


def _log_out_idle():
    from psiflow.models.users import end_login_session

    user = current_user._get_current_object()
    end_login_session(user)  # a copy of the cookie with a fresher `seen` is refused too
    db.session.commit()
    audit.record_event("logout", user, detail="idle timeout")
    logout_user()
    session.clear()
    flash("You were logged out after a period of inactivity.", "info")
    return redirect(url_for("auth.login"))


def _idle_too_long() -> bool:
    seen = session.get("seen")
    limit = current_app.config["IDLE_TIMEOUT_MINUTES"] * 60
    return seen is not None and time.time() - seen > limit


def _check_what_the_url_names() -> None:
    args = request.view_args or {}
    for view_args in _FINDERS:
        if all(name in args for name in view_args):
            _checked(view_args, tuple(args[name] for name in view_args))
            return
    # A rule that names a patient action on a URL without a patient is a programming error.
    raise RuntimeError(f"{request.endpoint} needs a patient but its URL names none")


def _checked(view_args: tuple[str, ...], values: tuple):
    """The object these URL values name: loaded (404), its patient checked against the
    endpoint's rule (404), and a GET audited as a view of the patient's record; once per
    request and object."""
    action = access.rule_for(request.endpoint).patient
    if action is None:
        raise RuntimeError(
            f"{request.endpoint} loads a patient's object but its rule names no action"
        )
    key = (view_args, values)
    if key in g.checked:
        return g.checked[key]
    found = _FINDERS[view_args](*values)
    if found is None:
        refuse(404)
    obj, patient = found
    if not access.can(current_user, action, patient):
        refuse(404)
    g.checked[key] = obj
    # Every page about a fictional patient says PRACTICE (base.html), whatever it shows.
    g.on_practice_patient = g.get("on_practice_patient", False) or patient.is_practice
    if request.method == "GET":
        # Every view of a patient's record is audited here, for every page at once.
        audit.record_event("view", obj, patient_id=patient.id, detail=request.endpoint)
    return obj
