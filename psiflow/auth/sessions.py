"""How a session cookie maps back to a user."""

import sqlalchemy as sa
import sqlalchemy.orm as so

from psiflow.extensions import db
from psiflow.models import User

# Run before every request: built once, the id bound at each execution.
_USER_WITH_CLINIC = (
    sa.select(User)
    .where(User.id == sa.bindparam("user_id", type_=sa.Integer))
    .options(so.joinedload(User.clinic))
)


def load_user(session_id: str) -> User | None:
    """Session ids are `user id:session token`; a rotated token ends the session."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.scalar(_USER_WITH_CLINIC, {"user_id": int(user_id)})
    if user is None or not user.active or user.session_token != token:
        return None
    return user
