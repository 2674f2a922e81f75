"""A stored call read as turns: at which node the caller was asked, what they did (keys,
words with confidence, silence), what came of it (a choice leading to another node, no
match, no input) and how long the line took to answer: from the moment the runner took the
input event to the moment it made the next Say (both wall-clock `stored_at`; the rows' `at`
is the event's own time, which the actions it caused share, so it cannot time a reply).

Pure: it reads CallEvent-like rows (kind, type, payload, at) in `seq` order. The call detail
page shows these turns; the dashboard's summary tables count them as each call ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ivr.engine.announcements import PROMPT_OWNER

INPUT_EVENTS = ("DigitsPressed", "SpeechRecognized", "NoSpeech", "TimerExpired")
HIDDEN = "•"


class StoredRow(Protocol):
    kind: str
    type: str
    payload: dict[str, Any]
    at: datetime
    stored_at: datetime | None


@dataclass
class Turn:
    node: str
    at: datetime
    input: str
    """`keys`, `speech` or `silence`."""
    value: str | None
    confidence: float | None
    result: str = "pending"
    """`choice` (left for `target`), `confirm` (asked "did you mean …?"), `no_match`,
    `no_input`, `stayed` or `pending`."""
    target: str | None = None
    latency: float | None = None
    """Seconds from the input to the next Say, when one followed (None on rows stored without
    a wall-clock time)."""
    stored_at: datetime | None = None


def turns(rows: Iterable[StoredRow]) -> list[Turn]:
    """The caller's turns, in order, each with what followed it."""
    found: list[Turn] = []
    node: str | None = None
    current: Turn | None = None
    for row in rows:
        if row.kind == "action" and row.type == "Listen":
            listened = str(row.payload.get("node"))
            if current is not None and current.result == "pending":
                _settle(current, listened)
            node = listened
        elif row.kind == "action" and row.type == "Say" and current is not None:
            if current.latency is None and current.stored_at and row.stored_at:
                current.latency = (row.stored_at - current.stored_at).total_seconds()
            if current.result == "pending":
                _settle(current, str(row.payload.get("prompt", "")).split(".")[0], row.payload)
        elif row.kind == "event" and _is_input(row) and node is not None:
            if current is not None and current.result == "pending":
                current.result = "stayed"
            current = _turn(node, row)
            found.append(current)
    return found


def _is_input(row: StoredRow) -> bool:
    if row.type == "TimerExpired":
        return row.payload.get("name") == "no_input"
    return row.type in INPUT_EVENTS


def _turn(node: str, row: StoredRow) -> Turn:
    stored = row.stored_at
    if row.type == "DigitsPressed":
        digits = shown_input(row.type, row.payload)
        return Turn(node, row.at, "keys", digits, None, stored_at=stored)
    if row.type == "SpeechRecognized":
        confidence = row.payload.get("confidence")
        text = shown_input(row.type, row.payload)
        return Turn(node, row.at, "speech", text, confidence, stored_at=stored)
    return Turn(node, row.at, "silence", None, None, stored_at=stored)


def shown_input(type_name: str, payload: dict[str, Any]) -> str:
    """The keys or words of a stored DigitsPressed or SpeechRecognized as a person may read
    them: a PIN stored redacted (`masked`, its digits zeros so the call replays) shows as
    dots, never as zeros the caller seems to have typed."""
    value = str(payload.get("digits" if type_name == "DigitsPressed" else "text", ""))
    if not payload.get("masked"):
        return value
    if type_name == "DigitsPressed":
        return value.replace("0", HIDDEN)
    return HIDDEN * max(1, len(value))


def _settle(turn: Turn, owner: str, say: dict[str, Any] | None = None) -> None:
    """Decide a turn's result from the first prompt or Listen that followed it."""
    prompt = str((say or {}).get("prompt", ""))
    if prompt.endswith(".no_match"):
        turn.result = "no_match"
    elif prompt.endswith(".no_input"):
        turn.result = "no_input"
    elif prompt == "texts.confirm":
        turn.result = "confirm"
    elif owner in ("texts", PROMPT_OWNER):  # the node after them settles the turn
        return
    elif owner != turn.node:
        turn.result, turn.target = "choice", owner
    else:
        turn.result = "stayed"
