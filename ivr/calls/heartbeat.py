"""A node's life in the database (`line_nodes`): announced when its process starts, beating
while it runs, so any process can tell the calls a dead node has lost (`ivr.calls.stale`).

Both kinds of node that hold calls' audio beat here: an `ivr sip` node (its calls die with
it) and an `ivr serve` worker (the Media Streams it holds; Twilio moves a call whose stream
broke to another node, unless the caller is gone). A serve node is named for its host and
process (`serve_node_name`): a restarted worker is a new node, and the one it replaced is
dead once NODE_TIMEOUT passes without a beat.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from sqlalchemy.exc import SQLAlchemyError

from ivr.clock import utc_now
from ivr.storage import line_nodes
from ivr.storage.db import Database

log = logging.getLogger(__name__)


def serve_node_name() -> str:
    """The name of this `ivr serve` worker in `line_nodes`: its host and process id."""
    return f"{line_nodes.SERVE_PREFIX}{socket.gethostname()}:{os.getpid()}"


def start_beating(database: Database, name: str, stop: threading.Event) -> threading.Thread:
    """Announce the node `name` (the calls of an earlier life under that name are lost) and
    beat every BEAT_EVERY until `stop`, in a daemon thread; a beat the database refuses is
    logged and the next one tried."""
    with database.session() as db:
        line_nodes.announce(db, name, utc_now())

    def beat() -> None:
        while not stop.wait(line_nodes.BEAT_EVERY.total_seconds()):
            try:
                with database.session() as db:
                    line_nodes.beat(db, name, utc_now())
            except SQLAlchemyError:
                log.exception("node %s: heartbeat not stored", name)

    heart = threading.Thread(target=beat, name="heartbeat", daemon=True)
    heart.start()
    return heart
