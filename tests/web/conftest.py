"""Fixtures of the supervisor site's tests: a seeded site and a test client per role."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from site_data import Site, build_site, login


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return build_site(tmp_path)


@pytest.fixture
def admin(site: Site):
    client = site.app.test_client()
    login(client, "admin")
    return client


@pytest.fixture
def supervisor(site: Site):
    client = site.app.test_client()
    login(client, "super")
    return client


@pytest.fixture
def officer(site: Site):
    client = site.app.test_client()
    login(client, "roads")
    return client
