"""The faithful Twilio caller: Twilio's side of a phone call, driving a running `ivr serve`
as Twilio does (signed webhooks, Media Streams with marks echoed once their audio has
played, keys one at a time, the TwiML followed), for tests and for trying a line without a
Twilio account (`ivr call --twilio URL`)."""

from ivr.twilio_caller.caller import CITY_LINE, CallerError, CallOver, TwilioCaller

__all__ = ["CITY_LINE", "CallOver", "CallerError", "TwilioCaller"]
