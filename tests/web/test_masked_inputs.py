"""A PIN entry is stored with zeros for its digits (so the call replays) and `masked`: the
site shows it hidden, never as zeros the caller seems to have typed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from site_data import STARTED

from ivr.calls.turns import shown_input, turns
from ivr.storage import calls
from ivr.storage.models import CallEvent
from ivr.web.phone import _line

ROWS = [
    ("action", "Say", {"prompt": "status.ask_pin", "text": "[redacted]", "mark": "m1"}),
    ("action", "Listen", {"node": "status", "keys": "0123456789*#", "secret": True}),
    ("event", "DigitsPressed", {"digits": "0000#", "masked": True}),
    ("action", "Say", {"prompt": "status.wrong_pin", "text": "Wrong PIN.", "mark": "m2"}),
    ("action", "Listen", {"node": "status", "keys": "0123456789*#", "secret": True}),
    ("event", "SpeechRecognized", {"text": "0000", "confidence": 0.8, "masked": True}),
]


def test_masked_keys_and_words_show_as_dots():
    assert shown_input("DigitsPressed", {"digits": "00*0#", "masked": True}) == "••*•#"
    assert shown_input("DigitsPressed", {"digits": "2005"}) == "2005"
    assert shown_input("SpeechRecognized", {"text": "00", "masked": True}) == "••"
    assert shown_input("SpeechRecognized", {"text": "", "masked": True}) == "•"
    assert shown_input("SpeechRecognized", {"text": "two 0"}) == "two 0"


def test_the_call_page_and_the_phone_transcript_hide_a_pin_entry(site, supervisor):
    database = site.app.extensions["civicline"].database
    with database.session() as session:
        calls.start_call(
            session, call_id="call-pin", caller=None, channel="browser",
            flow_version=site.app.extensions["civicline"].flows.current().version,
            language="en", at=STARTED,
        )  # fmt: skip
        for seq, (kind, type_name, payload) in enumerate(ROWS, start=1):
            at = STARTED + timedelta(seconds=seq)
            calls.append_event(
                session, call_id="call-pin", seq=seq, kind=kind, type=type_name,
                payload=payload, at=at, stored_at=at,
            )  # fmt: skip
        rows = calls.call_events(session, "call-pin")
        assert [t.value for t in turns(rows)] == ["••••#", "••••"]
        lines = [line["text"] for row in rows if (line := _line(row)) and line["who"] == "you"]
    assert lines == ["keys ••••#", "••••"]
    page = supervisor.get("/calls/call-pin").get_data(as_text=True)
    assert "keys <code>••••#</code>" in page and "“••••”" in page and "keys ••••#" in page
    assert "0000" not in page


def test_rows_stored_before_masking_show_as_they_were():
    row = CallEvent(kind="event", type="DigitsPressed", payload={"digits": "7"})
    row.at = row.stored_at = datetime.now(UTC)
    assert _line(row) == {"who": "you", "text": "keys 7"}
