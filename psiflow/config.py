"""Configuration: these defaults < instance/config.py < PSIFLOW_* environment variables."""

from datetime import timedelta

# Used only when PSIFLOW_ENV=development; any other environment refuses to start with it.
DEVELOPMENT_SECRET_KEY = "psiflow-development-only-secret"


class Defaults:
    ENV = "production"
    SECRET_KEY = None
    DATABASE_URL = None  # default: sqlite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    IDLE_TIMEOUT_MINUTES = 15
    # The live session page locks after the idle timeout instead of logging out; a lock held
    # longer than this (the longest session, MDMA's eight hours, with a margin) logs out.
    ROOM_LOCK_HOURS = 12
    LOCKOUT_FAILURES = 5
    LOCKOUT_MINUTES = 15
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = None  # the session's own lifetime bounds the token
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_LOGIN = "10 per minute"
    RATELIMIT_HEADERS_ENABLED = True
    CLINIC_TIMEZONE = "UTC"  # for a user without a clinic (a fresh install's first admin)
    PAGE_SIZE = 50
    # Cards per phase column on the board, longest in phase first; "All N in <phase>" pages
    # through the rest. 50 made a supervisor's board 250 cards (120 kB, the slowest page).
    BOARD_CARDS_PER_PHASE = 20
    PROTOCOL_DIR = None  # default: the protocols shipped in the package
    SCENARIO_DIR = None  # default: the training scenarios shipped in the package
    INSTRUMENT_DIR = None
    # The practicum requirement trainees' hours are counted against: a programme id from
    # PRACTICUM_PROGRAMME_DIR (default: psiflow/programmes, Oregon's and Colorado's).
    PRACTICUM_PROGRAMME = "oregon-psilocybin-facilitator"
    PRACTICUM_PROGRAMME_DIR = None
    # Where critical safety alerts are emailed from and through (psiflow/alert_mail.py);
    # development prints them to the console when no server is named.
    MAIL_URL = None
    MAIL_FROM = "PsiFlow <psiflow@localhost>"
    # The benchmark's statement count per response (psiflow/query_count.py); never in a clinic.
    QUERY_COUNT_HEADER = False


class ConfigError(RuntimeError):
    """The app refuses to start with an unsafe or incomplete configuration."""


def check_config(config) -> None:
    env = config["ENV"]
    if env not in ("development", "testing", "production"):
        raise ConfigError(f"PSIFLOW_ENV must be development, testing or production, not {env!r}")
    key = config.get("SECRET_KEY")
    if env == "development" and not key:
        config["SECRET_KEY"] = DEVELOPMENT_SECRET_KEY
    elif env != "development":
        if not key:
            raise ConfigError(
                "PSIFLOW_SECRET_KEY is not set: set it in the environment or instance/config.py"
            )
        if key == DEVELOPMENT_SECRET_KEY:
            raise ConfigError(
                "The development secret key may only be used with PSIFLOW_ENV=development"
            )
    if env == "development":
        config["SESSION_COOKIE_SECURE"] = False
        config["MAIL_URL"] = config.get("MAIL_URL") or "console"
