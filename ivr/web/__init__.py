"""The web application: `create_app(settings)` builds it; blueprints add its parts.

The health page answers without a login; every other page of the supervisor site needs one
(`ivr.web.auth`), every form carries a CSRF token (Flask-WTF), and the session cookie is
HttpOnly, SameSite=Lax and, with `CIVICLINE_SECURE_COOKIES`, Secure (and HSTS is sent).
Jinja escapes every value it prints, so what a caller said or an SMS carried is shown as
text, and the Content-Security-Policy (`ivr.web.headers`) runs no inline script. Behind
`CIVICLINE_TRUSTED_PROXIES` proxies (nginx), the request's scheme, host and address are
theirs (werkzeug's ProxyFix); without it, no X-Forwarded header is believed.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr.app_context import keep
from ivr.bootstrap import call_services, open_database
from ivr.clock import Clock, utc_now
from ivr.config import Settings
from webhooks import browser_stream, open311
from webhooks import voice as twilio_voice


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> Flask:
    settings = settings or Settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.resolved_secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,
    )
    database = open_database(settings)
    keep(app, call_services(settings, database), settings, clock)
    CSRFProtect(app)

    from ivr.web import (
        account,
        appointments,
        audit,
        auth,
        callbacks,
        calls,
        dashboard,
        headers,
        health,
        language,
        live,
        names,
        notices,
        numbers,
        officers,
        phone,
        privacy,
        tickets,
        users,
    )

    headers.init_app(app, https=settings.secure_cookies)
    auth.init_app(app)
    numbers.init_app(app)
    names.init_app(app)
    language.init_app(app)
    app.register_blueprint(language.blueprint)
    for module in (health, auth, dashboard, calls, tickets, callbacks, appointments, live, audit):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(phone.blueprint)
    app.register_blueprint(officers.blueprint)
    app.register_blueprint(notices.blueprint)
    app.register_blueprint(privacy.blueprint)
    app.register_blueprint(account.blueprint)
    app.register_blueprint(users.blueprint)
    app.register_blueprint(browser_stream.blueprint)
    twilio_voice.init_app(app)
    open311.init_app(app)
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    return app
