"""The Vosk adapter of the Recognizer port: one KaldiRecognizer per call, a grammar per Listen.

Audio is pushed in chunks of 16-bit mono PCM; `accept` answers with engine events:
- SpeechStarted on the first non-empty partial result (barge-in: the channel stops the
  prompt, the engine cancels its no-input timer);
- SpeechRecognized(text, confidence) at the end of speech. The confidence is the mean of
  Vosk's word confidences (`SetWords`), and 0.0 when the result holds "[unk]" or a decoy
  (`speech.grammar`), so the engine treats it as a no-match. At number and status nodes the
  number words become digits ("이 육" → "2 6"), so the engine reads the digits it knows.
  `alternatives` stays empty: with `SetMaxAlternatives` above 0 Vosk drops the word
  confidences and gives unnormalised lattice scores, which cannot be compared with a threshold;
- NoSpeech when `no_input_seconds` of audio pass without speech.
A turn also ends after `max_speech_seconds` of speech (30 s of noise ends as a no-match).
On a noisy line (the turn's signal-to-noise ratio below `clear_snr_db`) no result is sure:
its confidence is capped at `noisy_confidence`, inside the flow's confirmation band, so the
engine asks "did you mean …?" (measured on bench/speech.py's held-out set: at about 12 dB the
model hears white noise as "예약" with confidence 1.0, two thirds of the false accepts).

End of speech: the model's endpoint rules (Kaldi's rule2, 0.5 s of trailing silence in the
Korean model's conf/model.conf) or a VAD (webrtcvad, `vad_silence_seconds` of unvoiced
20 ms frames after speech) — both are here so bench/speech.py can measure them. The default
is the VAD: measured on the same synthetic speech it answers sooner after the end of speech
(its silence can be set in the flow's terms, while Vosk 0.3.45 has no endpointer setter and
the model's rule holds on until Kaldi's silence phones decide) with the same recognition.
With the VAD the model's rule still ends a turn when it fires first: on a noisy line the VAD
hears the noise as voice and never ends (measured: a third of the held-out utterances at
σ 1000 had no result after 2 s), while Kaldi's silence phones still decide.

Time is the audio itself: seconds are counted from the samples pushed, never from a clock.
Vosk is imported lazily; the model comes from `speech.models.ModelCache`. `close` frees the
Kaldi decoder and, for a recogniser admitted by `speech.admission`, its place among the
process's live recognisers; the channel calls it when the call ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ivr.engine import events as ev
from ivr.engine.actions import Listen
from speech import grammar
from speech.audio import SAMPLE_WIDTH, level, signal_to_noise
from speech.numbers import to_digits

Endpoint = Literal["model", "vad"]
FRAME_SECONDS = 0.02
VAD_AGGRESSIVENESS = 2


@dataclass
class VoskRecognizer:
    model: Any
    rate: int
    endpoint: Endpoint = "vad"
    no_input_seconds: float = 6.0
    max_speech_seconds: float = 20.0
    vad_silence_seconds: float = 0.3
    clear_snr_db: float = 15.0
    noisy_confidence: float = 0.45
    """The most a result heard on a noisy line may be trusted: the flow's confirmation band."""
    _kaldi: Any = None
    _vad: Any = None
    _grammar: grammar.Grammar | None = None
    _pending: bytes = b""
    _heard: float = 0.0
    _speech_at: float | None = None
    _silent_for: float = 0.0
    _levels: list[float] = field(default_factory=list)
    unknown_phrases: list[str] = field(default_factory=list)
    _closed: bool = False
    _on_close: list[Callable[[], None]] = field(default_factory=list)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run `callback` once, when this recogniser is closed."""
        self._on_close.append(callback)

    def close(self) -> None:
        """Free the decoder (and the recogniser's live place); later turns are refused."""
        self._kaldi = self._vad = self._grammar = None
        self._closed = True
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            callback()

    def listen(self, listen: Listen) -> None:
        """Start a turn listening for the phrases of `listen`."""
        import vosk

        if self._closed:
            raise RuntimeError("listen on a closed recogniser (the call ended)")
        self._grammar = grammar.build(
            listen, lambda word: self.model.vosk_model_find_word(word) >= 0
        )
        self.unknown_phrases = list(self._grammar.unknown)
        if self._kaldi is None:
            self._kaldi = vosk.KaldiRecognizer(self.model, self.rate, self._grammar.as_json())
            self._kaldi.SetWords(True)
            self._kaldi.SetMaxAlternatives(0)
        else:
            self._kaldi.Reset()  # first: Vosk aborts the process on SetGrammar mid-utterance
            self._kaldi.SetGrammar(self._grammar.as_json())
        if self.endpoint == "vad" and self._vad is None:
            import webrtcvad

            self._vad = webrtcvad.Vad(VAD_AGGRESSIVENESS)
        self._pending, self._heard, self._speech_at = b"", 0.0, None
        self._silent_for, self._levels = 0.0, []

    @property
    def listening(self) -> bool:
        return self._grammar is not None

    def accept(self, pcm: bytes, at: datetime) -> list[ev.Event]:
        """Push audio; the events it completes (the turn ends with a result or NoSpeech)."""
        if self._grammar is None:
            return []
        frame = int(FRAME_SECONDS * self.rate) * SAMPLE_WIDTH
        self._pending += pcm
        events: list[ev.Event] = []
        while len(self._pending) >= frame and self._grammar is not None:
            chunk, self._pending = self._pending[:frame], self._pending[frame:]
            events += self._frame(chunk, at)
        return events

    def finish(self, at: datetime) -> list[ev.Event]:
        """The audio ended: what was said so far, or NoSpeech."""
        if self._grammar is None:
            return []
        if self._pending:
            self._kaldi.AcceptWaveform(self._pending)
        return self._end(json.loads(self._kaldi.FinalResult()), at)

    def _frame(self, chunk: bytes, at: datetime) -> list[ev.Event]:
        self._heard += FRAME_SECONDS
        self._levels.append(level(chunk))
        final = self._kaldi.AcceptWaveform(chunk)
        events: list[ev.Event] = []
        if final:
            result = json.loads(self._kaldi.Result())
            if result.get("text"):
                return self._started(at) + self._end(result, at)
        elif self._speech_at is None and json.loads(self._kaldi.PartialResult()).get("partial"):
            events += self._started(at)
        if self.endpoint == "vad" and self._vad_ended(chunk):
            return events + self._end(json.loads(self._kaldi.FinalResult()), at)
        if self._speech_at is None and self._heard >= self.no_input_seconds:
            return events + self._end({}, at)
        if self._speech_at is not None and self._heard - self._speech_at >= self.max_speech_seconds:
            return events + self._end(json.loads(self._kaldi.FinalResult()), at)
        return events

    def _vad_ended(self, chunk: bytes) -> bool:
        voiced = self._vad.is_speech(chunk, self.rate)
        self._silent_for = 0.0 if voiced else self._silent_for + FRAME_SECONDS
        return self._speech_at is not None and self._silent_for >= self.vad_silence_seconds

    def _started(self, at: datetime) -> list[ev.Event]:
        if self._speech_at is not None:
            return []
        self._speech_at = self._heard
        return [ev.SpeechStarted(at=at)]

    def _end(self, result: dict[str, Any], at: datetime) -> list[ev.Event]:
        judged = self._grammar
        assert judged is not None
        self._grammar = None
        words = [w["word"] for w in result.get("result", [])]
        if not words:
            return [ev.NoSpeech(at=at)]
        confidences = [float(w.get("conf", 1.0)) for w in result["result"]]
        confidence = 0.0 if judged.rejected(words) else sum(confidences) / len(confidences)
        if signal_to_noise(self._levels) < self.clear_snr_db:
            confidence = min(confidence, self.noisy_confidence)
        text = " ".join(words)
        if judged.digits:
            text = to_digits(text, judged.language)
        return [ev.SpeechRecognized(at=at, text=text, confidence=round(confidence, 3))]
