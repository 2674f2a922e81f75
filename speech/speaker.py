"""The speaker process: pyttsx3 (espeak-ng) turning texts into WAV files, run by `speech.synthesis`.

`python -m speech.speaker` reads one JSON request a line on stdin (`text`, `voice`, `rate`,
`path`) and answers each with one line on stdout: `rendered<TAB>PATH` or `failed<TAB>REASON`.
It runs in its own process because pyttsx3 can hang inside its driver loop: the parent
waits for each answer with a timeout and kills the process when none comes. Other output
(pyttsx3 prints a line per saved file) is not an answer and is ignored by the parent.

pyttsx3 2.99's espeak driver now and then saves a WAV with no samples (it writes the file
on espeak's end-of-message event before adding that callback's samples; measured: 3 in 129
short texts), so an empty file is rendered again, up to `ATTEMPTS` times.
"""

from __future__ import annotations

import json
import sys
import wave
from typing import Any, TextIO

RENDERED = "rendered"
FAILED = "failed"
ATTEMPTS = 5


def _voices(engine: Any) -> set[str]:
    known: set[str] = set()
    for voice in engine.getProperty("voices"):
        known.add(voice.id)
        known.update(str(language) for language in voice.languages)
        known.add(voice.id.rsplit("/", 1)[-1])
    return known


def serve(requests: TextIO, answers: TextIO) -> None:
    """Render every request of `requests`, answering each on `answers`."""
    import pyttsx3

    engine = pyttsx3.init("espeak")
    known = _voices(engine)
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        if request["voice"] not in known:
            answers.write(f"{FAILED}\tespeak-ng has no voice {request['voice']!r}\n")
        elif _render(engine, request):
            answers.write(f"{RENDERED}\t{request['path']}\n")
        else:
            answers.write(f"{FAILED}\tno audio after {ATTEMPTS} attempts\n")
        answers.flush()


def _render(engine: Any, request: dict[str, Any]) -> bool:
    """Save the request's text as a WAV; False when every attempt gave no samples."""
    for _ in range(ATTEMPTS):
        engine.setProperty("voice", request["voice"])
        engine.setProperty("rate", int(request["rate"]))
        engine.save_to_file(request["text"], request["path"])
        engine.runAndWait()
        with wave.open(request["path"]) as saved:
            if saved.getnframes() > 0:
                return True
    return False


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
