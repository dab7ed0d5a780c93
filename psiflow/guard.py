"""Enforces access.py on every request, before any view runs.

Order, as in every request: rule lookup (unlisted endpoint: 403) -> login (redirect) ->
idle timeout -> role (403) -> load the patient the URL names (404) -> relationship (404, so
another caseload's patient is indistinguishable from one that does not exist).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user

from psiflow import access, audit
from psiflow.extensions import db, login_manager

# view argument -> loader(value, all view args) returning (object, its patient) or None
_LOADERS: dict[str, tuple[str, Callable]] = {}


def register_loader(view_arg: str, name: str, loader: Callable) -> None:
    """Let a feature's URLs name its own objects (e.g. `session_id`) and still be checked."""
    _LOADERS[view_arg] = (name, loader)


def _load_patient_obj(patient_id: int, _args):
    from psiflow.models import Patient

    patient = db.session.get(Patient, patient_id)
    return (patient, patient) if patient else None


def _load_course(course_id: int, _args):
    from psiflow.models import Course

    course = db.session.get(Course, course_id)
    return (course, course.patient) if course else None


def _load_record(record_id: int, args):
    """Any clinical record, named by `record_type` and `record_id` in the URL."""
    from psiflow.models import RECORD_TYPES

    model = RECORD_TYPES.get(args.get("record_type", ""))
    record = db.session.get(model, record_id) if model else None
    if record is None:
        return None
    g.loaded["course"] = record.course
    return record, record.course.patient


register_loader("patient_id", "patient", _load_patient_obj)
register_loader("course_id", "course", _load_course)
register_loader("record_id", "record", _load_record)


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


def loaded(name: str):
    """The object the guard loaded and checked for this request (e.g. 'patient', 'course')."""
    return g.loaded[name]


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
    if _idle_too_long():
        from psiflow.models.users import end_login_session

        user = current_user._get_current_object()
        end_login_session(user)  # a copy of the cookie with a fresher `seen` is refused too
        db.session.commit()
        audit.record_event("logout", user, detail="idle timeout")
        logout_user()
        session.clear()
        flash("You were logged out after a period of inactivity.", "info")
        return redirect(url_for("auth.login"))
    session["seen"] = int(time.time())
    if not access.role_allowed(current_user, rule):
        refuse(403)
    g.loaded = {}
    if rule.patient is not None:
        _load_and_check(rule.patient)
    return None


def _idle_too_long() -> bool:
    seen = session.get("seen")
    limit = current_app.config["IDLE_TIMEOUT_MINUTES"] * 60
    return seen is not None and time.time() - seen > limit


def _load_and_check(action: access.Action) -> None:
    args = request.view_args or {}
    for view_arg, (name, loader) in _LOADERS.items():
        if view_arg in args:
            found = loader(args[view_arg], args)
            if found is None:
                refuse(404)
            obj, patient = found
            if not access.can(current_user, action, patient):
                refuse(404)
            g.loaded[name] = obj
            g.loaded["patient"] = patient
            if request.method == "GET":
                # Every view of a patient's record is audited here, for every page at once.
                audit.record_event("view", obj, patient_id=patient.id, detail=request.endpoint)
            return
    # A rule that names a patient action on a URL without a patient is a programming error.
    raise RuntimeError(f"{request.endpoint} needs a patient but its URL names none")
