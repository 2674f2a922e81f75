"""The services and settings `create_app` keeps on a Flask application, and the lookups
views and webhooks use to reach them. One place for the keys, so no view spells them."""

from __future__ import annotations

from flask import Flask, current_app

from ivr.calls import CallServices
from ivr.config import Settings

SERVICES = "civicline"
SETTINGS = "civicline.settings"


def keep(app: Flask, services: CallServices, settings: Settings) -> None:
    app.extensions[SERVICES] = services
    app.extensions[SETTINGS] = settings


def share(source: Flask, target: Flask) -> None:
    """Give `target` (an application mounted beside `source`) the same services and settings."""
    keep(target, source.extensions[SERVICES], source.extensions[SETTINGS])


def services() -> CallServices:
    found: CallServices = current_app.extensions[SERVICES]
    return found


def settings() -> Settings:
    found: Settings = current_app.extensions[SETTINGS]
    return found
