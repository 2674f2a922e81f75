"""Numbers said to Twilio in gather mode, posted back as Twilio writes SpeechResult (capitals,
a full stop, digits and words mixed: "Douăzeci și șase 0 0 0 0 0 1."), in every flow
language: the district said is on the ticket, and a registration number said opens the
status, read back once the PIN is keyed (a PIN's Gather takes keys only: it is never sent to
Twilio's recogniser)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flow_languages import CONFIRM_THREE, LANGUAGES, RANGE, THREE, TO_DISTRICT, TO_STATUS, flow_text
from gather_calls import GatherCall
from num2words2 import num2words
from twilio_signing import Twilio

from ivr.config import Settings
from ivr.storage.models import Ticket

TWILIO_TAGS = {"ro": "ro-RO", "en": "en-US", "bg": "bg-BG", "ko": "ko-KR"}
TO_MAIN = {"ro": ["", "1"], "en": ["", "2"], "bg": ["", "1"], "ko": [""]}
"""The notice heard (nothing said), then the language menu's key where the flow has one."""


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, language: str) -> Settings:
    """The language's flow in gather mode, each language recognised by Twilio."""
    flow = yaml.safe_load(flow_text(language))
    flow["settings"]["twilio_mode"] = "gather"
    for tag, declared in flow["languages"].items():
        declared["twilio_language"] = TWILIO_TAGS[tag]
    path = tmp_path / "gather.yaml"
    path.write_text(yaml.safe_dump(flow, allow_unicode=True, sort_keys=False), encoding="utf-8")
    settings.flow_path = path
    return settings


def at_main(app: Flask, twilio: Twilio, language: str, caller: str) -> GatherCall:
    call = GatherCall(app, twilio, caller)
    for keys in TO_MAIN[language]:
        call.answer(**({"Digits": keys} if keys else {}))
    assert call.node() == "main"
    return call


def tickets(app: Flask) -> list[Ticket]:
    with app.extensions["civicline"].database.session() as db:
        found = db.query(Ticket).all()
        db.expunge_all()
        return found


def test_a_district_and_a_registration_number_said_to_twilio(
    app: Flask, twilio: Twilio, language: str
) -> None:
    call = at_main(app, twilio, language, "+35988123456")
    for keys in TO_DISTRICT[language]:
        call.answer(Digits=keys)
    assert call.node() == "report_district"
    call.answer(SpeechResult=num2words(25, lang=language).capitalize() + ".", Confidence="0.9")
    assert call.node() == "report_district" and RANGE[language] in " ".join(call.said())
    call.answer(SpeechResult=THREE[language], Confidence="0.45")
    assert call.node() == "report_district" and CONFIRM_THREE[language] in call.said()[0]
    call.answer(Digits="1")
    assert call.node() == "report_description"
    call.answer(RecordingDuration="12", RecordingUrl="https://api.twilio.com/x")
    call.answer(Digits="1")
    [ticket] = tickets(app)
    assert ticket.district == 3 and ticket.language == language
    readback = " ".join(call.said())
    [pin] = [run for run in re.findall(r"\b\d(?: \d)+\b", readback) if len(run) == 7]

    status = at_main(app, twilio, language, "+35988999000")
    status.answer(Digits=TO_STATUS[language])
    assert status.node() == "status"
    year, rest = ticket.ref.split("-")
    said_year = num2words(int(year), lang=language).capitalize()  # "Douăzeci și șase"
    status.answer(SpeechResult=f"{said_year} {' '.join(rest)}.", Confidence="0.9")
    assert status.gather.get("input") == "dtmf", "the PIN is keys only"
    status.answer(Digits=pin.replace(" ", ""))
    assert any(f"{' '.join(year)}, {' '.join(rest)}" in said for said in status.said())
