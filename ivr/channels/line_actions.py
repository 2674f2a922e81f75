"""Line actions as JSON records, so a stream can carry out what a webhook's feed returned.

The webhook that starts or resumes a call keeps the line actions it cannot carry out itself
with the stream's one-time token; the stream reads them back here. Actions are stored
redacted: a prompt that speaks a PIN is played by its prompt id, never kept in clear.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ivr.engine import actions as act
from ivr.engine.records import to_record

LINE_ACTIONS: dict[str, type[act.Action]] = {
    cls.__name__: cls
    for cls in (
        act.Say,
        act.Listen,
        act.Record,
        act.StartCallRecording,
        act.StartTimer,
        act.CancelTimer,
        act.Transfer,
        act.HangUp,
    )
}


def to_records(actions: list[act.Action]) -> list[dict[str, Any]]:
    records = []
    for action in actions:
        type_name, payload = to_record(action.redacted())
        records.append({"type": type_name, "payload": payload})
    return records


def from_records(records: list[dict[str, Any]]) -> list[act.Action]:
    return [
        TypeAdapter(LINE_ACTIONS[record["type"]]).validate_python(record["payload"])
        for record in records
    ]
