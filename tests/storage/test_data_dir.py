"""The data directory and what `ivr` creates in it are its owner's alone (0700 / 0600), an
existing directory left readable by an older version included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).with_name("ivr"))


def ivr(data: Path, *args: str) -> None:
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(data), "CIVICLINE_DATABASE_URL": "",
           "PASSWORD": "a long passphrase 1"}  # fmt: skip
    subprocess.run([IVR, *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)


def modes(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mode & 0o777 for path in folder.rglob("*")}


def test_a_new_data_dir_and_its_database_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ivr(data, "db", "upgrade")
    ivr(data, "users", "add", "ana", "--role", "admin", "--password-env", "PASSWORD")
    assert data.stat().st_mode & 0o777 == 0o700
    files = modes(data)
    assert "civicline.db" in files
    assert all(mode & 0o077 == 0 for mode in files.values()), files


def test_an_existing_readable_data_dir_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ivr(data, "db", "upgrade")
    data.chmod(0o755)
    (data / "civicline.db").chmod(0o644)
    ivr(data, "db", "upgrade")
    assert data.stat().st_mode & 0o777 == 0o700
    assert (data / "civicline.db").stat().st_mode & 0o777 == 0o600
