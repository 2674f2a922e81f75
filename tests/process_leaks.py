"""A pytest plugin that fails the run when a test left a process running.

The first pytest process of a run puts a mark in its environment, which every process the
tests start inherits (Kamailio, PostgreSQL, `ivr serve`, Chromium...), daemons and orphans
included; when the session ends, after every fixture has stopped what it started, any
process still carrying the mark is reported by name, killed, and the run fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

MARK = "CIVICLINE_TEST_RUN"
HELPERS = (b"multiprocessing.resource_tracker", b"multiprocessing.forkserver")
"""The standard library's helpers of this pytest process, which end with it."""
GRACE_SECONDS = 5.0
"""How long a process stopped at the very end may take to be gone before it counts."""


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(MARK):
        os.environ[MARK] = f"{os.getpid()}-{uuid.uuid4().hex}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    mark = os.environ.get(MARK, "")
    if not mark.startswith(f"{os.getpid()}-"):
        return  # a pytest started by a test: its own run, not this one's
    deadline = time.monotonic() + GRACE_SECONDS
    left = marked_processes(mark)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = marked_processes(mark)
    if not left:
        return
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"  {pid}: {command}" for pid, command in left.items()]
    message = "processes started by the tests were still running (now killed):\n"
    if reporter is not None:
        reporter.write_line(message + "\n".join(lines), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def marked_processes(mark: str) -> dict[int, str]:
    """Live processes other than this one whose environment holds the run's mark: their
    pid and command line."""
    wanted = f"{MARK}={mark}".encode()
    found = {}
    for folder in Path("/proc").iterdir():
        if not folder.name.isdigit() or int(folder.name) == os.getpid():
            continue
        try:
            environment = (folder / "environ").read_bytes().split(b"\0")
            if wanted not in environment or _is_zombie(folder):
                continue
            command = (folder / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if any(helper in command for helper in HELPERS):
            continue
        found[int(folder.name)] = command.decode(errors="replace").strip()[:200]
    return found


def _is_zombie(folder: Path) -> bool:
    """A process that has exited but was not reaped yet holds nothing any more."""
    stat = (folder / "stat").read_text()
    return stat[stat.rindex(")") + 2] == "Z"
