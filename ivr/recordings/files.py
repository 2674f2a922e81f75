"""Where recording files live: a directory on this machine, or an object store (`s3.py`).

A file is named by its key, the `Recording.path` of its row (`2026/12/<random id>.wav`), the
same in every store, so a deployment can move its files from one store to another and keep
its rows. Stores hold bytes only; the rows, and what may be deleted when, belong to their
callers (`ivr.recordings.store`, `ivr.privacy`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StoredFile:
    key: str
    modified: datetime
    """When it was written (UTC): an orphan is deleted only once it is old enough."""


class RecordingFiles(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Keep `data` under `key`, replacing what was there."""
        ...

    def get(self, key: str) -> bytes | None:
        """The file's bytes; None when there is no such file."""
        ...

    def delete(self, key: str) -> bool:
        """Delete the file; False when it was already missing."""
        ...

    def files(self) -> Iterator[StoredFile]:
        """Every recording file in the store."""
        ...


class BadKey(ValueError):
    """A key that would name a file outside the store (a row that was tampered with)."""


@dataclass(frozen=True)
class LocalFiles:
    """WAV files under a directory of this machine (the single-machine default)."""

    root: Path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def delete(self, key: str) -> bool:
        path = self._path(key)
        if not path.is_file():
            return False
        path.unlink()
        return True

    def files(self) -> Iterator[StoredFile]:
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*.wav"):
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            yield StoredFile(path.relative_to(self.root).as_posix(), modified)

    def _path(self, key: str) -> Path:
        root = self.root.resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root) or path == root:
            raise BadKey(f"recording key {key!r} is outside {root}")
        return path
