"""Fixtures of the menus tests: the demo and Bulgarian flow files, and the demo's text."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_text import FlowText

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo_path() -> Path:
    return ROOT / "callflows.yaml"


@pytest.fixture(scope="session")
def bulgarian_path() -> Path:
    return ROOT / "tests" / "flows" / "bulgarian.yaml"


@pytest.fixture(scope="session")
def demo(demo_path: Path) -> FlowText:
    return FlowText(demo_path.read_text(encoding="utf-8"))
