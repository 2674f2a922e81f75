"""Prompt audio for the channels that play it themselves (Media Streams, the browser, SIP).

Prompts are the files `speech.prompts.PromptLibrary.compose` names (built ahead by `ivr
prompts build`), each decoded once per process and rate; a prompt missing from that cache is
silence as long as the text would take to say, and is logged: nothing is synthesised during
a call.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from ivr.engine import actions as act
from speech.audio import AudioError, read_wav, silence
from speech.prompts import PromptLibrary, PromptMissing

log = logging.getLogger(__name__)

SECONDS_PER_CHARACTER = 0.07
MIN_PROMPT_SECONDS = 0.5
PROMPT_FILES_CACHED = 1024
"""Decoded prompt files kept in memory (a flow's prompts and pieces, per language and rate:
a few seconds of 16-bit audio each, some tens of MB at most)."""


def prompt_audio(prompts: PromptLibrary, say: act.Say, rate: int) -> bytes:
    """A prompt's audio as 16-bit PCM at `rate`: its files, or plausible silence."""
    try:
        return b"".join(prompt_file(path, rate) for path in prompts.compose(say))
    except (PromptMissing, AudioError) as error:
        log.warning("prompt %s played as silence: %s", say.prompt, error)
    return silence(max(MIN_PROMPT_SECONDS, SECONDS_PER_CHARACTER * len(say.text)), rate)


def prompt_file(path: Path, rate: int) -> bytes:
    """One prompt file as 16-bit PCM at `rate`, decoded (and resampled) once per process
    while the file stays the same: every call plays the same few files."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as error:
        raise AudioError(f"{path}: {error.strerror}") from None
    return _decoded(path, stamp, rate)


@functools.lru_cache(maxsize=PROMPT_FILES_CACHED)
def _decoded(path: Path, stamp: int, rate: int) -> bytes:
    return read_wav(path, rate)
