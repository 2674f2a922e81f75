"""The Vosk adapter of the Recognizer port: one KaldiRecognizer per call, a grammar per Listen.

Audio is pushed in chunks of 16-bit mono PCM; `accept` answers with engine events:
- SpeechStarted once the VAD has heard `BARGE_IN_SECONDS` of voice, or on Vosk's first
  words if sooner (barge-in: the channel stops the prompt, the engine cancels its no-input
  timer);
- SpeechRecognized(text, confidence) at the end of speech, judged on Vosk's n-best readings
  (`SetMaxAlternatives`; their scores are comparable within one result, unlike word
  confidences, which Vosk drops in that mode). The grammar's way out is "[unk]" or decoys
  (`speech.decoys`: words of the model's own vocabulary far from every phrase). A phrase
  well ahead is sure (confidence 1.0), a close call is unsure (`noisy_confidence`, inside
  the flow's confirmation band: the engine asks "did you mean …?"). When a decoy or silence
  wins, the verdict goes to a second pass over the same audio with the phrases alone: a
  phrase scoring nearly as well as the decoy is unsure, otherwise the result is a no-match
  (confidence 0.0), so a short phrase such as "예" is never lost to a decoy it nearly beat
  (`grammar.Margins`). Its decoder follows the first from the moment a decoy leads the
  first's partial result, so the end of the turn costs only its final result
  (`PhrasesAlone`). At number and status nodes the text is the number words heard ("이 육"):
  the engine reads the digits in them, as in speech from any channel;
- SpeechRecognized with no text and confidence 0.0 (a no-match) when the VAD heard at least
  `UTTERANCE_SECONDS` of voice in which neither pass found a phrase of the grammar;
- NoSpeech when `no_input_seconds` of audio pass without words (a cough or a click, shorter
  than `UTTERANCE_SECONDS`, included).
A turn also ends after `max_speech_seconds` of words (30 s of noise ends at the no-input time,
or as a no-match).
On a noisy line (the turn's signal-to-noise ratio below `clear_snr_db`) no result is sure:
its confidence is capped at `noisy_confidence`, inside the flow's confirmation band, so the
engine asks "did you mean …?" (measured on bench/speech.py's held-out set: at about 12 dB the
model hears white noise as "예약" with confidence 1.0, two thirds of the false accepts).

End of speech: a VAD (Silero, `speech.vad`: `vad_silence_seconds` of unvoiced 32 ms windows
after the words) or the model's endpoint rules (Kaldi's rule2, 0.5 s of trailing silence in
the Korean model's conf/model.conf; Vosk 0.3.45 has no endpointer setter). From
`complete_silence_seconds` of silence on, Vosk's partial result is read at each window: a
phrase that no longer phrase of the grammar begins with (`Grammar.complete`) ends the turn
there (bench/speech.py's tuning words: end of speech → result p50 418 → 336 ms, p95 518
→ 486 ms, the same accuracy). Partial results lag a short word by about 0.3 s, so mostly
longer words end sooner; ending every stretch after 0.1 s of silence instead cut words such
as "나무" at the pause inside them.
Both endpoints are here so
bench/speech.py can measure them; the VAD is the default. With the VAD, Vosk only decodes
while the VAD hears voice (from `PREROLL_SECONDS` before its onset to the end of its
trailing silence): silence and steady line noise cost no decoding, which is what lets one
core carry many calls, and a noisy line ends its turn when the words end (measured: webrtcvad,
used before, heard white noise as voice and left a third of the noisy turns to the model's
rule, p95 730 ms late). The model's rule still ends a turn when it fires first.

Time is the audio itself: seconds are counted from the samples pushed, never from a clock.
Vosk is imported lazily; the model comes from `speech.models.ModelCache`. `close` frees the
Kaldi decoder and, for a recogniser admitted by `speech.admission`, its place among the
process's live recognisers; the channel calls it when the call ends.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ivr.engine import events as ev
from ivr.engine.actions import Listen
from speech import decoys, grammar, vad
from speech.audio import SAMPLE_WIDTH, level, signal_to_noise
from speech.decoys import DecoyRule
from speech.models import folder_of
from speech.vad import VoiceDetector

Endpoint = Literal["model", "vad"]
SecondPass = Literal["lazy", "live", "at end", "off"]
PREROLL_SECONDS = 0.3
"""Audio kept from before the VAD's onset and decoded with it: the onset lags the first
sound by a window or two, and Kaldi needs the silence before a word."""
BARGE_IN_SECONDS = 0.15
"""Voice the VAD must hear without a break before SpeechStarted (the caller interrupts the
prompt): long enough to pass over a click, much sooner than Vosk's first words (a partial
result comes about 0.3 s after a short word has ended)."""
UTTERANCE_SECONDS = 0.25
"""A voiced stretch this long in which Vosk finds no phrase of the grammar was said to us
(a word out of the menu): the turn ends as a no-match at once, instead of waiting out the
no-input time. A shorter one (a cough, a click) leaves the turn going on."""
ALTERNATIVES = 10
"""Vosk's n-best readings per result, whose score margins judge it (`Grammar.judge`)."""
MODEL_WINDOW_SECONDS = 0.02
"""The piece Vosk is fed at a time when the model's rules end the turn (no VAD)."""


@dataclass(frozen=True)
class Judged:
    """What the last turn's result was judged on (for benchmarks and diagnosis)."""

    grammar: grammar.Grammar
    readings: list[tuple[str, float]]
    """Vosk's n-best readings: text and score, best first."""
    noisy: bool
    forced: list[tuple[str, float]] = field(default_factory=list)
    """The second pass's n-best readings, when it judged the turn."""


@dataclass
class VoskRecognizer:
    model: Any
    rate: int
    endpoint: Endpoint = "vad"
    no_input_seconds: float = 6.0
    max_speech_seconds: float = 20.0
    vad_silence_seconds: float = 0.3
    complete_silence_seconds: float = 0.1
    """The trailing silence that ends a turn whose words so far are a phrase that no longer
    phrase of the grammar extends (`Grammar.complete`): the caller has nothing left to add."""
    clear_snr_db: float = 15.0
    noisy_confidence: float = 0.45
    """The most a result heard on a noisy line may be trusted: the flow's confirmation band."""
    decoy_rule: DecoyRule = DecoyRule()  # noqa: RUF009 (frozen: one shared default is safe)
    margins: grammar.Margins = grammar.Margins()  # noqa: RUF009 (frozen, as above)
    second_pass: SecondPass = "lazy"
    """When the second pass decodes (the same verdict each way): from the first window on
    the first decoder's partial result that a decoy leads, alongside the first from the
    start, once the turn has ended, or never."""
    _kaldi: Any = None
    _vad: VoiceDetector | None = None
    _grammar: grammar.Grammar | None = None
    _pending: bytes = b""
    _heard: float = 0.0
    _speech_started: bool = False
    _words_at: float | None = None
    """When Vosk first heard words in the turn."""
    _voiced_for: float = 0.0
    """Voice heard without a break, up to this window."""
    _stretch_voiced: float = 0.0
    """Voice heard in the current voiced stretch (its short breaks left out)."""
    _silent_for: float = 0.0
    _decoding: bool = False
    """The VAD heard voice and Vosk is being fed (always, with the model's endpoint)."""
    _preroll: deque[bytes] = field(default_factory=deque)
    _second: PhrasesAlone | None = None
    _levels: list[float] = field(default_factory=list)
    unknown_phrases: list[str] = field(default_factory=list)
    last_turn: Judged | None = None
    _closed: bool = False
    _on_close: list[Callable[[], None]] = field(default_factory=list)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run `callback` once, when this recogniser is closed."""
        self._on_close.append(callback)

    def close(self) -> None:
        """Free the decoder (and the recogniser's live place); later turns are refused."""
        if self._vad is not None:
            self._vad.close()
        if self._second is not None:
            self._second.close()
        self._kaldi = self._second = self._vad = self._grammar = None
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
            listen, lambda word: self.model.vosk_model_find_word(word) >= 0, self._decoys
        )
        self.unknown_phrases = list(self._grammar.unknown)
        if self._kaldi is None:
            self._kaldi = vosk.KaldiRecognizer(self.model, self.rate, self._grammar.as_json())
            self._kaldi.SetMaxAlternatives(ALTERNATIVES)
        else:
            self._kaldi.Reset()  # first: Vosk aborts the process on SetGrammar mid-utterance
            self._kaldi.SetGrammar(self._grammar.as_json())
        if self.second_pass != "off":
            if self._second is None:
                self._second = PhrasesAlone(self.model, self.rate)
            self._second.restart(self._grammar.phrases)
            if self.second_pass == "live":
                self._second.follow()
        if self.endpoint == "vad":
            if self._vad is None:
                self._vad = VoiceDetector(self.rate)
            self._vad.restart()
        self._pending, self._heard, self._words_at = b"", 0.0, None
        self._speech_started, self._voiced_for, self._silent_for = False, 0.0, 0.0
        self._levels, self.last_turn = [], None
        self._decoding = self._vad is None
        self._preroll = deque(maxlen=max(1, round(PREROLL_SECONDS / self._window_seconds)))

    def _decoys(self, phrases: Sequence[str]) -> tuple[str, ...]:
        folder = folder_of(self.model)
        return () if folder is None else decoys.choose(folder, phrases, self.decoy_rule)

    @property
    def listening(self) -> bool:
        return self._grammar is not None

    @property
    def _window_seconds(self) -> float:
        return vad.WINDOW_SECONDS if self._vad is not None else MODEL_WINDOW_SECONDS

    def accept(self, pcm: bytes, at: datetime) -> list[ev.Event]:
        """Push audio; the events it completes (the turn ends with a result or NoSpeech)."""
        if self._grammar is None:
            return []
        size = round(self._window_seconds * self.rate) * SAMPLE_WIDTH
        self._pending += pcm
        events: list[ev.Event] = []
        while len(self._pending) >= size and self._grammar is not None:
            window, self._pending = self._pending[:size], self._pending[size:]
            events += self._window(window, at)
        return events

    def finish(self, at: datetime) -> list[ev.Event]:
        """The audio ended: what was said so far, or NoSpeech."""
        if self._grammar is None:
            return []
        if self._pending and self._decoding:
            self._feed(self._pending)
        return self._end(json.loads(self._kaldi.FinalResult()), at)

    def _window(self, window: bytes, at: datetime) -> list[ev.Event]:
        judged = self._grammar
        assert judged is not None
        self._heard += self._window_seconds
        self._levels.append(level(window))
        events: list[ev.Event] = []
        if self._vad is not None:
            stretch_ended = self._follow_vad(window)
            if self._voiced_for >= BARGE_IN_SECONDS:
                events += self._started(at)
            if stretch_ended:
                result = json.loads(self._kaldi.FinalResult())
                if _best(result):
                    return events + self._words(at) + self._end(result, at)
                if self._stretch_voiced >= UTTERANCE_SECONDS:
                    return events + self._end(result, at, voiced=True)
                self._words_at = None  # partial words the final result took back
                self._forget()
        if self._decoding and self._feed(window):
            result = json.loads(self._kaldi.Result())
            if _best(result):
                return events + self._words(at) + self._end(result, at)
            self._forget()
        elif self._decoding and (self._words_at is None or self._watching):
            words = str(json.loads(self._kaldi.PartialResult()).get("partial", "")).split()
            if words:
                events += self._words(at)
            if self._second is not None and self._watching and judged.rejects & set(words):
                self._second.follow()
        if self._words_at is None and self._heard >= self.no_input_seconds:
            return events + self._end({}, at)
        if self._words_at is not None and self._heard - self._words_at >= self.max_speech_seconds:
            return events + self._end(json.loads(self._kaldi.FinalResult()), at)
        return events

    def _follow_vad(self, window: bytes) -> bool:
        """Decode from the VAD's onset (with the pre-roll) to the end of its trailing
        silence; whether this window ended a voiced stretch."""
        assert self._vad is not None
        if self._vad.hears(window):
            if not self._decoding:
                self._decoding, self._stretch_voiced = True, 0.0
                for earlier in self._preroll:
                    self._feed(earlier)
                self._preroll.clear()
            self._silent_for = 0.0
            self._voiced_for += self._window_seconds
            self._stretch_voiced += self._window_seconds
            return False
        self._voiced_for = 0.0
        if not self._decoding:
            self._preroll.append(window)
            return False
        self._silent_for += self._window_seconds
        if self._silent_for < self.vad_silence_seconds and not self._said_it_all():
            return False
        self._decoding = False
        return True

    def _said_it_all(self) -> bool:
        """After `complete_silence_seconds` of trailing silence: whether the words decoded
        so far are a whole phrase that no longer phrase extends."""
        assert self._grammar is not None
        if self._silent_for < self.complete_silence_seconds:
            return False
        words = str(json.loads(self._kaldi.PartialResult()).get("partial", "")).split()
        return self._grammar.complete(words)

    @property
    def _watching(self) -> bool:
        """The first decoder's partial results are watched for a decoy leading, which starts
        the second pass decoding."""
        return (
            self.second_pass == "lazy" and self._second is not None and not self._second.following
        )

    def _feed(self, pcm: bytes) -> bool:
        """Decode `pcm` (in the second pass too); whether Vosk's endpoint rule fired."""
        if self._second is not None:
            self._second.feed(pcm)
        return bool(self._kaldi.AcceptWaveform(pcm))

    def _forget(self) -> None:
        """The audio decoded so far gave no words: the second pass starts after it."""
        if self._second is not None:
            self._second.restart()
            if self.second_pass == "live":
                self._second.follow()

    def _words(self, at: datetime) -> list[ev.Event]:
        """Vosk heard the first words of the turn (SpeechStarted, if the VAD did not say so)."""
        if self._words_at is None:
            self._words_at = self._heard
        return self._started(at)

    def _started(self, at: datetime) -> list[ev.Event]:
        if self._speech_started:
            return []
        self._speech_started = True
        return [ev.SpeechStarted(at=at)]

    def _end(self, result: dict[str, Any], at: datetime, *, voiced: bool = False) -> list[ev.Event]:
        """The turn's event: its result, a no-match (`voiced` without words) or NoSpeech."""
        judged = self._grammar
        assert judged is not None
        self._grammar = None
        readings = _readings(result)
        if not readings or not (voiced or any(text for text, _ in readings)):
            unmatched = ev.SpeechRecognized(at=at, text="", confidence=0.0)
            return [unmatched if voiced else ev.NoSpeech(at=at)]
        noisy = signal_to_noise(self._levels) < self.clear_snr_db
        verdict = judged.judge(readings, self.margins)
        forced: list[tuple[str, float]] = []
        if verdict.kind == "rejected" and self._second is not None:
            forced = self._second.readings()
            verdict = judged.forced(forced, readings[0][1], self.margins)
        self.last_turn = Judged(judged, readings, noisy, forced)
        confidence = {"sure": 1.0, "unsure": self.noisy_confidence}.get(verdict.kind, 0.0)
        if noisy:
            confidence = min(confidence, self.noisy_confidence)
        return [ev.SpeechRecognized(at=at, text=verdict.text, confidence=confidence)]


@dataclass
class PhrasesAlone:
    """The second pass: a decoder with the grammar's phrases alone (no way out) over the
    audio the first decoded since its last empty result. The audio is kept until `follow`,
    which decodes what was kept in one burst and every later piece as it is fed, so the end of
    the turn needs only Vosk's final result; unfollowed, it is all decoded when the readings
    are asked for."""

    model: Any
    rate: int
    _kaldi: Any = None
    _phrases: str = "[]"
    _kept: list[bytes] = field(default_factory=list)
    following: bool = False

    def restart(self, phrases: Sequence[str] | None = None) -> None:
        """Forget the audio fed so far (and take new phrases, when given)."""
        if phrases is not None:
            self._phrases = json.dumps(list(phrases), ensure_ascii=False)
        self._kept, self.following = [], False

    def feed(self, pcm: bytes) -> None:
        if self.following:
            self._kaldi.AcceptWaveform(pcm)  # an endpoint here ends nothing: the first pass rules
        else:
            self._kept.append(pcm)

    def follow(self) -> None:
        """Decode the audio kept so far, and from now on each piece as it is fed."""
        import vosk

        if self._kaldi is None:
            self._kaldi = vosk.KaldiRecognizer(self.model, self.rate, self._phrases)
            self._kaldi.SetMaxAlternatives(ALTERNATIVES)
        else:
            self._kaldi.Reset()  # first: Vosk aborts the process on SetGrammar mid-utterance
            self._kaldi.SetGrammar(self._phrases)  # a fresh utterance and feature pipeline
        self._kaldi.AcceptWaveform(b"".join(self._kept))
        self._kept, self.following = [], True

    def readings(self) -> list[tuple[str, float]]:
        """Vosk's n-best readings of the phrase the audio fed sounds most like."""
        if not self.following:
            self.follow()
        result = json.loads(self._kaldi.FinalResult())
        self.restart()
        return _readings(result)

    def close(self) -> None:
        self._kaldi = None


def _readings(result: dict[str, Any]) -> list[tuple[str, float]]:
    return [(a["text"], float(a["confidence"])) for a in result.get("alternatives", [])]


def _best(result: dict[str, Any]) -> str:
    """The text of the best of Vosk's n-best readings."""
    alternatives = result.get("alternatives") or [{}]
    return str(alternatives[0].get("text", ""))
