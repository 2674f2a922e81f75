"""The flow versions a process serves: the current one, reloaded when its file changes, and
every version loaded so far, so a call keeps the version it started on.

`current()` stats the file on each call; a changed file is loaded again. A broken file is
logged (every `FILE:LINE: message` at ERROR) and the last good version keeps serving; only
a process that never had a good version gets `FlowError`. Safe to share between threads.
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
        self._lock = threading.Lock()
        self._versions: dict[str, LoadedFlow] = {}
        self._current: LoadedFlow | None = None
        self._problems: list[Problem] = []
        self._stamp: _Stamp = None
        self._tried = False

    def current(self) -> LoadedFlow:
        """The flow new calls start on; reloaded first if the file changed."""
        with self._lock:
            stamp = self._file_stamp()
            if not self._tried or stamp != self._stamp:
                self._tried, self._stamp = True, stamp
                self._reload()
            if self._current is None:
                raise FlowError(self._problems)
            return self._current

    @property
    def problems(self) -> list[Problem]:
        """The problems of the latest load (empty when it was good)."""
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

    def _reload(self) -> None:
        try:
            loaded = load_flow(self._path)
        except FlowError as error:
            self._problems = error.problems
            for problem in error.problems:
                logger.error("%s", problem)
            return
        self._problems = []
        self._versions[loaded.version] = loaded
        if self._current is None or self._current.version != loaded.version:
            logger.info("flow %s loaded, version %s", loaded.path, loaded.version[:12])
        self._current = loaded

    def _file_stamp(self) -> _Stamp:
        try:
            stat = os.stat(self._path)
        except OSError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
