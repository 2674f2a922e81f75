"""`ivr serve`: the web application under gunicorn's threaded workers (DESIGN §1); the
worker beats in `line_nodes` as a node of its own (`ivr.calls.heartbeat`)."""

from __future__ import annotations

import gc
import sys
import threading
from pathlib import Path
from typing import Any

import click
from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from ivr import app_context
from ivr.calls import heartbeat
from ivr.config import MissingSecretKey, Settings
from ivr.logs import protect

SWITCH_INTERVAL_SECONDS = 0.001
"""How long a thread may hold the GIL while others wait (Python's default is 5 ms). A stream
server runs a few hundred threads, and a call's turn (the engine, SQLite) gives the GIL up at
every statement: at 5 ms a turn waited for it again and again behind the media threads
(bench/twilio_streams.py, 100 keypad-only calls, one A/B pair on the shared machine: the
ticket turn's reply p50 2.3 s at 5 ms, 82 ms at 1 ms)."""

THREADS = 128
"""A live stream (a Twilio or browser call) holds one thread for its whole call, so the
threads bound the concurrent calls of a process, webhooks and pages sharing what is left (at
16, a 17th call's webhook waited for a call to end, and Twilio gives up after 15 s). 128 is
above what one process carries on one core (bench/twilio_streams.py); an idle thread costs
little memory."""


def register(main: click.Group) -> None:
    main.add_command(serve)


class _Logger(glogging.Logger):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's own logs (errors, the access log) with callers' numbers masked."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        protect(self.error_log)
        protect(self.access_log)


class _Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn run from our own command, so `ivr serve` needs no separate config file."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """The app, made once before the worker forks; what it holds is then kept out of
        the garbage collector's full passes (`gc.freeze`), which otherwise walk every
        object of the loaded app and flow while calls wait (80–260 ms at 100 calls)."""
        from ivr.web import create_app

        app = create_app(self.settings)
        gc.freeze()
        return app


def beat_while_working(worker: Any) -> None:
    """gunicorn's post_worker_init: the worker, which holds the Media Streams, beats as a node
    of its own (`ivr.calls.heartbeat`) until it exits, so the calls whose streams it held are
    known lost soon after it dies (`ivr.calls.stale`)."""
    with worker.wsgi.app_context():
        database = app_context.services().database
    heartbeat.start_beating(database, heartbeat.serve_node_name(), threading.Event())


def control_socket(settings: Settings, port: int) -> Path:
    """gunicorn's control socket (for `gunicornc`), one per instance: in its data directory
    and named for its port, instead of gunicorn's default shared by every server of the user
    (`~/.gunicorn/gunicorn.ctl`)."""
    return settings.prepare_data_dir().resolve() / f"gunicorn-{port}.ctl"


@click.command()
@click.option("--host", help="Address to listen on (CIVICLINE_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Port (CIVICLINE_PORT, default 8080).")
@click.option(
    "--threads", default=THREADS, show_default=True, help="Threads (a live stream holds one)."
)
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, threads: int) -> None:
    """Serve the supervisor site, the browser phone and the Twilio webhooks (gunicorn gthread)."""
    try:
        settings.resolved_secret_key()
    except MissingSecretKey as error:
        raise click.ClickException(str(error)) from None
    port = port or settings.port
    bind = f"{host or settings.host}:{port}"
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)  # inherited by the forked worker
    click.echo(f"civicline listening on http://{bind}")
    _Server(
        settings,
        {
            "bind": bind,
            "workers": 1,
            "worker_class": "gthread",
            "threads": threads,
            "accesslog": "-",
            "preload_app": True,
            "control_socket": str(control_socket(settings, port)),
            "logger_class": _Logger,
            "post_worker_init": beat_while_working,
        },
    ).run()
