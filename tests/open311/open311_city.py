"""A city's civicline for the Open311 tests: served by a real `ivr serve` (the GeoReport
endpoint of the push tests too), with the seeded supervisor site of the web tests over the
same database, and an API key issued by the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))

from local_servers import free_port, wait_until_answering
from site_data import Site, build_site, login

from ivr.cli.call import call
from ivr.cli.open311 import open311
from ivr.config import Settings

START_SECONDS = 60


@dataclass(frozen=True)
class City:
    """A running civicline: its Open311 base URL, its site (in-process, same database) with
    an admin signed in, and a key issued to the client `pusher`."""

    base: str
    site: Site
    admin: object
    key: str


COMMANDS = {"open311": open311, "call": call}


def ivr(settings: Settings, command: str, *args: str) -> str:
    """Run `ivr COMMAND ARGS` in this process on `settings` (click's runner: no interpreter
    to start; the root group, which sets the umask and logging, is left out); its output."""
    done = CliRunner().invoke(COMMANDS[command], list(args), obj=settings, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.stdout


@contextmanager
def running_city(root: Path) -> Iterator[City]:
    """A seeded civicline in `root`, served until the block ends."""
    site = build_site(root)
    port = free_port()
    environment = {
        **os.environ,
        "CIVICLINE_DATA_DIR": str(site.settings.data_dir),
        "CIVICLINE_DATABASE_URL": "",
        "CIVICLINE_FLOW_PATH": str(site.settings.flow_path),
        "CIVICLINE_SECRET_KEY": "test",
        "CIVICLINE_OPEN311_KEY_PER_MINUTE": "1000",
    }
    key = ivr(site.settings, "open311", "keys", "add", "pusher").strip()
    log = root / "serve.log"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("ivr")),
            "serve",
            "--port",
            str(port),
            "--threads",
            "8",
        ],
        env=environment,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/health", server, log, START_SECONDS)
        admin = site.app.test_client()
        login(admin, "admin")
        yield City(f"{base}/open311/v2", site, admin, key)
    finally:
        server.terminate()
        server.wait(timeout=20)
        site.app.extensions["civicline"].database.dispose()
