"""Decoys drawn from the model's own vocabulary, kept far from a grammar's phrases; the model's
word list read from its files; phones from spelling; n-best verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from speech.decoys import DecoyRule, choose
from speech.grammar import Grammar, Margins
from speech.lexicon import LexiconError, words
from speech.models import folder_of
from speech.phonetic import distance, phones

GRAMMARS = [
    ("예", "네", "아니요"),
    ("일", "이", "삼", "사", "오"),
    ("나무", "예약", "다시 한번", "상담원"),
]


def test_the_korean_models_words_come_from_its_grammar_fst(korean_model: Any) -> None:
    folder = folder_of(korean_model)
    assert folder is not None and not (folder / "graph" / "words.txt").exists()
    vocabulary = set(words(folder))
    assert len(vocabulary) > 100_000
    assert {"예", "네", "나무", "가로등"} <= vocabulary
    assert not {"<UNK>", "!SIL", "#0", "<eps>"} & vocabulary


def test_a_words_txt_is_read_when_a_model_ships_one(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "words.txt").write_text("<eps> 0\nstrada 1\n[unk] 2\n#0 3\nьо 4\n")
    assert words(tmp_path) == ("strada", "ьо")


def test_a_model_without_a_readable_word_list_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    with pytest.raises(LexiconError, match=r"no words\.txt"):
        words(tmp_path)
    (tmp_path / "graph" / "Gr.fst").write_bytes(b"\x00" * 64)
    with pytest.raises(LexiconError, match="not an OpenFst file"):
        words(tmp_path)


def test_hangul_sounds_as_it_is_spoken() -> None:
    assert phones("예") == "ye" and phones("애") == phones("에") == "e"
    assert phones("닭") == "dak" and phones("옷") == "ot"
    assert phones("Ștefan") == "stefan" and phones("улица") == "улица"
    assert distance(phones("예"), phones("예")) == 0.0
    assert distance(phones("예"), phones("에")) < distance(phones("예"), phones("사람"))


@pytest.mark.parametrize("phrases", GRAMMARS)
def test_decoys_sound_far_from_every_phrase_and_its_words(
    korean_model: Any, phrases: tuple[str, ...]
) -> None:
    rule = DecoyRule()
    folder = folder_of(korean_model)
    assert folder is not None
    decoys = choose(folder, phrases, rule)
    assert len(decoys) == rule.count
    sounds = {phones(p) for p in phrases} | {phones(w) for p in phrases for w in p.split()}
    for decoy in decoys:
        assert all(distance(phones(decoy), s) >= rule.min_distance for s in sounds), decoy
    assert choose(folder, phrases, rule) == decoys  # the same grammar, the same decoys


def test_a_latin_grammar_gets_latin_decoys(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    listed = ["strada", "stradă", "piata", "lampa", "gunoi", "copac", "soare", "masina", "улица"]
    lines = "".join(f"{word} {number}\n" for number, word in enumerate(listed))
    (tmp_path / "graph" / "words.txt").write_text(lines)
    decoys = choose(tmp_path, ("strada",), DecoyRule(count=3, min_distance=0.6))
    assert len(decoys) == 3
    assert not {"strada", "stradă", "улица"} & set(decoys)


def grammar(*phrases: str, decoys: tuple[str, ...] = ("련", "논골")) -> Grammar:
    return Grammar(phrases, frozenset(decoys), digits=False)


MARGINS = Margins(sure=2.0, near=1.0, forced=2.0)


def test_a_phrase_well_ahead_is_sure_and_a_close_one_unsure() -> None:
    heard = grammar("예", "아니요")
    assert heard.judge([("예", 80.0), ("련", 77.0)], MARGINS).kind == "sure"
    assert heard.judge([("예", 80.0), ("련", 79.0)], MARGINS).kind == "unsure"
    assert heard.judge([("예", 80.0)], MARGINS).kind == "sure"


def test_a_phrase_just_behind_a_decoy_is_asked_about_not_lost() -> None:
    heard = grammar("예", "아니요")
    verdict = heard.judge([("련", 80.0), ("예", 79.5)], MARGINS)
    assert (verdict.text, verdict.kind) == ("예", "unsure")
    assert heard.judge([("련", 80.0), ("예", 70.0)], MARGINS).kind == "rejected"
    assert heard.judge([("련 예", 80.0), ("논골", 79.0)], MARGINS).kind == "rejected"


def test_the_second_pass_asks_about_a_phrase_that_scored_near_the_decoy() -> None:
    heard = grammar("예", "아니요")
    verdict = heard.forced([("", 79.0), ("아니요", 78.5)], 80.0, MARGINS)
    assert (verdict.text, verdict.kind) == ("아니요", "unsure")
    assert heard.forced([("아니요", 70.0)], 80.0, MARGINS).kind == "rejected"
    assert heard.forced([("", 80.0)], 80.0, MARGINS).kind == "rejected"
