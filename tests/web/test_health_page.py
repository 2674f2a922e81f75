"""The health page through the app factory, and `ivr serve` as a real gunicorn process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from local_servers import free_port

from ivr.config import Settings
from ivr.web import create_app

ROOT = Path(__file__).resolve().parents[2]


def app_for(tmp_path: Path):
    flow = Path(shutil.copy(ROOT / "callflows.yaml", tmp_path / "callflows.yaml"))
    return create_app(Settings(data_dir=tmp_path / "data", flow_path=flow)), flow


def test_health_reports_the_database_the_flow_and_the_jobs(tmp_path):
    app, _ = app_for(tmp_path)
    response = app.test_client().get("/health")
    assert response.status_code == 200
    report = response.json
    assert report["ok"] and report["state"] == "ok"
    assert report["database"] == {"ok": True, "dialect": "sqlite"}
    assert report["flow"]["languages"] == {"ro": "keypad only", "en": "keypad only"}
    assert report["jobs"]["queued"] == 0 and report["flow"]["problems"] == []


def test_a_broken_flow_file_keeps_the_last_good_version_and_says_why(tmp_path):
    app, flow = app_for(tmp_path)
    client = app.test_client()
    good = client.get("/health").json["flow"]["version"]
    flow.write_text(
        flow.read_text().replace("  goodbye:\n    type: hangup", "  goodbye:\n    type: hangpu")
    )
    response = client.get("/health")
    assert response.status_code == 207
    report = response.json
    assert report["flow"]["version"] == good
    assert not report["ok"] and report["state"] == "degraded"
    [problem] = report["flow"]["problems"]
    assert problem.startswith(f"{flow}:") and "hangpu" in problem
    page = client.get("/health", headers={"Accept": "text/html"})
    assert page.status_code == 207
    assert b"the last good version is in use" in page.data


def test_an_unquoted_transfer_number_is_seen_by_monitoring_with_its_line(tmp_path):
    app, flow = app_for(tmp_path)
    client = app.test_client()
    text = flow.read_text()
    flow.write_text(text.replace('transfer: "+40264000100"', "transfer: +40264000100"))
    line = text[: text.index('transfer: "+40264000100"')].count("\n") + 1
    for _ in range(2):  # the first request after the change and the next one
        response = client.get("/health")
        assert response.status_code == 207
        assert response.json["flow"]["problems"] == [
            f"{flow}:{line}: departments.public_relations.transfer: input should be a valid string"
        ]
    flow.write_text(text)
    assert client.get("/health").json["state"] == "ok"


def test_ivr_serve_answers_over_http(tmp_path):
    """Also: its data directory is its owner's alone, and gunicorn's control socket is the
    instance's own, in that directory, not the user's shared `~/.gunicorn/gunicorn.ctl`."""
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(tmp_path / "data"), "HOME": str(home)}
    env.pop("XDG_RUNTIME_DIR", None)
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("ivr")), "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                    report = json.load(reply)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "ivr serve did not answer within 30 s"
                time.sleep(0.2)
        assert report["ok"] and report["database"]["dialect"] == "sqlite"
        control = tmp_path / "data" / f"gunicorn-{port}.ctl"
        while not control.exists():  # the arbiter opens it beside, not before, its workers
            assert time.monotonic() < deadline, "no control socket within 30 s"
            time.sleep(0.2)
        assert control.is_socket()
        assert not (home / ".gunicorn").exists()
        modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "data").iterdir()}
        assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
        assert modes["civicline.db"] == modes["secret_key"] == 0o600
    finally:
        server.terminate()
        server.wait(timeout=20)
