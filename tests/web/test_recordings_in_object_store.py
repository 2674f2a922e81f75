"""Recordings in a real S3 server (SeaweedFS): a description recorded by `ivr call` lands in
the bucket, the site plays it from there (ranges too), erasing the caller's number deletes
it, and the retention purge deletes an old recording and a file no row names. The S3 client
itself: missing files, wrong keys and a server that never answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import wave
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from minio.error import S3Error
from s3server import BUCKET, S3Server
from site_data import ROOT, STARTED, build_site, login, token
from sqlalchemy import select

from ivr.cli import main
from ivr.config import Settings
from ivr.privacy.retention import purge
from ivr.recordings import recording_files
from ivr.recordings.files import LocalFiles
from ivr.recordings.s3 import S3Files, S3Settings
from ivr.storage.models import Recording
from ivr.storage.models.base import Base

CALLER = "+40722555666"


def description_wav(path: Path) -> bytes:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x10\x00\x20\x00" * 8000)
    return path.read_bytes()


def ivr_call(settings: Settings, environment: dict[str, str], wav: Path) -> dict[str, str]:
    """A terminal call that reports a problem with a recorded description; its ids."""
    keys = ("1", "1", "3", f"wav:{wav}", "1")
    inputs = [arg for key in keys for arg in ("--input", key)]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("ivr")), "call", "--from", CALLER, "--lang", "en",
         "--at", "2026-11-24T10:00", *inputs, "--json"],
        env={**os.environ, **environment, "CIVICLINE_DATA_DIR": str(settings.data_dir),
             "CIVICLINE_FLOW_PATH": str(settings.flow_path), "CIVICLINE_LOG_LEVEL": "WARNING"},
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    [finished] = [r for r in rows if r.get("event") == "RecordingFinished"]
    return {"recording": finished["recording_id"], "call": rows[-1]["call_id"]}


def test_a_recording_is_kept_played_erased_and_purged_in_s3(tmp_path, s3_server: S3Server):
    environment = s3_server.environment("story")
    s3 = {name.removeprefix("CIVICLINE_").lower(): value for name, value in environment.items()}
    site = build_site(tmp_path, settings=s3)
    seeded = site.app.extensions["civicline"].database
    with seeded.session() as session:
        [seeded_key] = session.scalars(select(Recording.path)).all()
    wav = description_wav(tmp_path / "description.wav")

    ids = ivr_call(site.settings, environment, tmp_path / "description.wav")
    with seeded.session() as session:
        key = session.get_one(Recording, ids["recording"]).path
    assert s3_server.keys("story") == sorted([seeded_key, key])
    assert not (site.settings.data_dir / "recordings").exists(), "nothing on the local disk"

    supervisor = site.app.test_client()
    login(supervisor, "super")
    played = supervisor.get(f"/calls/{ids['call']}/recordings/{ids['recording']}")
    assert played.status_code == 200 and played.data == wav
    part = supervisor.get(
        f"/calls/{ids['call']}/recordings/{ids['recording']}", headers={"Range": "bytes=0-99"}
    )
    assert part.status_code == 206 and part.data == wav[:100]

    admin = site.app.test_client()
    login(admin, "admin")
    form = {"number": CALLER, "confirm": CALLER, "force": "y"}
    erased = admin.post("/privacy/erase", data={**form, "csrf_token": token(admin, "/calls")})
    assert erased.status_code == 200, erased.get_data(as_text=True)
    assert s3_server.keys("story") == [seeded_key]
    assert supervisor.get(f"/calls/{ids['call']}/recordings/{ids['recording']}").status_code == 404

    files = recording_files(site.settings)
    files.put("2026/01/left-by-a-stopped-erasure.wav", wav)
    later = STARTED + timedelta(days=91)
    done = purge(seeded, site.settings.retention(), files, now=later)
    assert done["recordings"] == 1 and done["orphan_files"] == 1
    assert s3_server.keys("story") == []
    with seeded.session() as session:
        assert session.scalars(select(Base.metadata.tables["recordings"].c.id)).all() == []


def store(s3_server: S3Server, **changes: object) -> S3Files:
    environment = s3_server.environment("unit")
    fields = {
        "bucket": BUCKET,
        "prefix": "unit/",
        "endpoint_url": environment["CIVICLINE_S3_ENDPOINT_URL"],
        "access_key": environment["CIVICLINE_S3_ACCESS_KEY"],
        "secret_key": environment["CIVICLINE_S3_SECRET_KEY"],
        "region": "us-east-1",
        "timeouts": (2.0, 2.0),
    }
    return S3Files.connect(S3Settings(**{**fields, **changes}))  # type: ignore[arg-type]


def test_the_s3_store_answers_for_missing_files_and_refuses_wrong_keys(s3_server: S3Server):
    files = store(s3_server)
    files.put("2026/12/a.wav", b"RIFF")
    assert files.get("2026/12/a.wav") == b"RIFF"
    assert [(f.key, f.modified.tzinfo is not None) for f in files.files()] == [
        ("2026/12/a.wav", True)
    ]
    assert files.delete("2026/12/a.wav") and not files.delete("2026/12/a.wav")
    assert files.get("2026/12/a.wav") is None
    with pytest.raises(S3Error) as refused:
        store(s3_server, secret_key="wrong").put("2026/12/b.wav", b"RIFF")
    assert refused.value.code == "SignatureDoesNotMatch"


def test_an_s3_server_that_never_answers_fails_the_request_instead_of_hanging():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are accepted by the kernel, never answered
        host, port = silent.getsockname()
        files = S3Files.connect(
            S3Settings("civicline", "", f"http://{host}:{port}", "k", "s", "us-east-1", (0.2, 0.2))
        )
        with pytest.raises(Exception, match="timed out"):
            files.get("2026/12/a.wav")


def test_a_bad_recordings_url_is_refused_at_startup(tmp_path):
    environment = {"CIVICLINE_DATA_DIR": str(tmp_path), "CIVICLINE_RECORDINGS_URL": "ftp://h/r"}
    refused = CliRunner().invoke(main, ["worker", "--once"], env=environment)
    assert (
        refused.exit_code == 1
        and "CIVICLINE_RECORDINGS_URL: Value error, use file:///a/directory or s3://bucket/prefix"
        in refused.output
    )
    local = recording_files(Settings(recordings_url=f"file://{tmp_path}/r"))
    assert isinstance(local, LocalFiles) and local.root == tmp_path / "r"


def test_recordings_kept_on_disk_are_copied_into_s3_once(tmp_path, s3_server: S3Server):
    """`ivr recordings copy` moves a one-machine city's files into the bucket; run again it
    copies only what is new; a SOURCE of another form is refused."""
    disk = LocalFiles(tmp_path / "old")
    for key in ("2026/11/a.wav", "2026/12/b.wav"):
        disk.put(key, f"RIFF {key}".encode())
    environment = {**s3_server.environment("moved"), "CIVICLINE_DATA_DIR": str(tmp_path)}
    source = f"file://{tmp_path / 'old'}"

    def ivr(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["recordings", "copy", *args], env=environment)
        return result.exit_code, result.output

    assert ivr(source, "--dry-run") == (0, "recording files: would copy 2, already there 0\n")
    assert s3_server.keys("moved") == []
    assert ivr(source) == (0, "recording files: copied 2, already there 0\n")
    disk.put("2026/12/c.wav", b"RIFF c")
    assert ivr(source) == (0, "recording files: copied 1, already there 2\n")
    assert s3_server.keys("moved") == ["2026/11/a.wav", "2026/12/b.wav", "2026/12/c.wav"]
    moved = recording_files(Settings(**{k.removeprefix("CIVICLINE_").lower(): v
                                        for k, v in environment.items()}))  # fmt: skip
    assert moved.get("2026/11/a.wav") == b"RIFF 2026/11/a.wav"
    code, output = ivr("ftp://elsewhere/recordings")
    assert code == 2 and "use file:///a/directory or s3://bucket/prefix" in output
