"""`ivr flows check` as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flow_text import FlowText

IVR = Path(sys.executable).parent / "ivr"


def run_check(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(IVR), "flows", "check", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_says_ok_for_good_files(
    demo_path: Path, bulgarian_path: Path, tmp_path: Path
) -> None:
    result = run_check(str(demo_path), str(bulgarian_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{demo_path}: ok (37 nodes, languages ro, en)",
        f"{bulgarian_path}: ok (17 nodes, languages bg, en)",
    ]


def test_check_prints_file_line_problems_and_fails(demo: FlowText, tmp_path: Path) -> None:
    broken = demo.replace("start: welcome", "start: welcom").replace(
        "For emergencies, call 112.", "For emergencies, call the police."
    )
    path = tmp_path / "callflows.yaml"
    path.write_text(broken.text, encoding="utf-8")
    result = run_check(cwd=tmp_path, env={"CIVICLINE_FLOW_PATH": str(path)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"{path}:{broken.line_of('start: welcom')}: start: unknown node `welcom`"
    assert all(line.startswith(f"{path}:") for line in lines)
    assert result.stdout == ""
