"""How long each kind of personal data is kept (from `CIVICLINE_RETENTION_*`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Retention:
    """Days each kind of data is kept."""

    recordings: int
    transcripts: int
    caller_numbers: int
    languages: int
    sms_bodies: int
    call_events: int
