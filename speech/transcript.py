"""Free-form transcription of a recording (a description): text and word confidences.

Free-form decoding costs ~40× a grammar, so it runs in a background job (`speech.job`) or
`ivr transcribe`, never while a caller waits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

CHUNK_SECONDS = 1.0


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float
    words: list[dict[str, Any]] = field(default_factory=list)
    """Each word with its `conf`, `start` and `end` (seconds), as Vosk gives them."""

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "confidence": self.confidence, "words": self.words}


def transcribe(model: Any, pcm: bytes, rate: int) -> Transcript:
    """The whole of `pcm` (16-bit mono) decoded without a grammar."""
    import vosk

    recognizer = vosk.KaldiRecognizer(model, rate)
    recognizer.SetWords(True)
    words: list[dict[str, Any]] = []
    step = int(CHUNK_SECONDS * rate) * 2
    for offset in range(0, len(pcm), step):
        if recognizer.AcceptWaveform(pcm[offset : offset + step]):
            words += json.loads(recognizer.Result()).get("result", [])
    words += json.loads(recognizer.FinalResult()).get("result", [])
    confidence = sum(float(w["conf"]) for w in words) / len(words) if words else 0.0
    return Transcript(" ".join(w["word"] for w in words), round(confidence, 3), words)
