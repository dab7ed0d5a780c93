"""How a session cookie maps back to a user."""

import sqlalchemy as sa

from psiflow.extensions import db
from psiflow.models import User


def load_user(session_id: str) -> User | None:
    """Session ids are `user id:session token`; a rotated token ends the session."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.scalar(
        sa.select(User).where(User.id == int(user_id)).options(sa.orm.joinedload(User.clinic))
    )
    if user is None or not user.active or user.session_token != token:
        return None
    return user
