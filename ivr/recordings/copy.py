"""Copy recording files from one store to another: how a city that kept its recordings on
one machine's disk moves them into the object store its nodes share (or back).

A file keeps its key (the `Recording.path` of its row) in every store, so the rows need no
change: point `CIVICLINE_RECORDINGS_URL` at the new store, copy, and every recording plays
from there. A file the target already holds is left alone, so a copy stopped half-way (or
one run again after calls recorded into the new store) only copies what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.recordings.files import RecordingFiles


@dataclass(frozen=True)
class Copied:
    copied: int
    already_there: int
    missing: int
    """Listed by the source but gone when read (deleted meanwhile by a purge or erasure)."""


def copy_files(source: RecordingFiles, target: RecordingFiles, *, dry_run: bool) -> Copied:
    """Put every file of `source` that `target` lacks into `target` (a dry run only counts)."""
    there = {stored.key for stored in target.files()}
    copied = already = missing = 0
    for stored in source.files():
        if stored.key in there:
            already += 1
            continue
        data = None if dry_run else source.get(stored.key)
        if not dry_run and data is None:
            missing += 1
            continue
        if data is not None:
            target.put(stored.key, data)
        copied += 1
    return Copied(copied, already, missing)
