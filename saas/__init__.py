"""SaaS CRM: the Flask application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, g, request, session
from sqlalchemy import event

from saas.config import check_production_safety, load_config

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_config(config, app.instance_path))
    check_production_safety(app.config)
    app.secret_key = app.config["SECRET_KEY"]
    logging.basicConfig(level=logging.INFO)

    from saas import tenancy, uploads
    from saas.extensions import api, babel, csrf, db, limiter, login_manager, migrate

    uploads.install(app)  # before CSRF, which reads the body
    db.init_app(app)
    tenancy.install(db.session.session_factory.class_)
    with app.app_context():
        _tune_engine(db.engine)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    api.init_app(app)

    from saas import api as api_package
    from saas import cli, web
    from saas.hooks import manager as plugin_manager

    api_package.register(app, api)
    web.register(app)
    cli.register(app)
    plugin_manager.init_app(app)
    from saas.jobs import loyalty as loyalty_jobs

    loyalty_jobs.init_app(app)
    from saas.jobs import surveys as survey_jobs

    survey_jobs.init_app(app)  # surveys after resolved tickets / recorded visits
    from saas.services import tickets as ticket_service

    ticket_service.init_app(app)  # the service desk takes inbound channel messages
    from saas.jobs import visits as visit_jobs

    visit_jobs.init_app(app)  # tier changes regenerate return visits

    @app.teardown_appcontext
    def _release(exc):
        db.session.remove()

    return app


def _tune_engine(engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()


def _select_locale() -> str:
    chosen = session.get("locale") if _has_request() else None
    if chosen in ("en", "zh_CN"):
        return chosen
    staff = g.get("staff")
    if staff is not None and staff.locale:
        return staff.locale
    tenant = g.get("tenant")
    if tenant is not None:
        return tenant.locale
    if _has_request():
        return request.accept_languages.best_match(["zh_CN", "zh", "en"]) in ("zh_CN", "zh") \
            and "zh_CN" or "en"
    return "en"


def _select_timezone() -> str:
    tenant = g.get("tenant")
    return tenant.timezone if tenant is not None else "UTC"


def _has_request() -> bool:
    from flask import has_request_context

    return has_request_context()
