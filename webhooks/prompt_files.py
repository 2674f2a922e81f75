"""Our pre-rendered prompts for gather mode: the URLs `<Play>` fetches for a Say, and the
route under /twilio that serves them.

A Say becomes the files `speech.prompts.PromptLibrary.compose` names (built ahead by `ivr
prompts build`; a registration number is made of pre-rendered digit pieces), each played from
GET /twilio/prompts/<file>, its path inside the prompt cache. A Say the cache cannot compose
(the build has not run on the flow, a file is gone) is said by Twilio in the language's
`twilio_language` instead, and logged, so a call never goes silent.

The route asks no signature: prompt audio is public content, the same for every caller (no
caller data is in it: numbers are spoken by digit pieces), and Twilio signs only its
webhooks, not the GETs of `<Play>`. It serves only WAV files inside the cache (a path that
leaves it, or anything else, is 404). Every file in the cache is named by its content (a
piece by the hash of its text, voice and rate; a recorded prompt by the hash of its audio),
so a URL's audio never changes and Twilio, which caches `<Play>` URLs by their HTTP cache
headers, may keep it for a year.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

from ivr import app_context
from ivr.engine import actions as act
from speech.prompts import PromptLibrary, PromptMissing
from webhooks import twiml

log = logging.getLogger(__name__)
blueprint = Blueprint("twilio_prompts", __name__)

ROUTE = "/prompts"
MAX_AGE_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class PromptUrls:
    """A Say → the URLs of its files under `base` (…/twilio/prompts), or its text alone."""

    library: PromptLibrary
    base: str

    def prompt(self, say: act.Say) -> twiml.Prompt:
        try:
            files = self.library.compose(say)
        except PromptMissing as error:
            log.warning("prompt %s said by Twilio: %s", say.prompt, error)
            return twiml.Prompt(say.text)
        missing = [path for path in files if not path.is_file()]
        if missing:
            log.warning("prompt %s said by Twilio: %s is not in the cache", say.prompt, missing[0])
            return twiml.Prompt(say.text)
        paths = [path.relative_to(self.library.root).as_posix() for path in files]
        return twiml.Prompt(say.text, [f"{self.base}/{path}" for path in paths])


def prompt_urls(base_url: str) -> PromptUrls:
    """The URLs of this process's prompt cache, served at `base_url` + /twilio/prompts."""
    return PromptUrls(app_context.prompts(), f"{base_url}/twilio{ROUTE}")


@blueprint.get(f"{ROUTE}/<path:name>")
def prompt_file(name: str) -> Response:
    """One WAV file of the prompt cache (unsigned: see the module's docstring)."""
    if not name.endswith(".wav"):
        abort(404)
    root: Path = app_context.prompts().root
    response = send_from_directory(
        root, name, mimetype="audio/wav", max_age=MAX_AGE_SECONDS, conditional=True
    )
    response.cache_control.immutable = True
    return response
