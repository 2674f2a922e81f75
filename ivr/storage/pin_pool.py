"""New tickets' PINs, hashed ahead of time by a background thread of low CPU priority.

Hashing a PIN costs about 30 ms of CPU (`tickets.PIN_HASH_METHOD`). Done while the caller
waits, it delays the reply that reads their ticket number out, and on a busy core every
other call's turn as well. A pool keeps a few PINs ready, made by a thread niced below the
threads answering calls, so filing a ticket takes one at once; when the pool is empty (a
burst of tickets) the PIN is made on the spot, as before.

The thread starts on first use in each process: a thread does not survive a fork, and
`ivr serve` loads the application before gunicorn forks its worker.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

from ivr.storage.tickets import NewPin, new_pin

log = logging.getLogger(__name__)

READY = 8
"""PINs kept ready: eight tickets filed within one hash's time is beyond any load measured."""
NICENESS = 19
"""The filler's nice value (Linux sets it per thread): it takes the core only when no call's
thread wants it."""


class PinPool:
    def __init__(self, make: Callable[[], NewPin] = new_pin, ready: int = READY) -> None:
        self._make = make
        self._ready: queue.Queue[NewPin] = queue.Queue(maxsize=ready)
        self._lock = threading.Lock()
        self._filler_pid: int | None = None

    def take(self) -> NewPin:
        """A new PIN and its hash: a ready one, or one made now when none is."""
        self._start_filler()
        try:
            return self._ready.get_nowait()
        except queue.Empty:
            return self._make()

    def ready(self) -> int:
        return self._ready.qsize()

    def _start_filler(self) -> None:
        with self._lock:
            if self._filler_pid == os.getpid():
                return
            self._filler_pid = os.getpid()
            self._ready = queue.Queue(maxsize=self._ready.maxsize)  # the parent's PINs stay there
            filler = threading.Thread(
                target=self._fill, args=(self._ready,), name="pin-pool", daemon=True
            )
        filler.start()

    def _fill(self, ready: queue.Queue[NewPin]) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        except OSError:
            log.warning("the PIN pool's thread runs at normal priority", exc_info=True)
        while True:
            ready.put(self._make())


pins = PinPool()
"""The process's pool, used when a ticket is filed (`ivr.calls.effects`)."""
