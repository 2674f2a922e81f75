"""YAML alias bombs and oversized files: refused by counting, cheaply, and never while the
registry's lock is held."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from flow_text import FlowText

from menus.document import MAX_VALUES
from menus.loader import MAX_FILE_BYTES, load_flow
from menus.problems import FlowError, Problem
from menus.registry import FlowRegistry

ROOT = Path(__file__).resolve().parents[2]


def bomb(levels: int) -> str:
    """Ten lines of nested aliases: 9 ** levels leaves once expanded."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    lines.append(f"nodes: *a{levels - 1}")
    return "\n".join(lines) + "\n"


MEASURE = """
import json, sys, time, tracemalloc
from menus.loader import load_flow
from menus.problems import FlowError
tracemalloc.start()
started = time.perf_counter()
try:
    load_flow(sys.argv[1])
    problems = []
except FlowError as error:
    problems = [str(problem) for problem in error.problems]
seconds = time.perf_counter() - started
print(json.dumps({"problems": problems, "peak": tracemalloc.get_traced_memory()[1],
                  "seconds": seconds}))
"""


def test_a_nine_to_the_ninth_alias_bomb_is_refused_within_1_s_and_50_mb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb(9))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["problems"] == [
        f"{path}:1: more than {MAX_VALUES:,} values once its aliases are expanded; use `extends`"
    ]
    assert result["peak"] < 50 * 2**20
    assert result["seconds"] < 1.0


def test_a_few_aliases_still_load(demo: FlowText, tmp_path: Path) -> None:
    shared = demo.replace("  office:\n    weekly:", "  office: &office\n    weekly:").replace(
        "  local_police:\n    extends: office\n    weekly:",
        "  local_police:\n    <<: *office\n    public_holidays: false\n    weekly:",
    )
    path = tmp_path / "callflows.yaml"
    path.write_text(shared.text, encoding="utf-8")
    assert load_flow(path).flow.schedules["local_police"].public_holidays is False


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "callflows.yaml"
    path.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    try:
        load_flow(path)
    except FlowError as error:
        assert error.problems == [
            Problem(str(path), 1, f"the file is larger than {MAX_FILE_BYTES:,} bytes")
        ]
    else:
        raise AssertionError("an oversized file was loaded")


def test_deep_nesting_is_a_problem_not_a_recursion_error(tmp_path: Path) -> None:
    for depth in (600, 5000):
        path = tmp_path / f"deep{depth}.yaml"
        path.write_text("nodes: " + "[" * depth + "]" * depth + "\n")
        try:
            load_flow(path)
        except FlowError as error:
            assert error.problems == [
                Problem(str(path), 1, "YAML: lists or mappings nested too deeply")
            ]
        else:
            raise AssertionError("a deeply nested file was loaded")


def test_a_changed_file_is_loaded_outside_the_lock(demo: FlowText, tmp_path: Path) -> None:
    """While one thread reads the changed file (a FIFO that blocks until written), another
    thread gets the version in use at once; then the new version is served."""
    path = tmp_path / "callflows.yaml"
    path.write_text(demo.text, encoding="utf-8")
    registry = FlowRegistry(path)
    first = registry.current()
    fifo = tmp_path / "incoming.fifo"
    os.mkfifo(fifo)
    os.replace(fifo, path)
    loaded: list[str] = []
    loader = threading.Thread(target=lambda: loaded.append(registry.current().version))
    loader.start()
    try:
        with open(path, "w", encoding="utf-8") as writer:  # returns once the loader opened it
            other: list[str] = []
            reader = threading.Thread(target=lambda: other.append(registry.current().version))
            reader.start()
            reader.join(timeout=30)
            assert other == [first.version]
            writer.write(demo.replace("call 112.", "call 112 now.").text)
    finally:
        loader.join(timeout=30)
    assert loaded and loaded[0] != first.version
    assert registry.problems == []
