"""Prompts rendered ahead of time with pyttsx3 (real espeak-ng), the cache, recordings, compose."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from speech_paths import KOREAN_FLOW

from ivr.engine.actions import Say
from ivr.engine.render import digits, fill
from menus.loader import load_flow, load_flow_text
from speech import catalogue
from speech.audio import PHONE_RATE, read_wav, seconds, wav_bytes
from speech.prompts import PromptLibrary, PromptMissing, build, piece_name
from speech.synthesis import SynthesisError, Synthesizer

IVR = str(Path(sys.executable).with_name("ivr"))
WELCOME = "루세 시청 민원 전화입니다. 긴급한 경우 112로 전화하세요."


def ivr_prompts_build(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [IVR, "prompts", "build", "--flow", str(KOREAN_FLOW)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data directory whose prompts `ivr prompts build` rendered once, and what it printed."""
    data_dir = tmp_path_factory.mktemp("built") / "data"
    done = ivr_prompts_build(data_dir)
    assert done.returncode == 0, done.stderr
    return data_dir, done.stdout


@pytest.fixture
def data_dir(built: tuple[Path, str], tmp_path: Path) -> Path:
    """A copy of the built data directory this test may change."""
    copy = tmp_path / "data"
    shutil.copytree(built[0], copy)
    return copy


def say(prompt: str, template: str, **params: str) -> Say:
    return Say(prompt=prompt, language="ko", text=fill(template, params), params=params, mark="m1")


def rms(pcm: bytes) -> float:
    samples = [v for (v,) in struct.iter_unpack("<h", pcm)]
    return (sum(v * v for v in samples) / len(samples)) ** 0.5


def test_a_prompt_renders_to_a_telephone_wav_of_plausible_length(built: tuple[Path, str]) -> None:
    data_dir, printed = built
    assert "ko (voice ko):" in printed and " 0 cached" in printed
    files = PromptLibrary(data_dir / "prompts").compose(say("welcome.prompt", WELCOME))
    assert len(files) == 1
    with wave.open(str(files[0])) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (
            PHONE_RATE,
            1,
            2,
        )
    pcm = read_wav(files[0])
    assert 2.0 < seconds(pcm, PHONE_RATE) < 12.0
    assert rms(pcm) > 500


def test_a_second_build_renders_nothing_and_says_so(data_dir: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in (data_dir / "prompts" / "ko").glob("*.wav")}
    done = ivr_prompts_build(data_dir)
    assert done.returncode == 0, done.stderr
    assert "ko (voice ko): 0 rendered" in done.stdout
    assert "nothing to render" in done.stdout
    after = {p: p.stat().st_mtime_ns for p in (data_dir / "prompts" / "ko").glob("*.wav")}
    assert after == before


def test_a_changed_text_renders_only_that_prompt(data_dir: Path) -> None:
    changed = KOREAN_FLOW.read_text().replace(WELCOME, "루세 시청입니다. 긴급한 경우 112.")
    flow = load_flow_text(changed, "changed.yaml").flow
    with Synthesizer() as synthesizer:
        (report,) = build(flow, data_dir / "prompts", synthesizer)
    assert report.rendered == ["루세 시청입니다. 긴급한 경우 112."]
    library = PromptLibrary(data_dir / "prompts")
    assert library.compose(say("welcome.prompt", "루세 시청입니다. 긴급한 경우 112."))
    assert library.compose(say("welcome.prompt", WELCOME)), "calls on the old version keep theirs"


def test_a_recorded_wav_replaces_the_synthesised_prompt(data_dir: Path) -> None:
    recorded = data_dir / "prompts" / "recorded" / "ko" / "welcome.prompt.wav"
    recorded.parent.mkdir(parents=True)
    human = struct.pack("<4h", 3000, -3000, 3000, -3000) * 8000  # 2 s at 16 kHz
    recorded.write_bytes(wav_bytes(human, 16000))
    with Synthesizer() as synthesizer:
        (report,) = build(load_flow(KOREAN_FLOW).flow, data_dir / "prompts", synthesizer)
    assert report.rendered == [] and report.recorded == ["welcome.prompt"]
    (played,) = PromptLibrary(data_dir / "prompts").compose(say("welcome.prompt", WELCOME))
    assert played.name != piece_name(WELCOME, "ko", 150)
    assert seconds(read_wav(played), PHONE_RATE) == pytest.approx(2.0, abs=0.01)


def test_a_registration_number_is_composed_from_pre_rendered_pieces(
    built: tuple[Path, str],
) -> None:
    data_dir, _ = built
    flow = load_flow(KOREAN_FLOW).flow
    template = flow.nodes["report_file"].prompt["ko"]
    library = PromptLibrary(data_dir / "prompts")
    files = library.compose(
        say("report_file.prompt", template, ref=digits("26-000123"), pin=digits("4821"))
    )
    folder = data_dir / "prompts" / "ko"
    number = [folder / piece_name(d, "ko", 150) for d in "26"] + [data_dir / "prompts/pause.wav"]
    number += [folder / piece_name(d, "ko", 150) for d in "000123"]
    assert files[0] == folder / piece_name("신고가", "ko", 150)
    assert files[1:10] == number
    assert files[10] == folder / piece_name("번으로 접수되었습니다. 다시 한번,", "ko", 150)
    assert files[-5:-1] == [folder / piece_name(d, "ko", 150) for d in "4821"]
    assert all(path.is_file() for path in files)
    assert catalogue.tokens("월요일 30 11월, 10:05") == [
        "월요일",
        "30",
        "11",
        "월",
        ",",
        "10",
        "0",
        "5",
    ]
    slot = library.compose(
        say("callback.confirm", flow.nodes["callback"].confirm["ko"], when="월요일 30 11월, 10:05")
    )
    assert len(slot) == 9 and all(path.is_file() for path in slot)


def test_a_prompt_the_cache_does_not_hold_is_refused_clearly(built: tuple[Path, str]) -> None:
    library = PromptLibrary(built[0] / "prompts")
    with pytest.raises(PromptMissing, match="run `ivr prompts build`"):
        library.compose(say("welcome.prompt", "다른 인사말"))


def test_a_hanging_render_times_out_with_a_clear_error(tmp_path: Path) -> None:
    flow = load_flow(KOREAN_FLOW).flow
    with (
        Synthesizer(command=("sleep", "60"), timeout_seconds=1) as synthesizer,
        pytest.raises(SynthesisError, match=r"timed out after 1 s on '.+' \(voice ko\)"),
    ):
        build(flow, tmp_path / "prompts", synthesizer)
    assert not list((tmp_path / "prompts").glob("ko/*.wav"))


def test_the_confirmation_question_is_composed_with_the_intent_or_the_number(
    built: tuple[Path, str],
) -> None:
    data_dir, _ = built
    confirm = load_flow(KOREAN_FLOW).flow.texts.confirm
    assert confirm is not None
    library = PromptLibrary(data_dir / "prompts")
    folder = data_dir / "prompts" / "ko"
    tree = library.compose(say("texts.confirm", confirm["ko"], choice="나무"))
    assert tree[0] == folder / piece_name("나무", "ko", 150) and len(tree) == 2
    number = library.compose(say("texts.confirm", confirm["ko"], choice="4"))
    assert number[0] == folder / piece_name("4", "ko", 150)
    assert all(path.is_file() for path in tree + number)


def call_aloud(data_dir: Path, path: str, *inputs: str) -> subprocess.CompletedProcess[str]:
    """`ivr call --audio` on the Korean flow with PATH limited to `path`."""
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(data_dir), "PATH": path}
    args = [arg for value in inputs for arg in ("--input", value)]
    return subprocess.run(
        [IVR, "call", "--flow", str(KOREAN_FLOW), "--lang", "ko", "--audio", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_ivr_call_audio_plays_each_prompt_in_order_with_the_installed_player(
    data_dir: Path, tmp_path: Path
) -> None:
    """The speakers are the one boundary faked: a `paplay` on PATH that logs what it plays."""
    bin_dir, log = tmp_path / "bin", tmp_path / "played.log"
    bin_dir.mkdir()
    player = bin_dir / "paplay"
    player.write_text(f'#!/bin/sh\necho "$1" >> {log}\n')
    player.chmod(0o755)
    done = call_aloud(data_dir, str(bin_dir), "9")
    assert done.returncode == 0, done.stderr
    played = [Path(line) for line in log.read_text().splitlines()]
    library = PromptLibrary(data_dir / "prompts")
    welcome = library.compose(say("welcome.prompt", WELCOME))
    assert played[: len(welcome)] == welcome
    assert all(path.is_file() for path in played) and "IVR: " + WELCOME in done.stdout


def test_ivr_call_audio_without_a_player_says_what_to_install(
    data_dir: Path, tmp_path: Path
) -> None:
    done = call_aloud(data_dir, str(tmp_path), "9")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no audio player found: install pulseaudio-utils (paplay)" in done.stderr
