"""Fixtures for the routing tests: the demo city's flow, and variants of it built inline."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from menus.schema import Flow

CALLFLOWS = Path(__file__).resolve().parents[2] / "callflows.yaml"


@pytest.fixture(scope="session")
def demo_data() -> dict[str, Any]:
    with CALLFLOWS.open(encoding="utf-8") as file:
        data: dict[str, Any] = yaml.safe_load(file)
    return data


@pytest.fixture(scope="session")
def demo_flow(demo_data: dict[str, Any]) -> Flow:
    return Flow.model_validate(demo_data)


@pytest.fixture(scope="session")
def make_flow(demo_data: dict[str, Any]) -> Callable[..., Flow]:
    """The demo flow with other schedules (one department per schedule, named after it)."""

    def make(
        schedules: dict[str, Any],
        *,
        country: str = "RO",
        timezone: str = "Europe/Bucharest",
        departments: dict[str, Any] | None = None,
        escalation: list[dict[str, Any]] | None = None,
    ) -> Flow:
        data = copy.deepcopy(demo_data)
        data["city"].update(country=country, timezone=timezone)
        data["schedules"] = schedules
        data["departments"] = (
            departments
            if departments is not None
            else {name: {"name": {"ro": name, "en": name}, "schedule": name} for name in schedules}
        )
        if escalation is not None:
            data["escalation"] = escalation
        return Flow.model_validate(data)

    return make
