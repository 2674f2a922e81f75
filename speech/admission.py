"""How many recognisers a process keeps live, and the calls beyond that served keypad-first.

Each live recogniser holds a Kaldi decoder and costs CPU for every 20 ms of a caller's audio;
beyond `limit` of them (CIVICLINE_MAX_RECOGNIZERS) a new call gets none and is served by its
keys, rather than making every call's recognition fall behind real time (bench/speech.py
measures how many streams two cores carry).

A recogniser holds its place from `admit` until it is closed: the channel closes it when
the call ends (or when it takes another recogniser for a new language), which frees the
place at once, whatever still refers to the recogniser. A recogniser dropped without being
closed is a channel bug: its place is freed when it is collected, with a warning naming the
leak, so a forgotten close shows in the log instead of starving the process of recognisers.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Protocol, TypeVar

from speech.models import ModelError

log = logging.getLogger(__name__)


class Closable(Protocol):
    def on_close(self, callback: Callable[[], None]) -> None:
        """Run `callback` once, when the recogniser is closed."""
        ...


R = TypeVar("R", bound=Closable)


class KeypadFirst(ModelError):
    """No recogniser for this call: the process already runs as many as it may."""


class _Place:
    """One recogniser's place among the live ones, freed once (closed, or collected)."""

    def __init__(self, live: LiveRecognizers) -> None:
        self._live = live
        self._held = True

    def free(self, *, leaked: bool = False) -> None:
        with self._live.lock:
            if not self._held:
                return
            self._held = False
            self._live.live -= 1
        if leaked:
            log.warning("a recogniser was dropped without close(): its place freed late")


class LiveRecognizers:
    """The recognisers alive in this process, at most `limit` of them; safe across threads."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"the recogniser limit must be 0 or more, not {limit}")
        self.limit = limit
        self.live = 0
        self.lock = threading.Lock()

    def count(self) -> int:
        with self.lock:
            return self.live

    def admit(self, recognizer: R) -> R:
        """Count `recognizer` as live until it is closed, and return it; KeypadFirst when the
        limit is reached."""
        with self.lock:
            if self.live >= self.limit:
                raise KeypadFirst(
                    f"{self.live} recognisers are live (the limit): this call is keypad-first"
                )
            self.live += 1
        place = _Place(self)
        recognizer.on_close(place.free)
        weakref.finalize(recognizer, place.free, leaked=True)
        return recognizer
