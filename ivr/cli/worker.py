"""`ivr worker`: runs background jobs (DESIGN §6) until stopped (SIGTERM or Ctrl-C)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import timedelta
from types import FrameType

import click

from ivr.bootstrap import job_give_ups, job_handlers, open_database
from ivr.calls.stale import schedule_sweep
from ivr.clock import utc_now
from ivr.config import Settings
from ivr.email.notices import EMAIL
from ivr.jobs import Lane, Worker
from ivr.open311.push import POLL_JOB, PUSH_JOB, schedule_poll
from ivr.privacy.retention import PURGE_JOB, schedule_purge
from ivr.storage.transcriptions import TRANSCRIBE
from ivr.storage.twilio import DOWNLOAD_RECORDING

logger = logging.getLogger(__name__)
SLOW_KINDS = frozenset({TRANSCRIBE, DOWNLOAD_RECORDING, PURGE_JOB, PUSH_JOB, POLL_JOB, EMAIL})
"""Jobs that take seconds to minutes (free-form decoding, downloads, a purge, requests to
the city's Open311 endpoint, e-mail through SMTP): run in a lane of their own, so a callback
due at its slot or an SMS never waits behind them."""


def lanes(settings: Settings) -> tuple[Lane, ...]:
    """The worker's lanes: every kind but the slow ones, and the slow ones."""
    return (
        Lane("prompt", settings.worker_threads, other_kinds=SLOW_KINDS),
        Lane("slow", settings.worker_slow_threads, kinds=SLOW_KINDS),
    )


@click.command("worker")
@click.option("--once", is_flag=True, help="Run the jobs due now, then exit.")
@click.pass_obj
def worker(settings: Settings, once: bool) -> None:
    """Run background jobs: SMS sending, transcriptions, callbacks..."""
    database = open_database(settings)
    runner = Worker(
        database,
        job_handlers(settings, database),
        worker_id=f"{socket.gethostname()}:{os.getpid()}",
        lease_seconds=settings.worker_lease_seconds,
        give_ups=job_give_ups(settings, database),
    )
    if schedule_purge(database, utc_now()):
        logger.info("retention purge scheduled")
    if schedule_sweep(database, utc_now()):
        logger.info("stale-call sweep scheduled")
    every = timedelta(minutes=settings.open311_poll_minutes)
    if settings.open311_push_url and schedule_poll(database, utc_now(), every):
        logger.info("Open311 push and poll scheduled")
    try:
        if once:
            ran = 0
            while runner.run_once():
                ran += 1
            click.echo(f"{ran} jobs run")
            return
        stop = threading.Event()

        def request_stop(signum: int, _frame: FrameType | None) -> None:
            logger.info("%s received: stopping after the running jobs", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        logger.info(
            "worker %s: %s threads, %s for slow jobs, polling every %ss",
            runner.worker_id,
            settings.worker_threads,
            settings.worker_slow_threads,
            settings.worker_poll_seconds,
        )
        runner.run_forever(stop, settings.worker_poll_seconds, lanes(settings))
    finally:
        database.dispose()


def register(main: click.Group) -> None:
    main.add_command(worker)
