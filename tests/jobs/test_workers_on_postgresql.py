"""Two real `ivr worker` processes, each with its own data directory, on one PostgreSQL and
one object store (SeaweedFS): the worker downloading a Twilio recording is killed (SIGKILL)
mid-download, the other takes the job over once its lease is over and keeps the file in
the object store; the periodic jobs both workers queued at start are queued once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from s3server import BUCKET, S3Server
from sqlalchemy import select
from twilio_rest_standin import ACCOUNT, TOKEN, TwilioStandIn, a_wav, running_standin

from ivr.calls.stale import SWEEP_JOB
from ivr.privacy.retention import PURGE_JOB
from ivr.storage import calls
from ivr.storage.db import Database
from ivr.storage.models import Job, Recording
from ivr.storage.twilio import DOWNLOAD_RECORDING, record_recording
from menus.registry import FlowRegistry

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = "2"


def a_finished_twilio_recording(database: Database) -> str:
    """A call's recording Twilio reported done: its download job is queued."""
    now, call_sid = datetime.now(UTC), "CA" + uuid.uuid4().hex
    recording_sid = "RE" + uuid.uuid4().hex
    loaded = FlowRegistry(ROOT / "callflows.yaml").current()
    with database.session() as session:
        calls.save_flow_version(session, loaded.version, loaded.source, loaded.path, now)
        calls.start_call(session, call_id=call_sid, caller="+40722111222", channel="twilio",
                         flow_version=loaded.version, language="en", at=now)  # fmt: skip
    with database.session() as session:
        assert record_recording(session, recording_sid, call_sid, "call", "completed", now)
    return recording_sid


def start_worker(
    folder: Path, url: str, standin: TwilioStandIn, s3: S3Server
) -> subprocess.Popen[bytes]:
    folder.mkdir()
    environment = {
        **os.environ,
        **s3.environment("workers"),
        "CIVICLINE_DATA_DIR": str(folder / "data"),
        "CIVICLINE_DATABASE_URL": url,
        "CIVICLINE_FLOW_PATH": str(ROOT / "callflows.yaml"),
        "CIVICLINE_TWILIO_ACCOUNT_SID": ACCOUNT,
        "CIVICLINE_TWILIO_AUTH_TOKEN": TOKEN,
        "CIVICLINE_TWILIO_API_URL": standin.url,
        "CIVICLINE_WORKER_LEASE_SECONDS": LEASE_SECONDS,
        "CIVICLINE_WORKER_POLL_SECONDS": "0.2",
    }
    with (folder / "worker.log").open("wb") as log:
        return subprocess.Popen(
            [str(Path(sys.executable).with_name("ivr")), "worker"],
            env=environment,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def download_job(database: Database) -> Job:
    with database.session(read_only=True) as session:
        return session.scalars(select(Job).where(Job.kind == DOWNLOAD_RECORDING)).one()


def test_a_worker_killed_mid_job_is_taken_over_by_the_other(
    tmp_path: Path, pg_url: str, s3_server: S3Server
) -> None:
    database = Database(pg_url)
    database.upgrade()
    recording_sid = a_finished_twilio_recording(database)
    wav = a_wav(1.0)
    with running_standin() as standin:
        standin.files[recording_sid] = wav
        standin.hanging.set()  # the first download is never answered
        workers = [start_worker(tmp_path / f"node{n}", pg_url, standin, s3_server) for n in (1, 2)]
        try:
            file = f"/Recordings/{recording_sid}.wav"
            wait_for(
                lambda: any(m == "GET" and p.endswith(file) for m, p in standin.requests),
                "a worker to start the download",
            )
            holder = download_job(database).locked_by or ""  # host:pid/lane-thread
            assert holder.startswith(f"{socket.gethostname()}:")
            [victim] = [w for w in workers if holder.startswith(f"{socket.gethostname()}:{w.pid}/")]
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            standin.hanging.clear()
            wait_for(lambda: download_job(database).status == "done", "the job to be taken over")
        finally:
            for process in workers:
                process.terminate()
                process.wait(timeout=30)
    job = download_job(database)
    [survivor] = [w for w in workers if w is not victim]
    assert job.attempts == 2 and job.last_error is None
    assert recording_sid not in standin.files, "deleted at Twilio once kept"
    with database.session(read_only=True) as session:
        key = session.get_one(Recording, recording_sid).path
        periodic = session.execute(
            select(Job.kind, Job.run_after).where(Job.kind.in_((PURGE_JOB, SWEEP_JOB)))
        ).all()
    database.dispose()
    assert s3_server.keys("workers") == [key]
    assert s3_server.client().get_object(BUCKET, f"workers/{key}").read() == wav
    assert survivor.returncode == 0, "stopped by SIGTERM after its running jobs"
    assert [kind for kind, _ in periodic].count(PURGE_JOB) == 1, "two workers, one purge"
    assert len(set(periodic)) == len(periodic), "one run of each job per period"
