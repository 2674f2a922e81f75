"""The escalation ladder: who a case goes to next when it is not resolved in time.

The ladder is the flow's `escalation` list, lowest level first. A case climbs one level at
a time and never skips one; the top level has no next level.
"""

from __future__ import annotations

from menus.schema import EscalationLevel, Flow


def _index(flow: Flow, role: str) -> int:
    for index, level in enumerate(flow.escalation):
        if level.role == role:
            return index
    raise KeyError(f"unknown escalation role {role!r}")


def first_level(flow: Flow) -> EscalationLevel:
    """The lowest level of the ladder, where every case starts."""
    if not flow.escalation:
        raise ValueError("the flow has no escalation levels")
    return flow.escalation[0]


def escalation_level(flow: Flow, role: str) -> EscalationLevel:
    """The level held by `role`."""
    return flow.escalation[_index(flow, role)]


def next_level(flow: Flow, role: str) -> EscalationLevel | None:
    """The level right above `role`, or None when `role` is the top of the ladder."""
    index = _index(flow, role) + 1
    return flow.escalation[index] if index < len(flow.escalation) else None
