"""The SMS of a new ticket names a report's category and reads properly for a left message,
which has none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from phone import ROOT, load

from ivr.engine.render import fill

FLOWS = [ROOT / "callflows.yaml", *sorted((ROOT / "tests" / "flows").glob("*.yaml"))]
EMPTY_SLOT = re.compile(r"\(\s*\)|\s[,.:;]|\s{2}")


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_the_ticket_sms_of_a_message_leaves_no_empty_slot(path: Path):
    flow = load(path)
    for language, template in flow.texts.sms_ticket.items():
        message = fill(template, {"ref": "26-000002"})
        assert "26-000002" in message and not EMPTY_SLOT.search(message), (language, message)
        for category in flow.categories.values():
            name = category.name[language]
            report = fill(template, {"ref": "26-000001", "category": name})
            assert name in report and not EMPTY_SLOT.search(report), (language, report)
