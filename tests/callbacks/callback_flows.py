"""The flows the callback tests run on: the demo city (ro, en) and Ruse (bg, en)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from menus.loader import load_flow
from menus.schema import Flow

ROOT = Path(__file__).resolve().parents[2]
DEMO_FLOW_PATH = ROOT / "callflows.yaml"
RUSE_FLOW_PATH = ROOT / "tests" / "flows" / "bulgarian.yaml"


@cache
def demo_flow() -> Flow:
    return load_flow(DEMO_FLOW_PATH).flow


@cache
def ruse_flow() -> Flow:
    return load_flow(RUSE_FLOW_PATH).flow


LANGUAGES = [("ro", demo_flow), ("en", demo_flow), ("bg", ruse_flow)]
"""Each language of the issue with the flow that speaks it."""
