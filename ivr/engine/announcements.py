"""Announcements a call is given at its start (the ones in force that day, read by the shell):
said once before the main menu, or before the after-hours menu only; any key skips them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Placement = Literal["main", "after_hours"]
PLACEMENTS: tuple[Placement, ...] = ("main", "after_hours")
PROMPT_OWNER = "@announcement"
"""Owner of an announcement's Say.prompt, `@announcement.<id>` (its audio pre-rendered when
saved): no node of a flow, so the call log never reads it as one."""
PROMPT_PREFIX = f"{PROMPT_OWNER}."


@dataclass(frozen=True, kw_only=True)
class Announcement:
    id: int
    texts: Mapping[str, str]
    """Language → text, one for every language of the flow."""
    placement: Placement

    def prompt_id(self) -> str:
        return f"{PROMPT_PREFIX}{self.id}"
