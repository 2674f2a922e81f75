"""Speech synthesis ahead of time: texts → 8 kHz 16-bit mono WAV files, through a speaker process.

pyttsx3 can hang, so it never runs in our process: `Synthesizer` starts the speaker
(`speech.speaker`, or any command speaking its line protocol), sends one text at a time and
waits at most `timeout_seconds` for each answer. No answer in time → the process is killed
and SynthesisError names the text that hung. The speaker's WAV (espeak-ng's 22.05 kHz) is
resampled to the line's rate with `speech.audio` and written in place atomically. Nothing
here runs while a caller waits: `ivr prompts build` does, before calls.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from speech.audio import PHONE_RATE, AudioError, read_wav, wav_bytes
from speech.speaker import FAILED, RENDERED

SPEAKER = (sys.executable, "-m", "speech.speaker")


class SynthesisError(RuntimeError):
    """A text that could not be rendered: the speaker hung, failed or gave no audio."""


@dataclass(frozen=True)
class Utterance:
    text: str
    voice: str
    """An espeak-ng voice: a language code (`ro`, `bg`, `ko`) or a voice id (`gmw/en-us`)."""
    words_per_minute: int
    path: Path
    """Where the 8 kHz WAV goes."""


@dataclass
class Synthesizer:
    """One speaker process, rendering utterances one at a time; use it as a context manager."""

    command: Sequence[str] = SPEAKER
    timeout_seconds: float = 30.0
    rate: int = PHONE_RATE
    _process: subprocess.Popen[bytes] | None = None
    _buffer: bytes = b""
    _scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="civicline-tts-")))

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def render(self, utterance: Utterance) -> None:
        """Write `utterance` as a WAV at the line's rate; SynthesisError when it cannot."""
        raw = self._scratch / "speaker.wav"
        raw.unlink(missing_ok=True)
        request = {
            "text": utterance.text,
            "voice": utterance.voice,
            "rate": utterance.words_per_minute,
            "path": str(raw),
        }
        answer = self._ask(json.dumps(request, ensure_ascii=False), utterance)
        status, _, detail = answer.partition("\t")
        if status == FAILED:
            raise SynthesisError(f"{utterance.text!r}: {detail}")
        try:
            pcm = read_wav(raw, self.rate)
        except AudioError as error:
            raise SynthesisError(
                f"{utterance.text!r}: the speaker gave no audio ({error})"
            ) from None
        utterance.path.parent.mkdir(parents=True, exist_ok=True)
        partial = utterance.path.with_suffix(".partial")
        partial.write_bytes(wav_bytes(pcm, self.rate))
        partial.replace(utterance.path)

    def close(self) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=self.timeout_seconds)
            except subprocess.TimeoutExpired:
                self._stop()
            self._process = None
        for leftover in self._scratch.glob("*"):
            leftover.unlink()
        self._scratch.rmdir()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            self._process = subprocess.Popen(
                list(self.command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            self._buffer = b""
        return self._process

    def _ask(self, request: str, utterance: Utterance) -> str:
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(request.encode("utf-8") + b"\n")
            process.stdin.flush()
        except BrokenPipeError:
            self._stop()
            raise SynthesisError(f"the speaker process {self.command[0]!r} ended early") from None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while True:
                line = self._next_line()
                if line is not None:
                    if line.startswith((RENDERED + "\t", FAILED + "\t")):
                        return line
                    continue
                if not selector.select(self.timeout_seconds):
                    self._stop()
                    raise SynthesisError(
                        f"speech synthesis timed out after {self.timeout_seconds:g} s on "
                        f"{utterance.text!r} (voice {utterance.voice}); the speaker was stopped"
                    )
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    code = self._stop()
                    raise SynthesisError(
                        f"the speaker process ended (exit {code}) on {utterance.text!r}"
                    )
                self._buffer += chunk

    def _next_line(self) -> str | None:
        line, newline, rest = self._buffer.partition(b"\n")
        if not newline:
            return None
        self._buffer = rest
        return line.decode("utf-8", errors="replace")

    def _stop(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        process.kill()
        return process.wait()
