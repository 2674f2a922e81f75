"""FlowRegistry: a changed file applies to new calls, a broken one keeps the last good one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flow_text import FlowText

from menus.loader import load_flow_text
from menus.problems import FlowError, Problem
from menus.registry import FlowRegistry


def test_good_then_broken_then_fixed(
    demo: FlowText, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "callflows.yaml"
    path.write_text(demo.text, encoding="utf-8")
    registry = FlowRegistry(path)
    first = registry.current()
    assert registry.current() is first
    assert registry.problems == []

    broken = demo.replace("    next: main\n\n  main:", "    next: mian\n\n  main:")
    path.write_text(broken.text, encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="menus.registry"):
        assert registry.current() is first
    expected = Problem(
        str(path), broken.line_of("next: mian"), "nodes.announcements.next: unknown node `mian`"
    )
    assert expected in registry.problems
    assert f"{path}:{expected.line}: {expected.message}" in caplog.messages

    fixed = demo.replace("For emergencies, call 112.", "In an emergency, call 112.")
    path.write_text(fixed.text, encoding="utf-8")
    second = registry.current()
    assert second.version != first.version
    assert second.flow.nodes["welcome"].prompt["en"].endswith("In an emergency, call 112.")
    assert registry.problems == []
    assert registry.get(first.version) is first
    assert registry.get(second.version) is second


def test_a_file_that_was_never_good_raises(demo: FlowText, tmp_path: Path) -> None:
    path = tmp_path / "callflows.yaml"
    registry = FlowRegistry(path)
    with pytest.raises(FlowError) as caught:
        registry.current()
    assert caught.value.problems == [
        Problem(str(path), 1, "cannot read the file: No such file or directory")
    ]
    path.write_text(demo.text, encoding="utf-8")
    assert registry.current().flow.start == "welcome"


def test_a_version_rebuilt_from_storage_is_remembered(demo: FlowText, tmp_path: Path) -> None:
    registry = FlowRegistry(tmp_path / "callflows.yaml")
    older = load_flow_text(demo.replace("call 112.", "call 112 now.").text, "stored")
    assert registry.get(older.version) is None
    registry.remember(older)
    assert registry.get(older.version) is older
