"""Prompt audio played on this machine's speakers, for `ivr call --audio`.

A maintained command-line player does the playing, so there is no audio device code here:
the first found on PATH of `paplay` (PulseAudio or PipeWire), `aplay` (ALSA), `play` (sox)
and `ffplay`. Files are played one at a time, in order, each waited for with a timeout of
its length plus a margin, so a stuck player cannot hang the call.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PLAYERS: tuple[tuple[str, ...], ...] = (
    ("paplay",),
    ("aplay", "-q"),
    ("play", "-q"),
    ("ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"),
)
MARGIN_SECONDS = 5.0


class PlaybackError(Exception):
    """No player is installed, or the player failed (no sound device, a stuck player)."""


@dataclass(frozen=True)
class Player:
    command: tuple[str, ...]

    @classmethod
    def find(cls) -> Player:
        """The first player installed; PlaybackError naming the packages that provide one."""
        for command in PLAYERS:
            found = shutil.which(command[0])
            if found is not None:
                return cls((found, *command[1:]))
        raise PlaybackError(
            "no audio player found: install pulseaudio-utils (paplay), alsa-utils (aplay) "
            "or sox (play)"
        )

    def play(self, files: Sequence[Path]) -> None:
        for path in files:
            try:
                done = subprocess.run(
                    [*self.command, str(path)],
                    capture_output=True,
                    text=True,
                    timeout=_seconds(path) + MARGIN_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise PlaybackError(f"{self.command[0]} did not finish {path}") from None
            if done.returncode != 0:
                reason = done.stderr.strip() or f"exit status {done.returncode}"
                raise PlaybackError(f"{self.command[0]} could not play {path}: {reason}")


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()
