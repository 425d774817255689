"""Jing'an Toolbox platform core. create_app() is the only place extensions and blueprints are wired."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from flask import Flask, current_app, jsonify, redirect, url_for
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as settings
from app.services import crypto


def create_app(config: Mapping | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    app.config.from_mapping(settings.from_environment())
    if config:
        app.config.from_mapping(config)
    crypto.check_production_settings(app.config)  # refuses to start, naming the variable to set
    os.makedirs(app.instance_path, exist_ok=True)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    from app import input_guard  # first: its int converter bounds every rule, its check runs before all others

    input_guard.init_app(app)
    app.json.ensure_ascii = False  # Chinese stays readable in JSON

    proxies = int(os.environ.get("TRUSTED_PROXIES", "0"))
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    from app import auth, errors, models  # noqa: F401 - models register their tables
    from app.extensions import db, migrate
    from app.services import attachments as _attachments  # noqa: F401 - keeps photo links on every flush
    from app.services import exports as _exports  # noqa: F401 - export sources and the expiry job
    from app.services import outbox as _outbox  # noqa: F401 - its session listeners, before any commit
    from app.services import redis_conn
    from app.services import search as _search  # noqa: F401 - the query index listens to searchable_* signals
    from app.services.assessment import store as _stats  # noqa: F401 - assessment facts follow every work item

    db.init_app(app)
    from app.extensions import ping_idle_connections
    with app.app_context():
        ping_idle_connections(db.engine, app.config.get("DB_PING_IDLE_SECONDS", 30))
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    redis_conn.init_app(app)
    errors.register_error_handlers(app)
    auth.init_app(app)

    from miniprogram_api import bp as api_v1
    from miniprogram_api.docs import docs_bp

    app.register_blueprint(api_v1)
    app.register_blueprint(docs_bp)
    from app.wecom.callback import bp as wecom_callback_bp
    app.register_blueprint(wecom_callback_bp)
    from app.services import workflow  # issue 4: card taps decide approvals; supervision job
    workflow.init_app(app)
    from app.services import integrations  # issue 19: other systems hear every change (webhooks)
    integrations.init_app(app)

    from app import web  # issue 16: the shared page layer (templates, assets, page sessions)
    from h5.staff import bp as staff_bp  # the staff workbench, /h5/staff/

    web.init_app(app)
    app.register_blueprint(staff_bp)
    from app.console import bp as console_bp  # issue 18: the admin console, /console/

    app.register_blueprint(console_bp)
    app.add_url_rule("/", "index", index)

    from app.cli import toolbox_cli

    app.cli.add_command(toolbox_cli)  # before the registry, which adds the tools' command groups to it

    from app import registry
    from app.services.toolbox import require_tool_access

    # Discovers the tools by the package names in TOOLBOX_PACKAGES and the entry points, and wires
    # what they declare. The platform's access rule (role, and not switched off for the caller's
    # unit; 403 tool_not_available) runs before every view of every tool.
    registry.init_app(app, may_open=lambda code: require_tool_access(auth.current_user(), code))
    from miniprogram_api import definitions as defined_tools  # issue 15: tools defined without code

    defined_tools.init_app(app)
    if _tool_migrations not in migrate.configure_callbacks:
        migrate.configure(_tool_migrations)

    app.add_url_rule("/healthz", "healthz", healthz)
    crypto.log_key_check(app)
    return app


def index():
    """The start page: the console for a signed-in administrator, the workbench for everyone else."""
    from app.console import ADMIN_ROLES
    from app.services.scope import business_memberships
    from app.web.session import page_user

    user = page_user()
    if user is not None and user.has_role(*ADMIN_ROLES) and not business_memberships(user):
        return redirect(url_for("console.home"))
    return redirect(url_for("staff.home"))


def _tool_migrations(config):
    """Alembic reads the core chain (migrations/versions) and each registered tool's branch in its own folder."""
    core = os.path.join(config.get_main_option("script_location"), "versions")
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations",
                           os.pathsep.join([core, *current_app.extensions["toolbox"].migration_dirs()]))
    return config


def healthz():
    """Database and Redis reachability, for load balancers and operators."""
    from app.extensions import db
    from app.services.redis_conn import get_redis

    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report, don't raise
        checks["database"] = f"error: {type(exc).__name__}"
    conn = get_redis()
    if conn is None:
        checks["redis"] = "not configured"
    else:
        try:
            conn.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(v in ("ok", "not configured") for v in checks.values())
    encryption = _encryption_check() if checks["database"] == "ok" else "not checked"
    # A wrong field key is reported, not a reason to take the host out of the load balancer: logins and
    # everything but the personal fields keep working while the key is fixed.
    status = "ok" if healthy and encryption in ("ok", "no personal data yet") else "degraded"
    return jsonify({"status": status, **checks, "encryption": encryption}), 200 if healthy else 503


def _encryption_check() -> str:
    from app.extensions import db

    try:
        status, wrong = crypto.key_check(db.session, db.metadata)
    except Exception as exc:  # noqa: BLE001 - report, don't raise
        db.session.rollback()
        return f"error: {type(exc).__name__}"
    return f"error: FIELD_ENCRYPTION_KEYS cannot decrypt {', '.join(wrong)}" if wrong else status
