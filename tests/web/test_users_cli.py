"""`ivr users` run as a person runs it (a subprocess): the password policy, a password read
from standard input (never an argument), list, disable, enable, set-password, unlock and
signout, each audited; disabling and a new password end the user's sessions."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.clock import utc_now
from ivr.storage import sessions, throttle
from ivr.storage.db import Database
from ivr.storage.directory import verify_user
from ivr.storage.models import AuditEntry, SiteSession, User

IVR = str(Path(sys.executable).with_name("ivr"))
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"


def ivr(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "CIVICLINE_DATA_DIR": str(data_dir),
        "CIVICLINE_DATABASE_URL": "",
        "CIVICLINE_FLOW_PATH": str(REPO / "callflows.yaml"),
    }
    return subprocess.run(
        [IVR, *args], env=environment, input=stdin, capture_output=True, text=True, check=False
    )


@pytest.fixture
def data_dir(tmp_path: Path):
    folder = tmp_path / "data"
    added = ivr(folder, "users", "add", "ana", "--role", "supervisor", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    return folder


def database(folder: Path) -> Database:
    return Database(f"sqlite:///{folder / 'civicline.db'}")


def test_users_add_refuses_a_short_or_common_password(tmp_path: Path):
    for weak, reason in (("abc", "at least 12 characters"), ("password1234", "common")):
        result = ivr(tmp_path / "data", "users", "add", "bob", "--role", "admin", stdin=weak)
        assert result.returncode == 1 and reason in result.stderr
        assert weak not in result.stdout + result.stderr


def test_the_password_is_never_a_command_line_argument(tmp_path: Path):
    result = ivr(tmp_path / "data", "users", "set-password", "ana", PASSWORD)
    assert result.returncode == 2 and "unexpected extra argument" in result.stderr.lower()


def _sign_in(folder: Path) -> None:
    """A session of ana, as the site starts one."""
    db = database(folder)
    with db.session() as session:
        user = session.scalar(select(User).where(User.username == "ana"))
        sessions.start_session(session, user.id, utc_now(), "127.0.0.1")
    db.dispose()


def _open_sessions(folder: Path) -> int:
    db = database(folder)
    with db.session(read_only=True) as session:
        count = len(session.scalars(select(SiteSession)).all())
    db.dispose()
    return count


def test_list_disable_and_enable(data_dir: Path):
    _sign_in(data_dir)
    listed = ivr(data_dir, "users", "list")
    assert listed.stdout.splitlines() == ["ana\tsupervisor\tactive\t-\t1 sessions"]
    assert ivr(data_dir, "users", "disable", "ana").returncode == 0
    assert _open_sessions(data_dir) == 0
    assert "ana\tsupervisor\tdisabled" in ivr(data_dir, "users", "list").stdout
    db = database(data_dir)
    with db.session(read_only=True) as session:
        assert verify_user(session, "ana", PASSWORD) is None
    assert ivr(data_dir, "users", "enable", "ana").returncode == 0
    with db.session(read_only=True) as session:
        assert verify_user(session, "ana", PASSWORD) is not None
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    db.dispose()
    assert actions == ["user.add", "user.disable", "user.enable"]


def test_set_password_from_stdin_ends_the_sessions(data_dir: Path):
    _sign_in(data_dir)
    weak = ivr(data_dir, "users", "set-password", "ana", stdin="short\n")
    assert weak.returncode == 1 and "at least 12" in weak.stderr
    assert _open_sessions(data_dir) == 1
    result = ivr(data_dir, "users", "set-password", "ana", stdin=NEW_PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert _open_sessions(data_dir) == 0
    db = database(data_dir)
    with db.session(read_only=True) as session:
        assert verify_user(session, "ana", NEW_PASSWORD) is not None
        assert verify_user(session, "ana", PASSWORD) is None
    db.dispose()


def test_unlock_and_signout(data_dir: Path):
    db = database(data_dir)
    now = utc_now()
    with db.session() as session:
        key = throttle.account_key("ana")
        throttle.count_failure(
            session, key, now, limit=1, window=timedelta(minutes=15), lockout=timedelta(hours=1)
        )
    assert "ana\tsupervisor\tlocked" in ivr(data_dir, "users", "list").stdout
    assert ivr(data_dir, "users", "unlock", "ana").returncode == 0
    with db.session(read_only=True) as session:
        assert throttle.locked_until(session, [key], now) is None
    db.dispose()
    _sign_in(data_dir)
    _sign_in(data_dir)
    result = ivr(data_dir, "users", "signout", "ana")
    assert "signed out of 2 sessions" in result.stdout and _open_sessions(data_dir) == 0


def test_an_unknown_user_is_a_clear_error(data_dir: Path):
    result = ivr(data_dir, "users", "disable", "nobody")
    assert result.returncode == 1 and "no user 'nobody'" in result.stderr
