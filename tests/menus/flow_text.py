"""A flow file's text for the menus tests: edited in one exact place, then loaded, with the
line of any text in it so that a test computes where a problem must be reported."""

from __future__ import annotations

from dataclasses import dataclass

from menus.loader import load_flow_text
from menus.problems import FlowError, Problem

FILE = "callflows.yaml"


@dataclass(frozen=True)
class FlowText:
    text: str

    def replace(self, old: str, new: str) -> FlowText:
        """The text with `old`, which must occur exactly once, replaced by `new`."""
        count = self.text.count(old)
        assert count == 1, f"{old!r} occurs {count} times"
        return FlowText(self.text.replace(old, new))

    def line_of(self, needle: str) -> int:
        """The 1-based line where `needle`, which must occur exactly once, starts."""
        count = self.text.count(needle)
        assert count == 1, f"{needle!r} occurs {count} times"
        return self.text[: self.text.index(needle)].count("\n") + 1

    def at(self, needle: str, message: str) -> Problem:
        """The problem expected at the line of `needle`."""
        return Problem(FILE, self.line_of(needle), message)

    def problems(self) -> list[Problem]:
        try:
            load_flow_text(self.text, FILE)
        except FlowError as error:
            return error.problems
        return []
