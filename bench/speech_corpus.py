"""The development corpus of bench/speech.py: Korean words a city line hears, split by word.

About 120 words and short phrases (departments, problems, places, services, yes/no, numbers)
and 32 words no menu of a city line holds. Each category is split word by word, alternately,
into a **tuning** part (anything tuned is chosen on it) and a **held-out** part (the figures
are reported on it): the two share no word. Each part becomes its own synthetic menus of 3–8
intents (a confirmation menu of yes / no / again, two number menus, topical menus), each with
out-of-grammar words: the part's words that are in no menu, and words of its other menus.

Every word of a menu (and each of its out-of-grammar words) is rendered under several
conditions: espeak-ng's Korean voice with every variant espeak-ng lists (round robin over a
seeded shuffle), several rates and pitches, a few seconds of leading and trailing silence,
Gaussian line noise at several signal-to-noise ratios (or none: "clean"), a telephone
band-pass (sox `sinc 300-3400`) and a μ-law or A-law round trip at 8 kHz. The audio is not
kept in the repository: it is rendered into a cache directory (`CIVICLINE_BENCH_CACHE`, or
`~/.cache/civicline/speech-corpus`) on first use, one WAV per rendering, named by a hash of
everything that made it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from speech.audio import (
    PHONE_RATE,
    SAMPLE_WIDTH,
    alaw_to_pcm,
    pcm_to_alaw,
    pcm_to_ulaw,
    read_wav,
    seconds,
    silence,
    ulaw_to_pcm,
    wav_bytes,
)

VERSION = 1
"""Part of each rendering's cache key: raise it when the rendering changes."""

WORDS: dict[str, tuple[str, ...]] = {
    "department": (
        "민원실", "세무과", "여권과", "위생과", "공원과", "감사실", "보건소", "복지",
        "건축", "환경", "교통", "수도", "하천", "일자리", "문화", "재난 안전",
    ),
    "problem": (
        "가로등", "쓰레기", "소음", "누수", "악취", "정전", "단수", "포트홀", "낙서",
        "신호등", "맨홀", "침수", "빙판", "낙엽", "흡연", "폐기물", "하수구", "가로수",
        "현수막", "전단지", "싱크홀", "매연", "노점상", "불법 주차", "불법 투기",
        "가로등 고장", "쓰레기 수거", "제설", "모기", "유기견",
    ),
    "place": (
        "시청", "구청", "주민센터", "공원", "학교", "시장", "정류장", "지하철역", "도서관",
        "병원", "놀이터", "주차장", "다리", "터미널", "체육관", "경찰서", "우체국", "아파트",
        "골목", "사거리", "횡단보도", "자전거",
    ),
    "service": (
        "신고", "예약", "상담원", "연결", "확인", "취소", "변경", "조회", "발급", "접수",
        "문의", "재발급", "납부", "신청", "담당자", "안내", "등본", "인감", "과태료",
        "재산세", "전입", "예방접종",
    ),
    "yes": ("네", "예", "맞아", "그래요", "좋습니다", "좋아요"),
    "no": ("아니요", "아니오", "아니", "아닙니다", "싫어요", "됐어요"),
    "again": ("처음", "다시"),
    "sino number": ("일", "이", "삼", "사", "오", "육", "칠", "팔"),
    "native number": ("하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟"),
    "elsewhere": (
        "감사합니다", "날씨", "점심", "사랑", "커피", "영화", "노래", "바다", "하늘",
        "자동차", "컴퓨터", "친구", "여행", "축구", "김치", "고양이", "강아지", "음악",
        "은행", "택시", "휴가", "생일", "편지", "사진", "시간", "오늘", "내일", "어제",
        "안녕하세요", "여보세요", "몰라요", "비둘기",
    ),
}  # fmt: skip
"""Words by category; "elsewhere" words are in no menu (out of grammar everywhere)."""

PARTS = ("tuning", "held-out")
CLEAN = None
CONDITIONS = (CLEAN, CLEAN, CLEAN, 25.0, 15.0, 10.0)
"""Signal-to-noise ratios (dB) each word is rendered at; `CLEAN` is no noise."""
QUICK_CONDITIONS = (CLEAN, 15.0)
RATES = (120, 150, 180, 210)
PITCHES = (25, 50, 75)
LEAD_SECONDS = (0.5, 2.5)
TRAIL_SECONDS = (1.5, 3.0)
AUDIBLE = 200
"""Sample magnitude above which espeak-ng's output is speech rather than its pauses."""
OUT_OF_MENU = 3
"""Out-of-grammar words per menu taken from the part's "elsewhere" words."""
OTHER_MENUS = 2
"""Out-of-grammar words per menu taken from the part's other menus."""


@dataclass(frozen=True)
class Menu:
    name: str
    intents: dict[str, tuple[str, ...]]
    out_of_grammar: tuple[str, ...]

    @property
    def phrases(self) -> list[str]:
        return [p for phrases in self.intents.values() for p in phrases]


@dataclass(frozen=True)
class Rendering:
    voice: str
    rate: int
    pitch: int
    snr: float | None
    codec: str
    """"mu-law" or "a-law"."""
    lead: float
    trail: float


@dataclass(frozen=True)
class Turn:
    menu: Menu
    text: str
    intent: str | None
    """The intent the words mean at this menu; None out of grammar."""
    rendering: Rendering
    audio: bytes
    """8 kHz 16-bit PCM: lead silence, the words, trailing silence, all on the line."""

    @property
    def speech_end(self) -> float:
        return seconds(self.audio, PHONE_RATE) - self.rendering.trail

    @property
    def noisy(self) -> bool:
        return self.rendering.snr is not None


def part_words(part: str) -> dict[str, tuple[str, ...]]:
    """Each category's words of `part`: every other word, so both parts span every kind."""
    index = PARTS.index(part)
    return {category: words[index::2] for category, words in WORDS.items()}


def menus(part: str) -> list[Menu]:
    """The part's synthetic menus (3–8 intents each), with their out-of-grammar words."""
    words = part_words(part)
    shapes: list[tuple[str, dict[str, tuple[str, ...]]]] = [
        ("confirm", {"yes": words["yes"], "no": words["no"], "again": words["again"]}),
        ("sino numbers", {w: (w,) for w in words["sino number"]}),
        ("native numbers", {w: (w,) for w in words["native number"]}),
    ]
    for category in ("department", "problem", "place", "service"):
        listed = words[category]
        size = -(-len(listed) // -(-len(listed) // 8))  # as even as can be, at most 8
        for start in range(0, len(listed), size):
            chunk = listed[start : start + size]
            shapes.append((f"{category} {start // size + 1}", {w: (w,) for w in chunk}))
    rng = random.Random(f"{part} out of grammar")
    elsewhere = list(words["elsewhere"])
    rng.shuffle(elsewhere)
    built = []
    for number, (name, intents) in enumerate(shapes):
        mine = {p for phrases in intents.values() for p in phrases}
        others = sorted({p for _, i in shapes for ps in i.values() for p in ps} - mine)
        first = number * OUT_OF_MENU
        outside = [elsewhere[(first + k) % len(elsewhere)] for k in range(OUT_OF_MENU)]
        built.append(Menu(name, intents, (*outside, *rng.sample(others, OTHER_MENUS))))
    return built


def voices() -> list[str]:
    """espeak-ng's Korean voice with each variant espeak-ng lists ("ko+f2", …), and plain."""
    listed = subprocess.run(
        ["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.splitlines()[1:]
    variants = sorted({line.split()[-1].removeprefix("!v/") for line in listed if line.split()})
    return ["ko", *(f"ko+{v}" for v in variants)]


def plan(part: str, *, quick: bool) -> Iterator[tuple[Menu, str, str | None, Rendering]]:
    """Every turn of `part`: each menu word and out-of-grammar word under each condition."""
    rng = random.Random(f"{part} renderings")
    cycle = voices()
    rng.shuffle(cycle)
    count = 0
    for menu in menus(part):
        said = [(p, i) for i, phrases in menu.intents.items() for p in phrases]
        for text, intent in [*said, *((w, None) for w in menu.out_of_grammar)]:
            for snr in QUICK_CONDITIONS if quick else CONDITIONS:
                rendering = Rendering(
                    voice=cycle[count % len(cycle)],
                    rate=rng.choice(RATES),
                    pitch=rng.choice(PITCHES),
                    snr=snr,
                    codec=("mu-law", "a-law")[count % 2],
                    lead=round(rng.uniform(*LEAD_SECONDS), 2),
                    trail=round(rng.uniform(*TRAIL_SECONDS), 2),
                )
                count += 1
                yield menu, text, intent, rendering


def corpus(part: str, *, quick: bool = False, cache: Path | None = None) -> list[Turn]:
    """The part's turns, rendered (or read from the cache), in a stable order."""
    where = cache or default_cache()
    where.mkdir(parents=True, exist_ok=True)
    planned = list(plan(part, quick=quick))
    with ThreadPoolExecutor(max_workers=2) as pool:
        audio = pool.map(lambda p: cached(p[1], p[3], where), planned)
        return [Turn(m, t, i, r, a) for (m, t, i, r), a in zip(planned, audio, strict=True)]


def default_cache() -> Path:
    configured = os.environ.get("CIVICLINE_BENCH_CACHE")
    return Path(configured) if configured else Path.home() / ".cache/civicline/speech-corpus"


def cached(text: str, rendering: Rendering, cache: Path) -> bytes:
    """The rendering's audio from the cache, rendered and stored there when missing."""
    key = json.dumps([VERSION, text, asdict(rendering)], ensure_ascii=False, sort_keys=True)
    path = cache / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.wav"
    if path.exists():
        return read_wav(path)
    audio = render(text, rendering)
    partial = path.with_suffix(".part")
    partial.write_bytes(wav_bytes(audio, PHONE_RATE))
    partial.replace(path)
    return audio


def render(text: str, rendering: Rendering) -> bytes:
    """`text` spoken and carried by a phone line as `rendering` says."""
    wav = subprocess.run(
        ["espeak-ng", "-v", rendering.voice, "-s", str(rendering.rate), "-p",
         str(rendering.pitch), "--stdout", text],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    speech = np.frombuffer(read_wav(wav, PHONE_RATE), dtype="<i2")
    audible = np.flatnonzero(np.abs(speech) > AUDIBLE)
    if audible.size:
        speech = speech[audible[0] : audible[-1] + 1]
    signal = np.concatenate(
        [
            np.frombuffer(silence(rendering.lead, PHONE_RATE), dtype="<i2"),
            speech,
            np.frombuffer(silence(rendering.trail, PHONE_RATE), dtype="<i2"),
        ]
    ).astype(np.float64)
    if rendering.snr is not None:
        level = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
        noise = level / 10 ** (rendering.snr / 20)
        seed = int.from_bytes(hashlib.sha256(repr((text, rendering)).encode()).digest()[:4])
        signal += np.random.default_rng(seed).normal(0.0, noise, signal.size)
    pcm = band_pass(np.clip(signal, -32768, 32767).astype("<i2").tobytes())
    if rendering.codec == "mu-law":
        return ulaw_to_pcm(pcm_to_ulaw(pcm))
    return alaw_to_pcm(pcm_to_alaw(pcm))


def band_pass(pcm: bytes) -> bytes:
    """A telephone channel's 300–3400 Hz band (sox's windowed-sinc filter), same length."""
    raw = ["-t", "raw", "-r", str(PHONE_RATE), "-e", "signed", "-b", "16", "-c", "1"]
    filtered = subprocess.run(
        ["sox", *raw, "-", *raw, "-", "sinc", "300-3400"],
        input=pcm, capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return filtered[: len(pcm)].ljust(len(pcm), b"\0")[: len(pcm) - len(pcm) % SAMPLE_WIDTH]
