"""PsiFlow: run the course of psychedelic-assisted therapy."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from psiflow.config import Defaults, check_config


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults < instance/config.py < PSIFLOW_* environment < `config`."""
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, config)
    register_extensions(app)
    register_catalog(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def load_config(app: Flask, config: dict | None) -> None:
    app.config.from_object(Defaults)
    if config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("PSIFLOW")
    else:
        app.config.update(config)
    check_config(app.config)
    url = app.config.get("DATABASE_URL")
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(app.instance_path) / 'psiflow.sqlite3'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = url


def register_extensions(app: Flask) -> None:
    # Map every model first; the values stored on courses are watched on every session.
    from psiflow import audit, models  # noqa: F401
    from psiflow.extensions import csrf, db, limiter, login_manager, migrate
    from psiflow.models import stored
    from psiflow.models.engine import configure_engine
    from psiflow.web import alert_mail, read_only_requests

    db.init_app(app)
    read_only_requests.init_app(app)
    audit.init_app(app)
    alert_mail.init_app(app)
    stored.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    with app.app_context():
        configure_engine(db.engine)

    from psiflow.auth.sessions import load_user

    login_manager.user_loader(load_user)


def register_catalog(app: Flask) -> None:
    from psiflow.domain.instruments import default_instrument_dir, load_instruments
    from psiflow.domain.protocols import default_protocol_dir, load_protocols
    from psiflow.domain.scenarios import default_scenario_dir, load_scenarios

    protocol_dir = app.config["PROTOCOL_DIR"] or default_protocol_dir()
    instrument_dir = app.config["INSTRUMENT_DIR"] or default_instrument_dir()
    scenario_dir = app.config.get("SCENARIO_DIR") or default_scenario_dir()
    protocols = load_protocols(Path(protocol_dir))
    app.extensions["psiflow"] = {
        "protocols": protocols,
        "instruments": load_instruments(Path(instrument_dir)),
        # Checked against the protocols just loaded: a scenario on a missing protocol stops here.
        "scenarios": load_scenarios(Path(scenario_dir), protocols),
    }


def register_blueprints(app: Flask) -> None:
    from psiflow.admin.views import bp as admin_bp
    from psiflow.audit_trail.views import bp as audit_bp
    from psiflow.auth.views import bp as auth_bp
    from psiflow.integration.views import bp as integration_bp
    from psiflow.measures.views import bp as measures_bp
    from psiflow.patients.views import bp as patients_bp
    from psiflow.preparation.views import bp as preparation_bp
    from psiflow.records.views import bp as records_bp
    from psiflow.regulated.views import bp as regulated_bp
    from psiflow.sessions.views import bp as sessions_bp
    from psiflow.supervision.views import bp as supervision_bp
    from psiflow.training import bp as training_bp
    from psiflow.training import practicum_views  # noqa: F401  (routes on training_bp)
    from psiflow.training import views as training_views  # noqa: F401  (routes on training_bp)

    app.register_blueprint(auth_bp)
    app.register_blueprint(patients_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(preparation_bp)
    app.register_blueprint(measures_bp)
    app.register_blueprint(sessions_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(integration_bp)
    app.register_blueprint(supervision_bp)
    app.register_blueprint(regulated_bp)
    app.register_blueprint(training_bp)


def register_request_hooks(app: Flask) -> None:
    from psiflow.security import headers, input_hygiene, log_privacy
    from psiflow.web import guard, outages, query_count

    input_hygiene.init_app(app)
    guard.init_app(app)
    log_privacy.init_app(app)
    outages.init_app(app)
    headers.init_app(app)
    query_count.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from psiflow.web import errors

    errors.init_app(app)


def register_template_helpers(app: Flask) -> None:
    from psiflow.web import blank_fields, presentation

    presentation.init_app(app)
    blank_fields.init_app(app)


def register_commands(app: Flask) -> None:
    from psiflow import cli

    cli.init_app(app)
