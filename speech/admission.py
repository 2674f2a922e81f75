"""How many recognisers a process keeps live, and the calls beyond that served keypad-first.

Each live recogniser holds a Kaldi decoder and costs CPU for every 20 ms of a caller's audio;
beyond `limit` of them (CIVICLINE_MAX_RECOGNIZERS) a new call gets none and is served by its
keys, rather than making every call's recognition fall behind real time (bench/speech.py
measures how many streams two cores carry). A recogniser counts while it is alive: the
channel that dropped it (the call ended) frees its place, with no release call to forget.
"""

from __future__ import annotations

import threading
import weakref
from typing import TypeVar

from speech.models import ModelError

R = TypeVar("R")


class KeypadFirst(ModelError):
    """No recogniser for this call: the process already runs as many as it may."""


class LiveRecognizers:
    """The recognisers alive in this process, at most `limit` of them; safe across threads."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"the recogniser limit must be 0 or more, not {limit}")
        self.limit = limit
        self._live = 0
        self._lock = threading.Lock()

    def count(self) -> int:
        with self._lock:
            return self._live

    def admit(self, recognizer: R) -> R:
        """Count `recognizer` as live and return it; KeypadFirst when the limit is reached."""
        with self._lock:
            if self._live >= self.limit:
                raise KeypadFirst(
                    f"{self._live} recognisers are live (the limit): this call is keypad-first"
                )
            self._live += 1
        weakref.finalize(recognizer, self._release)
        return recognizer

    def _release(self) -> None:
        with self._lock:
            self._live -= 1
