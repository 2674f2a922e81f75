"""The suite's check for processes left running: a run whose test leaves one fails, names
it and kills it; a run whose tests stop what they start passes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from process_leaks import MARK

TESTS = Path(__file__).resolve().parents[1]
LEAKY = """
import subprocess, sys

def test_starts_a_process_and_forgets_it():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                     start_new_session=True)

def test_starts_a_process_and_stops_it():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    process.terminate()
    process.wait()
"""


def run_pytest(folder: Path, *selection: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != MARK}  # a run of its own
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "process_leaks", "-p", "no:cacheprovider",
         "-q", "--rootdir", str(folder), str(folder / "test_leaky.py"), *selection],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_run_that_leaves_a_process_running_fails_and_kills_it(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    done = run_pytest(tmp_path, "-k", "forgets")
    assert done.returncode == 1, done.stdout
    assert "processes started by the tests were still running (now killed)" in done.stdout
    [pid] = re.findall(r"^  (\d+): .*time\.sleep\(300\)", done.stdout, re.MULTILINE)
    assert not Path(f"/proc/{pid}").exists() or " Z " in Path(f"/proc/{pid}/stat").read_text()


def test_a_run_that_stops_what_it_starts_passes(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    done = run_pytest(tmp_path, "-k", "stops")
    assert done.returncode == 0, done.stdout
