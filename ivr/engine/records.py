"""Events and actions as JSON-ready records (type name + payload), and events back again.

The shell stores every event and action as it happens; replaying the stored events through
a new session rebuilds it, so any process can serve the next request of a call.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ivr.engine import actions, events

EVENT_TYPES: dict[str, type[events.Event]] = {
    cls.__name__: cls
    for cls in vars(events).values()
    if isinstance(cls, type) and issubclass(cls, events.Event) and cls is not events.Event
}


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(cls: type) -> TypeAdapter[Any]:
    """One pydantic adapter per dataclass, built on first use (building one is slow)."""
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def to_record(item: events.Event | actions.Action) -> tuple[str, dict[str, Any]]:
    """(type name, JSON-ready payload) of an event or an action."""
    payload = _adapter(type(item)).dump_python(item, mode="json")
    return type(item).__name__, payload


def event_from_record(type_name: str, payload: dict[str, Any]) -> events.Event:
    try:
        cls = EVENT_TYPES[type_name]
    except KeyError:
        raise ValueError(f"unknown event type {type_name!r}") from None
    event: events.Event = _adapter(cls).validate_python(payload)
    return event
