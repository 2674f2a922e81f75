"""The Open311 tests' one server per module: a city's civicline under `ivr serve`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from open311_city import City, running_city


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    with running_city(tmp_path_factory.mktemp("city")) as served:
        yield served
