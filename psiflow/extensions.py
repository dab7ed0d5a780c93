"""Every Flask extension, created unbound here and bound to the app in `create_app`."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations reproducible on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(
    model_class=Base,
    engine_options={
        # Bound parameters hold patient data: keep them out of SQL logs and error messages.
        "hide_parameters": True,
        # A pooled connection the database dropped (a restart, an idle timeout) is found dead
        # and replaced when it is taken from the pool, instead of failing the request that
        # took it: a restart of PostgreSQL cost four failed requests without it.
        "pool_pre_ping": True,
    },
)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
# While the limiter's storage (Redis) is away, count in this process rather than answer 500:
# every log-in failed for the whole of an outage, and a facilitator logged out by the idle
# timeout in the middle of a dosing session could not get back in. No in-memory limits of its
# own are given, so the declared limits (the log-in limit) go on applying, per process.
limiter = Limiter(key_func=get_remote_address, in_memory_fallback_enabled=True)
