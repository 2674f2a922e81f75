"""The web application: `create_app(settings)` builds it; blueprints add its parts.

The supervisor site, the Twilio webhooks and the browser phone join as blueprints in their
own issues; the foundation serves the health page that says whether the line can take calls.
"""

from __future__ import annotations

from flask import Flask

from ivr.bootstrap import call_services, open_database
from ivr.config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.resolved_secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    database = open_database(settings)
    app.extensions["civicline"] = call_services(settings, database)

    from ivr.web import health

    app.register_blueprint(health.blueprint)
    return app
