"""Numbers said in words, in every flow language, read by the engine whatever heard them: the
district reaches the ticket, a registration number and a PIN open the status, a number out
of range is asked again with the range, an unsure one is read back first."""

from __future__ import annotations

import pytest
import yaml
from flow_languages import (
    CONFIRM_THREE,
    LANGUAGES,
    RANGE,
    THREE,
    TO_DISTRICT,
    TO_STATUS,
    digit_by_digit,
    flow_text,
)
from phone import OWNED_REF, Phone, owned_ticket_store

from ivr.engine import actions as act
from menus.schema import Flow

FLOWS = {lang: Flow.model_validate(yaml.safe_load(flow_text(lang))) for lang in LANGUAGES}
TWENTY_FIVE = {
    "ro": "douăzeci și cinci",
    "en": "twenty-five",
    "bg": "двадесет и пет",
    "ko": "이십오",
}
PIN_AS_NUMBERS = {
    "ro": "doisprezece treizeci și patru",
    "en": "twelve thirty four",
    "bg": "дванадесет тридесет и четири",
    "ko": "십이 삼십사",
}
"""The owned ticket's PIN, 1234, said as two numbers."""
STRANGER = "+40733000000"
UNSURE = 0.5
"""Between the flows' reject and confirm thresholds."""


def at_district(language: str) -> Phone:
    phone = Phone(FLOWS[language], language=language)
    for key in TO_DISTRICT[language]:
        phone.press(key)
    assert phone.node == "report_district"
    return phone


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_district_said_in_words_is_filed_on_the_ticket(language: str) -> None:
    phone = at_district(language).say(THREE[language])
    assert phone.node == "report_description" and phone.session.slots["district"] == "3"
    phone.record(6, "a hole").press("1")
    [ticket] = phone.of(act.CreateTicket)
    assert ticket.district == 3 and ticket.language == language


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_district_said_out_of_range_is_asked_again_with_the_range(language: str) -> None:
    phone = at_district(language).say(TWENTY_FIVE[language])
    retry = "report_district.no_match" if language != "ko" else "texts.no_match"
    assert phone.prompts() == [retry, "report_district.prompt"]
    assert RANGE[language] in " ".join(phone.texts())
    assert phone.node == "report_district" and "district" not in phone.session.slots


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_district_heard_unsure_is_read_back_before_it_is_taken(language: str) -> None:
    phone = at_district(language).say(THREE[language], confidence=UNSURE)
    [question] = [a for a in phone.turn if isinstance(a, act.Say)]
    assert question.prompt == "texts.confirm" and question.params["choice"] == "3"
    assert question.text.startswith(CONFIRM_THREE[language])
    phone.press("1")
    assert phone.node == "report_description" and phone.session.slots["district"] == "3"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_registration_number_and_a_pin_said_in_words_open_the_status(language: str) -> None:
    phone = Phone(
        FLOWS[language], caller=STRANGER, language=language, store=owned_ticket_store()
    ).press(TO_STATUS[language])
    assert phone.node == "status"
    phone.say(digit_by_digit(OWNED_REF.replace("-", ""), language))
    assert phone.of(act.LookupTicket)[-1].ref == OWNED_REF
    assert phone.session.collecting_secret, "the ticket is a stranger's: its PIN is asked"
    phone.say(PIN_AS_NUMBERS[language])
    assert phone.of(act.CheckTicketPin)[-1].pin == "1234"
    assert phone.session.outcome == "status"
    assert phone.prompts()[0] == "status.result"
    assert "9 9 9 9" in phone.texts()[0], "the status is read back with the registration number"


def test_digits_and_words_mixed_as_twilio_writes_them_make_one_number() -> None:
    phone = Phone(caller=STRANGER, language="en", store=owned_ticket_store()).press("2")
    phone.say("26 nine nine 9, 999.")
    assert phone.of(act.LookupTicket)[-1].ref == OWNED_REF


def test_a_survey_score_said_in_words_is_kept() -> None:
    phone = at_district("ro").say("trei").record(6, "o groapă").press("1").press("2")
    assert phone.node == "survey"
    phone.say("Cinci.")
    assert [s.score for s in phone.of(act.RecordSurvey)] == [5]
