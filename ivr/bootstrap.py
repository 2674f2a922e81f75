"""The composition root: builds the services a process needs from its settings.

Nothing here runs at import time; `ivr serve`, `ivr worker` and `ivr call` call these.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ivr.appointments.reminders import AppointmentJobs
from ivr.callbacks.jobs import CallbackJobs, LoggingOutboundCaller
from ivr.calls.runner import CallRunner, CallServices
from ivr.calls.stale import sweep_handlers
from ivr.clock import Clock, utc_now
from ivr.config import Settings
from ivr.email.job import email_handlers
from ivr.jobs import GiveUp, sms_handlers
from ivr.open311.client import GeoReportClient
from ivr.open311.push import PUSH_JOB, Pusher
from ivr.privacy.retention import purge_handlers
from ivr.recordings import recording_files, recording_store
from ivr.storage.db import Database
from ivr.storage.directory import sync_departments
from ivr.storage.outbox import LoggingSmsSender
from menus.registry import FlowRegistry
from menus.schema import Flow
from speech.admission import LiveRecognizers
from speech.intents import PhraseMatcher
from speech.job import transcription_handlers
from speech.models import ModelCache, ModelError
from speech.recognizer import VoskRecognizer

if TYPE_CHECKING:
    from twilio.rest import Client

    from ivr.engine.ports import OutboundCaller


def open_database(settings: Settings) -> Database:
    """The database, migrated to the newest schema (the data directory is created)."""
    settings.prepare_data_dir()
    database = Database(settings.resolved_database_url())
    database.upgrade()
    return database


def call_services(settings: Settings, database: Database) -> CallServices:
    """Everything a call needs; loads the flow and syncs its departments into the database."""
    flows = FlowRegistry(settings.flow_path)
    with database.session() as session:
        sync_departments(session, flows.current().flow, utc_now())
    return CallServices(database=database, flows=flows, matcher=PhraseMatcher())


def job_handlers(
    settings: Settings, database: Database
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The worker's job kinds. SMS go through Twilio when it is configured, else to the log;
    descriptions are transcribed with the flow's model for the ticket's language; Twilio's
    recordings are downloaded when its credentials are set."""
    files = recording_files(settings)
    handlers = sms_job_handlers(settings, database)
    handlers.update(callback_job_handlers(settings, database))
    handlers.update(AppointmentJobs(database, FlowRegistry(settings.flow_path)).handlers())
    handlers.update(twilio_recording_handlers(settings, database))
    if pusher := open311_pusher(settings, database):
        handlers.update(pusher.handlers())
    handlers.update(purge_handlers(database, settings.retention(), files, utc_now))
    handlers.update(
        sweep_handlers(
            functools.cache(lambda: call_services(settings, database)),
            timedelta(minutes=settings.stale_call_minutes),
            utc_now,
        )
    )
    handlers.update(email_handlers(settings, database, FlowRegistry(settings.flow_path)))
    handlers.update(
        transcription_handlers(
            database,
            FlowRegistry(settings.flow_path),
            shared_models(),
            files,
        )
    )
    return handlers


@functools.cache
def shared_models() -> ModelCache:
    """The process's Vosk models: each loaded once, on first use, and shared by all calls."""
    return ModelCache()


@functools.cache
def live_recognizers() -> LiveRecognizers:
    """The process's live recognisers, at most CIVICLINE_MAX_RECOGNIZERS of them."""
    return LiveRecognizers(Settings().max_recognizers)


def recognizer_for(
    flow: Flow, language: str, rate: int = 8000, *, live: LiveRecognizers | None = None
) -> VoskRecognizer:
    """A new recogniser for one call in `language`; ModelError when it is keypad-only, and
    KeypadFirst (a ModelError) when `live` (the process's count) is at its limit."""
    name = flow.languages[language].model if language in flow.languages else None
    if name is None:
        raise ModelError(f"the flow has no speech model for {language!r} (keypad only)")
    settings = flow.settings
    recognizer = VoskRecognizer(
        shared_models().get(name),
        rate,
        no_input_seconds=settings.no_input_seconds,
        noisy_confidence=(settings.reject_threshold + settings.confirm_threshold) / 2,
    )
    return (live if live is not None else live_recognizers()).admit(recognizer)


def call_recognizer(runner: CallRunner, language: str, rate: int) -> VoskRecognizer | None:
    """The process's recogniser for a call (the channels' `RecognizerFactory`); None when
    the language is keypad-only or the process is at its limit of live recognisers."""
    try:
        return recognizer_for(runner.loaded.flow, language, rate)
    except ModelError:
        return None


def sms_job_handlers(
    settings: Settings, database: Database
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The "sms.send" job: through Twilio when its credentials are set, else to the log."""
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from:
        from webhooks.sms_sender import TwilioSmsSender
        from webhooks.sms_sender import sms_handlers as twilio_sms_handlers

        client = twilio_client(settings)
        status_url = f"{settings.public_url.rstrip('/')}/twilio/sms-status"
        sender = TwilioSmsSender(
            client, settings.twilio_from, status_url if settings.public_url else None
        )
        return twilio_sms_handlers(database, sender)
    return dict(sms_handlers(database, LoggingSmsSender()))


def twilio_recording_handlers(
    settings: Settings, database: Database, clock: Clock = utc_now
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """The "twilio.recording" job (a recording Twilio made is downloaded into the store, then
    deleted there); none without the account SID and auth token."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return {}
    from webhooks.recordings import recording_handlers

    store = recording_store(settings, database)
    return recording_handlers(database, twilio_client(settings), store, clock)


def job_give_ups(settings: Settings, database: Database) -> dict[str, GiveUp]:
    """What the worker does when a job's attempts are spent: a Twilio recording that could
    not be downloaded is said to be lost on the tickets that link it; a push to the city's
    Open311 endpoint is shown as failed on its ticket."""
    from webhooks.recordings import recording_give_ups

    give_ups = recording_give_ups(database)
    if pusher := open311_pusher(settings, database):
        give_ups[PUSH_JOB] = pusher.give_up
    return give_ups


def open311_pusher(settings: Settings, database: Database, clock: Clock = utc_now) -> Pusher | None:
    """The push to the city's GeoReport endpoint, when CIVICLINE_OPEN311_PUSH_URL is set."""
    if not settings.open311_push_url:
        return None
    client = GeoReportClient(
        settings.open311_push_url,
        settings.open311_push_key,
        (settings.http_connect_seconds, settings.http_read_seconds),
    )
    flows = FlowRegistry(settings.flow_path)
    return Pusher(
        database,
        client,
        lambda: flows.current().flow,
        settings.open311_push_services,
        clock,
        timedelta(minutes=settings.open311_poll_minutes),
    )


def twilio_client(settings: Settings) -> Client:
    """Twilio's REST client for the account (at CIVICLINE_TWILIO_API_URL when it is set),
    with the connect and read timeouts of the settings on every request."""
    from webhooks.twilio_rest import rest_client

    return rest_client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_api_url,
        (settings.http_connect_seconds, settings.http_read_seconds),
    )


def outbound_caller(settings: Settings) -> OutboundCaller:
    """Callbacks are called over Twilio when its credentials, number and the public URL (for
    the calls' webhooks) are set; otherwise the calls are only logged (the demo)."""
    if (
        settings.twilio_account_sid
        and settings.twilio_auth_token
        and settings.twilio_from
        and settings.public_url
    ):
        from webhooks.callback_calls import TwilioOutboundCaller

        return TwilioOutboundCaller(
            twilio_client(settings), settings.twilio_from, settings.public_url
        )
    return LoggingOutboundCaller()


def callback_job_handlers(
    settings: Settings, database: Database, clock: Clock = utc_now
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """Placing callbacks, their reminders, and escalation at a category's deadline."""
    flows = FlowRegistry(settings.flow_path)
    stale_after = timedelta(minutes=settings.callback_stale_minutes)
    jobs = CallbackJobs(database, flows, outbound_caller(settings), clock, stale_after)
    return jobs.handlers()
