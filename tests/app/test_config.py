"""Configuration: the layers, and refusing to start unsafely."""

import pytest

from psiflow import create_app
from psiflow.config import DEVELOPMENT_SECRET_KEY, ConfigError


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="PSIFLOW_SECRET_KEY is not set"):
        create_app({"ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_production_refuses_the_development_key(tmp_path):
    with pytest.raises(ConfigError, match="development secret key"):
        create_app(
            {
                "ENV": "production",
                "SECRET_KEY": DEVELOPMENT_SECRET_KEY,
                "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            }
        )


def test_development_gets_a_key_and_insecure_cookies_for_localhost(tmp_path):
    app = create_app({"ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_production_cookies_are_secure_httponly_and_lax(tmp_path):
    app = create_app(
        {"ENV": "production", "SECRET_KEY": "k" * 64, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="PSIFLOW_ENV"):
        create_app({"ENV": "staging", "SECRET_KEY": "k" * 64})


def test_environment_overrides_the_instance_file(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        'SECRET_KEY = "from-file-" + "x" * 40\nIDLE_TIMEOUT_MINUTES = 30\n'
    )
    monkeypatch.setenv("PSIFLOW_IDLE_TIMEOUT_MINUTES", "5")
    monkeypatch.setenv("PSIFLOW_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    import flask

    monkeypatch.setattr(flask.Flask, "auto_find_instance_path", lambda self: str(instance))
    app = create_app()
    assert app.config["SECRET_KEY"].startswith("from-file-")
    assert app.config["IDLE_TIMEOUT_MINUTES"] == 5
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/x.db"


def test_a_broken_protocol_file_stops_the_app_with_file_and_key(tmp_path):
    (tmp_path / "bad.toml").write_text('id = "bad"\n')
    with pytest.raises(ValueError, match="bad.toml"):
        create_app(
            {
                "ENV": "testing",
                "SECRET_KEY": "k" * 64,
                "PROTOCOL_DIR": str(tmp_path),
                "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            }
        )


def test_an_embedded_database_is_opened_for_concurrent_safe_and_fast_use(tmp_path):
    from psiflow.extensions import db

    app = create_app({"SECRET_KEY": "k", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    with app.app_context(), db.engine.connect() as connection:

        def pragma(name):
            return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") == 10000
        assert pragma("foreign_keys") == 1
        assert pragma("synchronous") == 1  # NORMAL: safe with WAL, no sync per commit
        assert pragma("cache_size") == -65536
        assert pragma("mmap_size") == 1 << 30
