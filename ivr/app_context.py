"""The services and settings `create_app` keeps on a Flask application, and the lookups
views and webhooks use to reach them. One place for the keys, so no view spells them.

The recording store is one per process (an object store's client keeps its connections).
The prompt library is one per process too: it caches each language's index of the built
prompts (re-read when a build changes it), which every call's prompts are composed from.
The clock is the application's time of day, so a test can set it for views and webhooks
as it does for the job workers."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app

from ivr.calls.runner import CallServices
from ivr.clock import Clock, utc_now
from ivr.config import Settings
from ivr.recordings import Recordings, recording_store
from speech.prompts import PromptLibrary

SERVICES = "civicline"
SETTINGS = "civicline.settings"
PROMPTS = "civicline.prompts"
CLOCK = "civicline.clock"
RECORDINGS = "civicline.recordings"


def keep(app: Flask, services: CallServices, settings: Settings, clock: Clock = utc_now) -> None:
    app.extensions[SERVICES] = services
    app.extensions[SETTINGS] = settings
    app.extensions[PROMPTS] = PromptLibrary(settings.data_dir / "prompts")
    app.extensions[CLOCK] = clock
    app.extensions[RECORDINGS] = recording_store(settings, services.database)


def share(source: Flask, target: Flask) -> None:
    """Give `target` (an application mounted beside `source`) the same services, settings and
    prompt library, clock and recording store."""
    for key in (SERVICES, SETTINGS, PROMPTS, CLOCK, RECORDINGS):
        target.extensions[key] = source.extensions[key]


def services() -> CallServices:
    found: CallServices = current_app.extensions[SERVICES]
    return found


def settings() -> Settings:
    found: Settings = current_app.extensions[SETTINGS]
    return found


def prompts() -> PromptLibrary:
    found: PromptLibrary = current_app.extensions[PROMPTS]
    return found


def recordings() -> Recordings:
    found: Recordings = current_app.extensions[RECORDINGS]
    return found


def current_time() -> datetime:
    clock: Clock = current_app.extensions[CLOCK]
    return clock()
