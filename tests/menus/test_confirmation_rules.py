"""The confirmation question's rules: thresholds in order, and the question with its yes and
no phrases in every language that has a speech model."""

from __future__ import annotations

from flow_text import FlowText

EN_WITH_MODEL = (
    '  en: {name: "English"}',
    '  en: {name: "English", model: vosk-model-small-en-us}',
)
YES = '  confirm_yes: {ro: ["da", "corect"], en: ["yes", "correct", "right"]}\n'


def test_the_reject_threshold_must_be_below_the_confirm_threshold(demo: FlowText) -> None:
    broken = demo.replace("  reject_threshold: 0.3\n", "  reject_threshold: 0.6\n")
    assert broken.problems() == [
        broken.at(
            "  reject_threshold: 0.6",
            "settings.reject_threshold: must be below confirm_threshold (0.6)",
        )
    ]


def test_a_language_with_a_model_needs_the_question_and_its_answers(demo: FlowText) -> None:
    with_model = demo.replace(*EN_WITH_MODEL)
    assert with_model.problems() == []
    broken = with_model.replace(YES, '  confirm_yes: {ro: ["da"]}\n')
    assert broken.problems() == [
        broken.at("  confirm_yes:", "texts.confirm_yes: no `confirm_yes` phrases in `en`")
    ]
    start = with_model.text.index("  confirm:\n")
    end = with_model.text.index("  confirm_no:")
    end = with_model.text.index("\n", end) + 1
    bare = FlowText(with_model.text[:start] + with_model.text[end:])
    assert bare.problems() == sorted(
        [
            bare.at("texts:", "texts: no `confirm` question (speech in en)"),
            bare.at("texts:", "texts.confirm_yes: no `confirm_yes` phrases in `en`"),
            bare.at("texts:", "texts.confirm_no: no `confirm_no` phrases in `en`"),
        ]
    )


def test_keypad_only_flows_may_leave_the_question_out(demo: FlowText) -> None:
    start = demo.text.index("  confirm:\n")
    end = demo.text.index("\n", demo.text.index("  confirm_no:")) + 1
    assert FlowText(demo.text[:start] + demo.text[end:]).problems() == []


def test_the_question_takes_only_the_choice_placeholder(demo: FlowText) -> None:
    broken = demo.replace("Did you mean {choice}?", "Did you mean {ref}?")
    assert broken.problems() == [
        broken.at(
            '    en: "Did you mean {ref}?',
            "texts.confirm.en: unknown placeholder `{ref}` (allowed: {choice})",
        )
    ]


def test_answers_in_an_undeclared_language(demo: FlowText) -> None:
    broken = demo.replace(YES, YES.replace("]}", '], de: ["ja"]}'))
    assert broken.problems() == [
        broken.at("  confirm_yes:", "texts.confirm_yes.de: not a declared language")
    ]
