"""TwiML rendering, read back as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from webhooks import twiml


def test_stream_connects_to_our_websocket_with_the_token() -> None:
    root = ET.fromstring(
        twiml.stream(
            "wss://city.example/twilio/stream",
            "tok&<1>",
            next_url="https://city.example/twilio/next",
        )
    )
    stream = root.find("./Connect/Stream")
    assert stream is not None and stream.get("url") == "wss://city.example/twilio/stream"
    parameter = stream.find("Parameter")
    assert parameter is not None
    assert (parameter.get("name"), parameter.get("value")) == ("token", "tok&<1>")
    connect = root.find("Connect")
    assert connect is not None and connect.get("action") == "https://city.example/twilio/next"
    assert [child.tag for child in root] == ["Connect"]


def test_dial_a_number_with_timeout_caller_id_and_whisper() -> None:
    root = ET.fromstring(
        twiml.dial(
            "+35982500100",
            action="https://city.example/twilio/dial-result",
            timeout=25,
            caller_id="+35982000000",
            whisper_url="https://city.example/twilio/whisper?ref=26-000001",
        )
    )
    dial = root.find("Dial")
    assert dial is not None
    assert dial.get("action") == "https://city.example/twilio/dial-result"
    assert (dial.get("timeout"), dial.get("callerId"), dial.get("method")) == (
        "25",
        "+35982000000",
        "POST",
    )
    number = dial.find("Number")
    assert number is not None and number.text == "+35982500100"
    assert number.get("url") == "https://city.example/twilio/whisper?ref=26-000001"


def test_dial_a_sip_uri_without_whisper_or_caller_id() -> None:
    root = ET.fromstring(
        twiml.dial(
            "sip:roads@pbx.example", action="/a", timeout=20, caller_id=None, whisper_url=None
        )
    )
    dial = root.find("Dial")
    assert dial is not None and dial.get("callerId") is None
    sip = dial.find("Sip")
    assert sip is not None and sip.text == "sip:roads@pbx.example" and sip.get("url") is None


def test_whisper_hang_up_and_reject() -> None:
    say = ET.fromstring(twiml.whisper("Ticket 2 6 0 0 1", "en-US")).find("Say")
    assert say is not None and say.text == "Ticket 2 6 0 0 1" and say.get("language") == "en-US"
    assert ET.fromstring(twiml.hang_up()).find("Hangup") is not None
    assert ET.fromstring(twiml.reject()).find("Reject") is not None
