"""Gather mode plays our own prompts: the TwiML's `<Play>` URLs are the files
`PromptLibrary.compose` names for each Say, served unsigned from /twilio/prompts with the
right bytes and cache headers; a prompt the cache lacks is said by Twilio in the flow's
`twilio_language`; nothing outside the prompt cache is served."""

from __future__ import annotations

import json
import logging
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from gather_calls import GatherCall
from sqlalchemy import select
from twilio_signing import PUBLIC_URL, Twilio, gather_flow

from ivr.channels.line_actions import from_records
from ivr.config import Settings
from ivr.engine import actions as act
from ivr.storage import calls as stored_calls
from ivr.storage.models import Ticket
from speech.prompts import PromptLibrary


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, built_prompts: Path) -> Settings:
    settings.flow_path = gather_flow(tmp_path)
    shutil.copytree(built_prompts, tmp_path / "prompts")
    return settings


def stored_says(app: Flask, sid: str) -> list[act.Say]:
    with app.extensions["civicline"].database.session() as db:
        rows = [
            {"type": row.type, "payload": row.payload}
            for row in stored_calls.call_events(db, sid)
            if row.type == "Say"
        ]
    return [a for a in from_records(rows) if isinstance(a, act.Say)]


def url_of(path: Path, root: Path) -> str:
    return f"{PUBLIC_URL}/twilio/prompts/{path.relative_to(root).as_posix()}"


def test_the_prompts_are_played_from_our_cache_with_their_bytes(
    app: Flask, twilio: Twilio, settings: Settings
) -> None:
    call = GatherCall(app, twilio)
    root = settings.data_dir / "prompts"
    library = PromptLibrary(root)
    says = stored_says(app, call.sid)
    assert len(says) == 2 and not call.said()  # the welcome and the notice, none by Twilio
    expected = [url_of(path, root) for say in says for path in library.compose(say)]
    assert call.played() == expected
    assert [child.tag for child in call.gather] == ["Play"] * len(expected)

    site = app.test_client()
    for url in expected:
        response = site.get(urlsplit(url).path)  # Twilio's GET of <Play> is not signed
        assert response.status_code == 200 and response.mimetype == "audio/wav"
        file = root / urlsplit(url).path.removeprefix("/twilio/prompts/")
        assert response.data == file.read_bytes() and response.data[:4] == b"RIFF"
        cache = response.cache_control
        assert cache.public and cache.immutable and cache.max_age == 365 * 24 * 3600
        again = site.get(urlsplit(url).path, headers={"If-None-Match": str(response.get_etag()[0])})
        assert again.status_code == 304


def test_a_prompt_missing_from_the_cache_is_said_by_twilio_and_logged(
    app: Flask, twilio: Twilio, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    root = settings.data_dir / "prompts"
    first = GatherCall(app, twilio)
    welcome = stored_says(app, first.sid)[0]
    (welcome_file,) = PromptLibrary(root).compose(welcome)
    welcome_file.unlink()
    with caplog.at_level(logging.WARNING, logger="webhooks.prompt_files"):
        call = GatherCall(app, twilio)
    say = call.gather.find("Say")
    assert say is not None and say.text == welcome.text and say.get("language") == "ko-KR"
    assert [child.tag for child in call.gather][:2] == ["Say", "Play"]  # the notice is played
    assert welcome_file.name not in " ".join(call.played())
    assert f"prompt {welcome.prompt} said by Twilio" in caplog.text

    (root / "ko" / "index.json").unlink()  # no build at all for the language
    unbuilt = GatherCall(app, twilio)
    assert unbuilt.said() == [welcome.text, stored_says(app, unbuilt.sid)[1].text]
    assert not unbuilt.played()


def test_a_registration_number_is_played_from_digit_pieces(
    app: Flask, twilio: Twilio, settings: Settings
) -> None:
    call = GatherCall(app, twilio)
    call.answer()  # the recording notice heard
    call.answer(Digits="1")  # report
    call.answer(Digits="3")  # district
    call.answer(RecordingDuration="9")  # the description
    call.answer(Digits="1")  # confirmed: filed
    assert not call.said(), ET.tostring(call.root)  # every prompt, the number too, is ours
    with app.extensions["civicline"].database.session() as db:
        ref = db.scalars(select(Ticket.ref)).one()
    index = json.loads((settings.data_dir / "prompts" / "ko" / "index.json").read_text())
    digits = [f"{PUBLIC_URL}/twilio/prompts/ko/{index['pieces'][d]}" for d in ref if d.isdigit()]
    played = [url for url in call.played() if not url.endswith("/pause.wav")]
    assert any(played[i : i + len(digits)] == digits for i in range(len(played))), ref
    site = app.test_client()
    assert all(site.get(urlsplit(url).path).status_code == 200 for url in set(call.played()))


def test_nothing_outside_the_prompt_cache_is_served(app: Flask, settings: Settings) -> None:
    (settings.data_dir / "secret.wav").write_bytes(b"RIFF not a prompt")
    site = app.test_client()
    for path in (
        "/twilio/prompts/../secret.wav",
        "/twilio/prompts/..%2Fsecret.wav",
        "/twilio/prompts/ko/..%2F..%2Fsecret.wav",
        f"/twilio/prompts/{settings.data_dir / 'secret.wav'}",
        "/twilio/prompts/ko/index.json",
        "/twilio/prompts/ko/no-such-piece.wav",
        "/twilio/prompts/",
    ):
        response = site.get(path, follow_redirects=True)
        assert response.status_code == 404, path
        assert b"not a prompt" not in response.data
    assert site.get("/twilio/prompts/pause.wav").status_code == 200
