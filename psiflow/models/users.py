"""Clinics and the people who use PsiFlow."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from psiflow.access import Role
from psiflow.extensions import db
from psiflow.models.types import UTCDateTime, enum_column, utcnow
from psiflow.security.password_hashing import hash_password, needs_rehash, password_matches

# Checked when the email matches no account (see auth.views.login).
_UNKNOWN_ACCOUNT_HASH = hash_password(secrets.token_hex(16))


def spend_password_check(password: str) -> bool:
    """The cost of one password check, for a log-in whose email matches no account: False."""
    password_matches(_UNKNOWN_ACCOUNT_HASH, password)
    return False


class Clinic(db.Model):
    __tablename__ = "clinics"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    role: so.Mapped[Role] = so.mapped_column(enum_column(Role), index=True)
    clinic_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("clinics.id"), index=True)
    supervisor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    # Rotated on password change and deactivation so every open session of the user ends.
    session_token: so.Mapped[str] = so.mapped_column(
        sa.String(64), default=lambda: secrets.token_hex(16)
    )
    active: so.Mapped[bool] = so.mapped_column(default=True)
    failed_logins: so.Mapped[int] = so.mapped_column(default=0)
    locked_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    password_changed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    clinic: so.Mapped[Clinic | None] = so.relationship()
    supervisor: so.Mapped[User | None] = so.relationship(
        remote_side=[id], back_populates="supervisees"
    )
    supervisees: so.WriteOnlyMapped[User] = so.relationship(back_populates="supervisor")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

    @property
    def is_active(self) -> bool:
        return self.active

    # The token of the log-in this request runs under (see LoginSession), set when the
    # session cookie is read or a log-in starts; not a column.
    login_token = None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}:{self.login_token}"

    @property
    def timezone(self) -> str | None:
        return self.clinic.timezone if self.clinic else None

    def set_password(self, password: str, now: datetime | None = None) -> None:
        self.password_hash = hash_password(password)
        self.password_changed_at = now or utcnow()
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return password_matches(self.password_hash, password)

    def upgrade_password_hash(self, password: str) -> None:
        """After a successful log-in: re-hash a password stored with older Argon2 settings."""
        if needs_rehash(self.password_hash):
            self.password_hash = hash_password(password)

    def end_sessions(self) -> None:
        self.session_token = secrets.token_hex(16)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def record_failed_login(self, now: datetime, limit: int, minutes: int) -> None:
        self.failed_logins += 1
        if self.failed_logins >= limit:
            self.locked_until = now + timedelta(minutes=minutes)
            self.failed_logins = 0

    def record_successful_login(self) -> None:
        self.failed_logins = 0
        self.locked_until = None

    def deactivate(self) -> None:
        self.active = False
        self.end_sessions()


class LoginSession(db.Model):
    """One log-in on one browser, named in its session cookie by a random token.

    Logging out ends it here, on the server, so a copy of the cookie saved before (a shared
    tablet, a cookie lifted from a browser) is refused afterwards. Logging out everywhere
    rotates the user's `session_token` instead, which every cookie also carries.
    """

    __tablename__ = "login_sessions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    token: so.Mapped[str] = so.mapped_column(
        sa.String(64), unique=True, default=lambda: secrets.token_hex(16)
    )
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    ended_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


def start_login_session(user: User) -> LoginSession:
    """A new log-in for `user`; the caller commits, then hands `user` to `login_user`."""
    login = LoginSession(user_id=user.id, token=secrets.token_hex(16))
    db.session.add(login)
    user.login_token = login.token
    return login


def end_login_session(user: User, now: datetime | None = None) -> None:
    """End the log-in this request runs under; the caller commits."""
    login = db.session.scalar(
        sa.select(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.token == user.login_token
        )
    )
    if login is not None and login.ended_at is None:
        login.ended_at = now or utcnow()


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
