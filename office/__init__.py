"""The office app: create_app() wires configuration, database, login, CSRF, i18n and features."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from office import config, i18n, inputs, once
from office.api import idempotency
from office.auth.access import can_access, enforce_access, undeclared_endpoints
from office.auth.login import init_login
from office.concurrency import retry_writes
from office.db import db
from office.errors import register_error_handlers
from office.jobs import queue as jobs_queue

csrf = CSRFProtect()

# Pages only draw from these; no inline script or style, nothing from another host.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


def create_app(environ: Mapping[str, str] | None = None, **overrides: Any) -> Flask:
    """Build the app from `environ` (default: the process environment), then `overrides`."""
    settings = config.load(os.environ if environ is None else environ)
    app = Flask(
        __name__,
        instance_path=str(config.INSTANCE_PATH),
        template_folder=str(config.ROOT / "templates"),
        static_folder=str(config.ROOT / "static"),
    )
    app.config.update(settings)
    app.config.update(overrides)
    if app.config["OFFICE_PROXY_COUNT"]:
        n = app.config["OFFICE_PROXY_COUNT"]
        # Flask's documented way to wrap the app in WSGI middleware; mypy sees a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=n
        )

    db.init_app(app)
    i18n.init_app(app)
    csrf.init_app(app)
    init_login(app)  # before enforce_access: a session is checked before access to a page
    inputs.init_app(app)  # before the blueprints: their rules take its URL converters
    _register_blueprints(app)
    _register_job_kinds()
    jobs_queue.init_app(app)
    from office.documents.web import allow_uploads

    allow_uploads(app)  # before every check that reads a form
    # Inside the retries: each attempt records its form token or Idempotency-Key anew.
    once.init_app(app)
    idempotency.init_app(app)
    retry_writes(app)
    app.before_request(enforce_access)
    register_error_handlers(app)
    _init_templates(app)

    from office import cli

    cli.register(app)

    missing = undeclared_endpoints(app)
    if missing:
        raise RuntimeError(f"These views declare no access rule: {', '.join(missing)}")
    return app


def _register_blueprints(app: Flask) -> None:
    import office.api.reviews  # noqa: F401 (its routes join the API's blueprint)
    from office.alerts.views import bp as notices_bp
    from office.api import documents as _documents  # noqa: F401 (its routes join the blueprint)
    from office.api import operations as _operations  # noqa: F401 (its routes join the blueprint)
    from office.api import staffing as _staffing  # noqa: F401 (its routes join the blueprint)
    from office.api import supplies as _supplies  # noqa: F401 (its routes join the blueprint)
    from office.api.views import bp as api_bp
    from office.audit.views import bp as audit_bp
    from office.auth.two_factor_views import bp as two_factor_bp
    from office.auth.views import bp as auth_bp
    from office.auth.views import users_bp
    from office.documents.views import bp as documents_bp
    from office.fuel.views import bp as operations_bp
    from office.home.views import bp as home_bp
    from office.jobs.views import bp as jobs_bp
    from office.repairs.views import bp as repairs_bp
    from office.reviews.views import bp as reviews_bp
    from office.staffing.views import bp as staffing_bp
    from office.supplies.views import bp as deliveries_bp
    from office.waivers.views import catalogue_bp, ledger_bp, regimes_bp, waivers_bp

    csrf.exempt(api_bp)  # authenticated by bearer token, never by cookie
    blueprints = (
        auth_bp,
        two_factor_bp,
        users_bp,
        home_bp,
        notices_bp,
        staffing_bp,
        operations_bp,
        deliveries_bp,
        repairs_bp,
        waivers_bp,
        ledger_bp,
        catalogue_bp,
        regimes_bp,
        reviews_bp,
        documents_bp,
        audit_bp,
        jobs_bp,
        api_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)


def _register_job_kinds() -> None:
    """Import each feature's kinds of job, so that web and workers know them all."""
    import office.alerts.jobs
    import office.audit.jobs
    import office.fuel.jobs
    import office.jobs.cleanup
    import office.reviews.jobs
    import office.staffing.jobs
    import office.supplies.jobs
    import office.waivers.jobs  # noqa: F401


def _this_page() -> str:
    """Where switching language should come back to: this page, or after a form was posted
    (a refused one shown again), the page the form was on."""
    from urllib.parse import urlsplit

    from office.web import safe_next

    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return "/"
    target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return safe_next(target) or "/"


def _init_templates(app: Flask) -> None:
    from office.auth.forms import ActionForm, LanguageForm
    from office.auth.permissions import role_label
    from office.navigation import visible_nav
    from office.stock.models import reference_label
    from office.waivers.units import format_amount, unit_name

    # Quantities with their unit as people read them: {{ q | amount(unit) }}, unit_name(unit).
    app.jinja_env.filters["amount"] = format_amount
    app.jinja_env.globals["unit_name"] = unit_name
    app.jinja_env.globals["reference_label"] = reference_label

    @app.context_processor
    def shell() -> dict[str, Any]:
        return {
            "can_access": can_access,
            "nav": visible_nav,
            "role_label": role_label,
            "language_form": lambda: LanguageForm(formdata=None, next=_this_page()),
            "this_page": _this_page,
            "logout_form": lambda: ActionForm(formdata=None),
        }

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
