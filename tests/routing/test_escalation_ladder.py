"""The escalation ladder of the demo city: officer, head of service, deputy mayor, mayor."""

from __future__ import annotations

import pytest

from routing.escalation import escalation_level, first_level, next_level


def test_first_level(demo_flow):
    assert first_level(demo_flow).role == "officer"


def test_climbing_one_level_at_a_time_visits_every_level_in_order(demo_flow):
    roles = []
    level = first_level(demo_flow)
    while level is not None:
        roles.append(level.role)
        level = next_level(demo_flow, level.role)
    assert roles == ["officer", "head_of_service", "vice_mayor", "mayor"]


def test_the_top_has_no_next_level(demo_flow):
    assert next_level(demo_flow, "mayor") is None
    assert next_level(demo_flow, "vice_mayor") == escalation_level(demo_flow, "mayor")


def test_escalation_level(demo_flow):
    level = escalation_level(demo_flow, "vice_mayor")
    assert level.name == {"ro": "viceprimarul", "en": "the deputy mayor"}
    assert level.transfer == "+40264000210"


def test_unknown_role_raises(demo_flow):
    with pytest.raises(KeyError, match="unknown escalation role 'governor'"):
        escalation_level(demo_flow, "governor")
    with pytest.raises(KeyError, match="unknown escalation role 'governor'"):
        next_level(demo_flow, "governor")


def test_a_ladder_of_one_level(make_flow):
    flow = make_flow(
        {}, escalation=[{"role": "clerk", "name": {"ro": "funcționarul", "en": "the clerk"}}]
    )
    assert first_level(flow).role == "clerk"
    assert next_level(flow, "clerk") is None


def test_an_empty_ladder_has_no_first_level(make_flow):
    with pytest.raises(ValueError, match="no escalation levels"):
        first_level(make_flow({}, escalation=[]))
