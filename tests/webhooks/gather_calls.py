"""A call in gather mode driven through the signed webhooks as Twilio would drive it, and the
TwiML it is answered with read back as XML. (Imported by name: tests never import conftest.)"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from flask import Flask
from twilio_signing import Twilio, new_call_sid

from ivr.storage import calls as stored_calls
from ivr.storage.models import Call


class GatherCall:
    """One call in gather mode: posts what Twilio would, keeps the last TwiML answer."""

    def __init__(self, app: Flask, twilio: Twilio, caller: str = "+35988123456") -> None:
        """A call from `caller` ("" withholds the number)."""
        self.app, self.twilio, self.sid = app, twilio, new_call_sid()
        self.root = self._post("/twilio/voice", {"From": caller} if caller else {})

    def _post(self, path: str, form: dict[str, str]) -> ET.Element:
        response = self.twilio.post(path, {"CallSid": self.sid, **form})
        assert response.status_code == 200, response.data
        return ET.fromstring(response.data)

    @property
    def gather(self) -> ET.Element:
        found = self.root.find("Gather")
        assert found is not None, ET.tostring(self.root)
        return found

    def said(self) -> list[str]:
        return [str(say.text) for say in self.root.iter("Say")]

    def answer(self, **form: str) -> None:
        """Post to the current Gather's (or Record's) action, as Twilio does."""
        verb = self.root.find("Gather")
        if verb is None:
            verb = self.root.find("Record")
        assert verb is not None, ET.tostring(self.root)
        url = urlsplit(str(verb.get("action")))
        assert url.scheme == "https" and url.netloc == "city.example"
        self.root = self._post(f"{url.path}?{url.query}", form)

    def node(self) -> str:
        with self.app.extensions["civicline"].database.session() as db:
            call = db.get(Call, self.sid)
            assert call is not None
            return str(call.current_node)

    def stored(self) -> list[str]:
        with self.app.extensions["civicline"].database.session() as db:
            return [row.type for row in stored_calls.call_events(db, self.sid)]

    def played(self) -> list[str]:
        """The URLs of the prompts Twilio is told to play, in order."""
        return [str(play.text) for play in self.root.iter("Play")]
