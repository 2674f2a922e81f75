"""`ivr db upgrade`, `ivr users add` and `ivr tickets list|show`, run as the user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import select

from ivr.storage.db import Database, alembic_config
from ivr.storage.directory import verify_user
from ivr.storage.models import AuditEntry
from ivr.storage.tickets import set_status

from .filing import file_ticket

REPO = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).with_name("ivr"))


def ivr(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "CIVICLINE_DATA_DIR": str(data_dir),
        "CIVICLINE_DATABASE_URL": "",
        "CIVICLINE_FLOW_PATH": str(REPO / "callflows.yaml"),
        **env,
    }
    return subprocess.run(
        [IVR, *args], env=environment, cwd=data_dir.parent, capture_output=True, text=True
    )


def test_db_upgrade_creates_the_data_dir_and_the_schema(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = ivr(data_dir, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    database = Database(f"sqlite:///{data_dir / 'civicline.db'}")
    with database.engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    database.dispose()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_users_add_reads_the_password_from_the_environment(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    secret = {"ADMIN_PW": "a long secret"}
    result = ivr(
        data_dir, "users", "add", "ana", "--role", "admin", "--password-env", "ADMIN_PW", **secret
    )
    assert result.returncode == 0, result.stderr
    again = ivr(
        data_dir, "users", "add", "ana", "--role", "officer", "--password-env", "ADMIN_PW", **secret
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr
    database = Database(f"sqlite:///{data_dir / 'civicline.db'}")
    with database.session(read_only=True) as session:
        user = verify_user(session, "ana", "a long secret")
        actions = session.scalars(select(AuditEntry.action)).all()
    database.dispose()
    assert user is not None and user.role == "admin"
    assert actions == ["user.add"]


def test_users_add_refuses_an_empty_password_variable(tmp_path: Path) -> None:
    result = ivr(
        tmp_path / "data",
        "users",
        "add",
        "ana",
        "--role",
        "admin",
        "--password-env",
        "UNSET_PW_VARIABLE",
    )
    assert result.returncode == 1
    assert "UNSET_PW_VARIABLE" in result.stderr


def test_tickets_show_an_unknown_ref(tmp_path: Path) -> None:
    result = ivr(tmp_path / "data", "tickets", "show", "26-000999")
    assert result.returncode == 1
    assert "no ticket 26-000999" in result.stderr


def test_tickets_list_and_show_with_history(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert ivr(data_dir, "db", "upgrade").returncode == 0
    database = Database(f"sqlite:///{data_dir / 'civicline.db'}")
    ticket, _ = file_ticket(database)
    file_ticket(database, category="waste", department="sanitation")
    with database.session() as session:
        set_status(
            session,
            session.merge(ticket),
            "in_progress",
            "officer:ana",
            datetime(2026, 5, 5, 7, 0, tzinfo=UTC),
            "crew sent",
        )
    database.dispose()

    listed = ivr(data_dir, "tickets", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [t["ref"] for t in json.loads(listed.stdout)] == ["26-000002", "26-000001"]
    in_progress = ivr(data_dir, "tickets", "list", "--status", "in_progress")
    assert in_progress.stdout.startswith("26-000001  2026-05-04 12:00 EEST")
    assert "26-000002" not in in_progress.stdout

    shown = ivr(data_dir, "tickets", "show", "26 000 001", "--json")
    assert shown.returncode == 0, shown.stderr
    fields = json.loads(shown.stdout)
    assert (fields["status"], fields["category"], fields["deadline"]) == (
        "in_progress",
        "pothole",
        "2026-05-14",
    )
    assert "pin_hash" not in fields
    assert [(c["status"], c["actor"], c["note"]) for c in fields["history"]] == [
        ("registered", "ivr", None),
        ("in_progress", "officer:ana", "crew sent"),
    ]
    text = ivr(data_dir, "tickets", "show", "26-000001")
    assert "2026-05-05 10:00 EEST  in_progress  by officer:ana  (crew sent)" in text.stdout
