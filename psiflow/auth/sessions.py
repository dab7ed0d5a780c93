"""How a session cookie maps back to a user."""

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.extensions import db
from psiflow.models import LoginSession, User

# Run before every request: built once, the id and token bound at each execution. The join
# finds the user only while their log-in is open: one statement, as before there were log-ins.
_USER_IN_OPEN_LOGIN = (
    sa.select(User)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        User.id == sa.bindparam("user_id", type_=sa.Integer),
        LoginSession.token == sa.bindparam("login_token", type_=sa.String),
        LoginSession.ended_at.is_(None),
    )
    .options(so.joinedload(User.clinic))
)


def load_user(session_id: str) -> User | None:
    """Session ids are `user id:session token:log-in token`. A rotated session token ends
    every session of the user; an ended log-in ends that one browser's."""
    user_id, _, tokens = session_id.partition(":")
    session_token, _, login_token = tokens.partition(":")
    if not user_id.isdigit() or not session_token or not login_token:
        return None
    user = db.session.scalar(
        _USER_IN_OPEN_LOGIN, {"user_id": int(user_id), "login_token": login_token}
    )
    if user is None or not user.active or user.session_token != session_token:
        return None
    user.login_token = login_token
    return user
