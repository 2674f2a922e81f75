"""Speech heard with medium confidence: the engine asks whether it was meant.

Between `settings.reject_threshold` (0.3 in the demo flow) and `confirm_threshold` (0.6) the
caller hears `texts.confirm`; 1 or "yes" takes the choice, 2 or "no" asks the node again
(a retry), silence is no input, anything else is a no-match.
"""

from __future__ import annotations

import yaml
from phone import DEMO, OWNED_REF, ROOT, Phone, owned_ticket_store

from ivr.engine import actions as act
from menus.schema import Flow

MEDIUM = 0.45
"""Between the demo flow's reject (0.3) and confirm (0.6) thresholds."""


def asked(phone: Phone) -> act.Listen:
    """The confirmation question was asked, and its Listen is for yes and no."""
    assert phone.prompts() == ["texts.confirm"]
    [listen] = [a for a in phone.turn if isinstance(a, act.Listen)]
    assert listen.keys == "12" and set(listen.intents) == {"yes", "no"}
    return listen


def test_a_medium_confidence_intent_is_confirmed_by_key_1():
    phone = Phone().say("report a problem", confidence=MEDIUM)
    assert phone.node == "main"
    assert phone.texts() == ["Did you mean report? Press 1 or say yes; press 2 or say no."]
    asked(phone)
    phone.press("1")
    assert phone.node == "report_category"


def test_yes_in_the_callers_language_takes_the_choice():
    phone = Phone(language="ro").say("semnalez o problema", confidence=MEDIUM)
    listen = asked(phone)
    assert listen.intents["yes"] == ("da", "corect") and listen.language == "ro"
    assert phone.texts()[0].startswith("Ați spus sesizare?")
    phone.say("da")
    assert phone.node == "report_category"


def test_no_asks_the_node_again_and_counts_as_a_retry():
    phone = Phone().say("report a problem", confidence=MEDIUM).say("no")
    assert phone.node == "main" and phone.prompts() == ["main.prompt"]
    phone.say("report a problem", confidence=MEDIUM).press("2")
    assert phone.prompts() == ["main.prompt"]
    phone.say("report a problem", confidence=MEDIUM).press("2")
    assert phone.prompts() == ["failure.prompt"]


def test_silence_after_the_question_is_no_input():
    phone = Phone().say("report a problem", confidence=MEDIUM).silence()
    assert phone.node == "main" and phone.prompts() == ["texts.no_input", "main.prompt"]
    phone.press("1")
    assert phone.node == "report_category"


def test_another_answer_is_a_no_match_and_a_doubtful_yes_is_not_taken():
    phone = Phone().say("report a problem", confidence=MEDIUM).press("7")
    assert phone.prompts() == ["texts.no_match", "main.prompt"]
    phone.say("report a problem", confidence=MEDIUM).say("yes", confidence=MEDIUM)
    assert phone.node == "main" and phone.prompts() == ["texts.no_match", "main.prompt"]


def test_sure_speech_is_taken_and_unsure_speech_refused_without_a_question():
    assert Phone().say("report a problem", confidence=0.9).node == "report_category"
    phone = Phone().say("report a problem", confidence=0.2)
    assert phone.prompts() == ["texts.no_match", "main.prompt"]


def test_a_partial_phrase_match_is_confirmed_even_when_heard_clearly():
    phone = Phone().say("call me", confidence=1.0)
    assert phone.texts()[0].startswith("Did you mean call me back?")


def test_a_number_by_voice_is_read_back_and_confirmed():
    phone = Phone().press("1").press("1").say("district 4", confidence=MEDIUM)
    assert phone.texts()[0] == "Did you mean 4? Press 1 or say yes; press 2 or say no."
    phone.say("yes")
    assert phone.node == "report_description" and phone.session.slots["district"] == "4"


def test_a_number_out_of_range_is_refused_without_a_question():
    phone = Phone().press("1").press("1").say("district 9", confidence=MEDIUM)
    assert phone.prompts() == ["report_district.no_match", "report_district.prompt"]


def test_a_registration_number_is_read_back_digit_by_digit():
    phone = Phone(store=owned_ticket_store()).press("2")
    assert phone.node == "status"
    spoken = " ".join(OWNED_REF.replace("-", ""))
    phone.say(spoken, confidence=MEDIUM)
    assert phone.texts()[0].startswith("Did you mean 2 6 9 9 9 9 9 9?")
    phone.press("1")
    assert phone.session.outcome == "status"


def test_a_pin_read_back_is_secret():
    phone = Phone(caller=None, store=owned_ticket_store()).press("2")
    phone.press(OWNED_REF.replace("-", ""))
    assert phone.session.collecting_secret
    phone.say("1 2 3 4", confidence=MEDIUM)
    [question] = [a for a in phone.turn if isinstance(a, act.Say)]
    assert question.prompt == "texts.confirm" and question.secret
    assert question.redacted().text == "[redacted]"
    phone.press("1")
    assert phone.session.outcome == "status"


def test_a_replayed_call_is_rebuilt_in_the_middle_of_the_question():
    phone = Phone().say("report a problem", confidence=MEDIUM)
    twin = phone.fork().press("1")
    assert twin.node == "report_category"


def test_a_flow_without_the_question_treats_medium_confidence_as_no_match():
    data = yaml.safe_load((ROOT / "callflows.yaml").read_text())
    del data["texts"]["confirm"]
    phone = Phone(Flow.model_validate(data)).say("report a problem", confidence=MEDIUM)
    assert phone.prompts() == ["texts.no_match", "main.prompt"]


def test_the_demo_flow_asks_in_every_language():
    assert DEMO.texts.confirm is not None and set(DEMO.texts.confirm) == set(DEMO.languages)


def test_speech_refused_after_a_key_asks_for_the_whole_number_again():
    """A key, then words that are refused: the question is asked afresh, the key forgotten,
    and the silence after it is timed (no stale digit holds the no-input timer off)."""
    phone = Phone(store=owned_ticket_store()).press("2").press("2")
    assert phone.node == "status" and phone.timers == {"inter_digit"}
    phone.say("something else", confidence=0.1)
    assert phone.prompts() == ["texts.no_match", "status.prompt"]
    assert phone.timers == {"no_input"}
    phone.press("".join(OWNED_REF.replace("-", "")))
    assert phone.session.outcome == "status"
