"""Servers the tests start on this machine: a free TCP port to give one, and waiting until
one answers over HTTP. (Imported by name: the bench's cluster uses the port too.)"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answering(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60.0
) -> None:
    """Until `url` answers; fails with the server's log when its process died, and when it
    has not answered within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.1)
