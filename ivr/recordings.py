"""The local recording store: WAV files under the data directory, one Recording row each.

Files are named by a random id, never by the caller's number; the row keeps the codec,
duration and sha256 so a supervisor can trust what they play (DESIGN §4).
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
from ivr.storage.db import Database
from ivr.storage.models import Recording


class BadRecording(ValueError):
    """Audio that is not a readable PCM WAV file."""


@dataclass(frozen=True)
class LocalRecordingStore:
    database: Database
    root: Path

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
        path = self.root / at.strftime("%Y/%m") / f"{recording_id}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wav)
        seconds = frames / rate
        with self.database.session() as session:
            session.add(
                Recording(
                    id=recording_id,
                    call_id=call_id,
                    kind=kind,
                    path=str(path.relative_to(self.root)),
                    codec=f"pcm_s{8 * width}le",
                    sample_rate=rate,
                    seconds=seconds,
                    sha256=hashlib.sha256(wav).hexdigest(),
                    created_at=at,
                )
            )
        return StoredRecording(recording_id, seconds)
