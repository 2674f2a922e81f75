"""The recording store (the engine's RecordingStore port): a WAV file in the configured
files (`ivr.recordings.files`) and one Recording row each.

Files are named by a random id, never by the caller's number; the row keeps the codec,
duration and sha256 so a supervisor can trust what they play (DESIGN §4). The file is
written before its row: a crash in between leaves a file without a row, which the retention
purge removes, never a row without its file.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import wave
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ivr.engine.ports import StoredRecording
from ivr.recordings.files import LocalFiles, RecordingFiles
from ivr.storage.db import Database
from ivr.storage.models import Recording


class BadRecording(ValueError):
    """Audio that is not a readable PCM WAV file."""


@dataclass(frozen=True)
class Recordings:
    database: Database
    files: RecordingFiles

    @classmethod
    def local(cls, database: Database, root: Path) -> Recordings:
        """Recordings with their files under `root` on this machine."""
        return cls(database, LocalFiles(root))

    def save_wav(
        self, call_id: str, kind: str, wav: bytes, at: datetime, *, recording_id: str | None = None
    ) -> StoredRecording:
        """Keep `wav` under a new random id, or under `recording_id` when the id was given out
        before the file existed (a recording Twilio made: its RecordingSid)."""
        try:
            with wave.open(io.BytesIO(wav)) as reader:
                rate, frames, width = (
                    reader.getframerate(),
                    reader.getnframes(),
                    reader.getsampwidth(),
                )
        except (wave.Error, EOFError) as exc:
            raise BadRecording(f"not a PCM WAV file: {exc}") from None
        recording_id = recording_id or uuid.uuid4().hex
        key = f"{at:%Y/%m}/{recording_id}.wav"
        self.files.put(key, wav)
        seconds = frames / rate
        with self.database.session() as session:
            session.add(
                Recording(
                    id=recording_id,
                    call_id=call_id,
                    kind=kind,
                    path=key,
                    codec=f"pcm_s{8 * width}le",
                    sample_rate=rate,
                    seconds=seconds,
                    sha256=hashlib.sha256(wav).hexdigest(),
                    created_at=at,
                )
            )
        return StoredRecording(recording_id, seconds)
