"""Files the speech tests share (a module of its own: test modules never import conftest)."""

from __future__ import annotations

from pathlib import Path

KOREAN_FLOW = Path(__file__).parents[1] / "flows" / "korean.yaml"
