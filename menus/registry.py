"""The flow versions a process serves: the current one, reloaded when its file changes, and
every version loaded so far, so a call keeps the version it started on.

`current()` stats the file on each call; a changed file is loaded again, by one thread and
outside the lock, so calls starting meanwhile are not held up by a slow load. A broken file
is logged (every `FILE:LINE: message` at ERROR), kept in `problems` for the health page, and
the last good version keeps serving; only a process that never had a good version gets
`FlowError`. Safe to share between threads.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from menus.loader import LoadedFlow, load_flow
from menus.problems import FlowError, Problem

logger = logging.getLogger(__name__)

_Stamp = tuple[int, int, int, int] | None
"""What `os.stat` says of the file (inode, size, mtime, ctime), or None when it is missing."""


class FlowRegistry:
    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._lock = threading.Condition()
        self._versions: dict[str, LoadedFlow] = {}
        self._current: LoadedFlow | None = None
        self._problems: list[Problem] = []
        self._stamp: _Stamp = None
        self._tried = False
        self._loading = False

    def current(self) -> LoadedFlow:
        """The flow new calls start on; reloaded first if the file changed.

        One thread loads a changed file, outside the lock: the others go on with the version
        in use meanwhile (or wait for the first load, when there is none yet)."""
        stamp = self._file_stamp()
        with self._lock:
            load = not self._loading and (not self._tried or stamp != self._stamp)
            if load:
                self._loading = True
        if load:
            outcome: LoadedFlow | list[Problem] = []
            try:
                outcome = self._load()
            finally:
                with self._lock:
                    self._tried, self._stamp, self._loading = True, stamp, False
                    self._apply(outcome)
                    self._lock.notify_all()
        with self._lock:
            self._lock.wait_for(lambda: self._tried and not (self._loading and not self._current))
            if self._current is None:
                raise FlowError(self._problems)
            return self._current

    @property
    def problems(self) -> list[Problem]:
        """The problems of the latest load (empty when it was good): while there are any, the
        version in use is not the file on disk."""
        with self._lock:
            return list(self._problems)

    def get(self, version: str) -> LoadedFlow | None:
        """A version loaded (or remembered) by this process."""
        with self._lock:
            return self._versions.get(version)

    def remember(self, loaded: LoadedFlow) -> None:
        """Adds a version rebuilt elsewhere (from storage) for `get`."""
        with self._lock:
            self._versions[loaded.version] = loaded

    def _load(self) -> LoadedFlow | list[Problem]:
        try:
            return load_flow(self._path)
        except FlowError as error:
            problems = error.problems
        except Exception as error:  # a loader bug must not leave the refusal unseen
            logger.exception("flow %s: the loader failed", self._path)
            problems = [Problem(str(self._path), 1, f"the loader failed: {error!r}")]
        for problem in problems:
            logger.error("%s", problem)
        return problems

    def _apply(self, outcome: LoadedFlow | list[Problem]) -> None:
        if isinstance(outcome, list):
            self._problems = outcome
            return
        self._problems = []
        self._versions[outcome.version] = outcome
        if self._current is None or self._current.version != outcome.version:
            logger.info("flow %s loaded, version %s", outcome.path, outcome.version[:12])
        self._current = outcome

    def _file_stamp(self) -> _Stamp:
        try:
            stat = os.stat(self._path)
        except OSError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
