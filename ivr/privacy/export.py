"""Everything held about a phone number, as one zip: `data.json` plus the audio files.

`data.json` has the number, when it was exported, the rows of every table that hold it
(see `ivr.privacy.holdings`) and the recording files that could not be found. The export is
itself written to the audit log, with the number masked and the recordings it holds.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from ivr.privacy.holdings import find
from ivr.privacy.subject import Subject
from ivr.recordings.files import RecordingFiles
from ivr.storage.audit import audit
from ivr.storage.db import Database


@dataclass(frozen=True)
class Export:
    counts: dict[str, int]
    audio_files: int
    missing_files: list[str]


def export(
    database: Database,
    subject: Subject,
    files: RecordingFiles,
    out: IO[bytes],
    *,
    actor: str,
    at: datetime,
) -> Export:
    """Write the zip to `out` and audit it."""
    with database.session() as session:
        held = find(session, subject)
        recordings = held.rows.get("recordings", [])
        audit(
            session,
            actor=actor,
            action="privacy.export",
            target=subject.masked,
            details={"rows": held.counts(), "recordings": [r["id"] for r in recordings]},
            at=at,
        )
    paths = [row["path"] for row in recordings]
    audio = {path: files.get(path) for path in paths}
    missing = [path for path, data in audio.items() if data is None]
    document = {
        "number": subject.e164,
        "exported_at": at.isoformat(),
        "tables": {table: rows for table, rows in held.rows.items() if rows},
        "missing_recording_files": missing,
    }
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2))
        for path, data in audio.items():
            if data is not None:
                archive.writestr(f"audio/{path}", data)
    return Export(held.counts(), len(paths) - len(missing), missing)
