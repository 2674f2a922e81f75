"""Recordings: the store the channels write to (`store`), and where its files live, chosen
by `CIVICLINE_RECORDINGS_URL`: a directory of this machine (`file:///…`, by default
`<data dir>/recordings`) or an S3-compatible object store (`s3://bucket/prefix`) that every
node shares (`s3`)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from ivr.config import Settings, store_url
from ivr.recordings.files import LocalFiles, RecordingFiles
from ivr.recordings.store import BadRecording, Recordings
from ivr.storage.db import Database

__all__ = ["BadRecording", "Recordings", "files_at", "recording_files", "recording_store"]


def recording_files(settings: Settings) -> RecordingFiles:
    """The files `settings.recordings_url` names (the settings checked its form)."""
    return files_at(settings.recordings_url, settings)


def files_at(url: str, settings: Settings) -> RecordingFiles:
    """The files of the store `url` names (`file:///…`, `s3://…` with the settings' S3
    endpoint and keys; empty: `<data dir>/recordings`); ValueError for another form."""
    if store_url(url).startswith("s3://"):
        from ivr.recordings.s3 import S3Files, S3Settings, parse_s3_url

        bucket, prefix = parse_s3_url(url)
        return S3Files.connect(
            S3Settings(
                bucket=bucket,
                prefix=prefix,
                endpoint_url=settings.s3_endpoint_url,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key,
                region=settings.s3_region,
                timeouts=(settings.http_connect_seconds, settings.http_read_seconds),
            )
        )
    if url:
        return LocalFiles(Path(unquote(urlsplit(url).path)))
    return LocalFiles(settings.data_dir / "recordings")


def recording_store(settings: Settings, database: Database) -> Recordings:
    """The store a channel keeps its recordings in."""
    return Recordings(database, recording_files(settings))
