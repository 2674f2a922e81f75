"""The faithful Twilio caller: Twilio's side of a phone call, driving a running `ivr serve`
as Twilio does (signed webhooks, Media Streams with marks echoed once their audio has
played, keys one at a time, the TwiML followed), for tests and for trying a line without a
Twilio account (`ivr call --twilio URL`). `BrowserCaller` places a call from the browser
phone's page the same way, on the same stream machinery (L16 at 16 kHz)."""

from ivr.twilio_caller.browser import BrowserCaller
from ivr.twilio_caller.caller import CITY_LINE, Caller, TwilioCaller
from ivr.twilio_caller.line import CallerError, CallOver

__all__ = ["CITY_LINE", "BrowserCaller", "CallOver", "Caller", "CallerError", "TwilioCaller"]
