"""Log in, log out, change one's own password."""

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from psiflow import audit
from psiflow.auth.forms import ChangePasswordForm, EndAllSessionsForm, LoginForm
from psiflow.extensions import db, limiter
from psiflow.models.types import utcnow
from psiflow.models.users import (
    end_login_session,
    spend_password_check,
    start_login_session,
    user_by_email,
)
from psiflow.web import room_lock
from psiflow.web.presentation import local_time_of

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an absolute or scheme-relative `next` would be an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("patients.board")


def _failure_reason(user) -> str:
    if user is None:
        return "unknown account"
    return "wrong password" if user.active else "account deactivated"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("patients.board"))
    form = LoginForm()
    if form.validate_on_submit():
        config = current_app.config
        now = utcnow()
        user = user_by_email(form.email.data)
        if user is not None and user.active and user.is_locked(now):
            audit.record_event("login_failure", user, detail="account locked")
            flash(
                "This account is locked after repeated failed log-ins. Try again after "
                f"{local_time_of(user, user.locked_until, '%H:%M')} or ask an administrator.",
                "error",
            )
            return render_template("auth/login.html", form=form), 200
        # The password is checked even for an unknown or deactivated account, so the time a
        # failed log-in takes does not tell which addresses have an account.
        password_ok = (
            user.check_password(form.password.data)
            if user is not None
            else spend_password_check(form.password.data)
        )
        if user is None or not user.active or not password_ok:
            if user is not None and user.active:
                user.record_failed_login(now, config["LOCKOUT_FAILURES"], config["LOCKOUT_MINUTES"])
            # The typed email is not kept: it is often a password typed in the wrong box.
            audit.record_event("login_failure", user, detail=_failure_reason(user))
            db.session.commit()
            flash("The email or password is not correct.", "error")
            return render_template("auth/login.html", form=form), 200
        user.record_successful_login()
        user.upgrade_password_hash(form.password.data)
        start_login_session(user)
        db.session.flush()  # the new log-in takes the audit chain: its event joins the commit
        audit.record_event("login_success", user, actor_id=user.id)
        db.session.commit()
        session.clear()
        login_user(user)
        session["seen"] = int(time.time())
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    user = current_user._get_current_object()
    # Ended on the server, not only in this browser: a saved copy of the cookie is refused.
    end_login_session(user)
    db.session.flush()
    audit.record_event("logout", user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have logged out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/sessions/end", methods=["POST"])
def end_all_sessions():
    """Log out everywhere: for a browser left logged in on a shared tablet or a lost laptop."""
    if not EndAllSessionsForm().validate_on_submit():
        flash("Nothing was changed: the form was not complete.", "error")
        return redirect(url_for("auth.change_password"))
    user = current_user._get_current_object()
    end_login_session(user)
    user.end_sessions()
    db.session.commit()
    audit.record_event("logout", user, detail="everywhere, by the user")
    logout_user()
    session.clear()
    flash("You have logged out on every device.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm(current_user.email)
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors.append("The current password is not correct.")
        else:
            user = current_user._get_current_object()
            user.set_password(form.new_password.data)
            db.session.commit()
            # The rotated token ends every other session; this one continues under the new token.
            login_user(user)
            flash("Your password has been changed. Other sessions have been logged out.", "success")
            return redirect(url_for("patients.board"))
    return render_template("auth/password.html", form=form, end_all=EndAllSessionsForm())


@bp.route("/unlock", methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"])
def unlock():
    """Unlock the session room after the idle limit: the same user's password again, checked
    as a log-in is (rate limit, failed-attempt lockout, audit). Another person cannot unlock
    it: they log in as themselves instead. Answers the page's script in JSON; without
    JavaScript, sends the locked request on (its fields came along in the form)."""
    user = current_user._get_current_object()
    form = room_lock.UnlockForm()
    script = room_lock.from_script()
    if not form.validate_on_submit():
        if script:
            return jsonify(locked=True, error="Enter your password."), 400
        return room_lock.lock_page(form, 400)
    config = current_app.config
    now = utcnow()
    if user.is_locked(now) or not user.check_password(form.password.data):
        if not user.is_locked(now):
            user.record_failed_login(now, config["LOCKOUT_FAILURES"], config["LOCKOUT_MINUTES"])
        detail = "session room lock: " + (
            "account locked" if user.is_locked(now) else "wrong password"
        )
        audit.record_event("login_failure", user, detail=detail)
        if user.is_locked(now):
            # As at the log-in page: repeated failures lock the account, and this login ends.
            end_login_session(user, now)
            db.session.flush()
            audit.record_event("logout", user, detail="session room lock: account locked")
            db.session.commit()
            logout_user()
            session.clear()
            message = (
                "This account is locked after repeated failed attempts; you have been logged "
                f"out. Try again after {local_time_of(user, user.locked_until, '%H:%M')}."
            )
            if script:
                return jsonify(logged_out=True, error=message, login=url_for("auth.login")), 401
            flash(message, "error")
            return redirect(url_for("auth.login"))
        db.session.commit()
        error = "The password is not correct."
        if script:
            return jsonify(locked=True, error=error), 401
        form.password.errors.append(error)
        return room_lock.lock_page(form)
    user.record_successful_login()
    audit.record_event("login_success", user, detail="unlocked the session room")
    db.session.commit()
    session["seen"] = int(time.time())
    if script:
        return jsonify(unlocked=True, csrf_token=generate_csrf())
    method = "POST" if form.resend_method.data == "POST" else "GET"
    target = room_lock.resend_target(form.resend_to.data, method)
    if target is None:
        return redirect(url_for("patients.board"))
    # 307 sends the locked post again, body and all (its fields rode along in this form).
    return redirect(target, 307 if method == "POST" else 303)
