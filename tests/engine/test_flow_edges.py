"""Every (node, key → target) edge of the demo flow, derived from callflows.yaml, is walked."""

from __future__ import annotations

import pytest
from phone import DEMO, call_along, route_to

from ivr.engine import actions as act
from menus.schema import Flow
from routing.hours import is_open


def key_edges(flow: Flow) -> list[tuple[str, str, str]]:
    edges = []
    for name, node in flow.nodes.items():
        if node.type == "menu":
            edges += [(name, i.keys, i.goto) for i in node.intents.values() if i.keys]
        if node.type == "language":
            edges += [(name, i.keys, node.next) for i in node.options.values() if i.keys]
        if node.type in ("menu", "language"):
            for intent in (flow.global_intents.main_menu, flow.global_intents.operator):
                edges.append((name, intent.keys, intent.goto))
    return edges


EDGES = key_edges(DEMO)


def test_the_demo_flow_has_edges_from_every_menu():
    menus = {name for name, node in DEMO.nodes.items() if node.type in ("menu", "language")}
    assert {edge[0] for edge in EDGES} == menus


@pytest.mark.parametrize(("node", "key", "target"), EDGES, ids=[f"{n}-{k}" for n, k, _ in EDGES])
def test_each_key_edge_leads_where_the_file_says(node, key, target):
    phone = call_along(DEMO, route_to(DEMO, node))
    assert phone.node == node
    phone.press(key)
    reached = DEMO.nodes[target]
    if reached.type == "transfer" and not is_open(DEMO, reached.department, phone.now):
        assert f"{reached.after_hours}.prompt" in phone.prompts()
        assert not [a for a in phone.turn if isinstance(a, act.Transfer)]
        return
    assert f"{target}.prompt" in phone.prompts(), (phone.node, phone.prompts())
    if reached.type == "transfer":
        [transfer] = [a for a in phone.turn if isinstance(a, act.Transfer)]
        assert transfer.department == reached.department


@pytest.mark.parametrize("node", [n for n, x in DEMO.nodes.items() if x.type == "menu"])
def test_each_menu_intent_is_reached_by_voice_too(node):
    for intent in DEMO.nodes[node].intents.values():
        phone = call_along(DEMO, route_to(DEMO, node))
        phone.say(intent.phrases[phone.session.language][0])
        assert f"{intent.goto}.prompt" in phone.prompts(), (node, intent, phone.prompts())


def test_no_answer_edges_lead_back_into_the_flow():
    for name, node in DEMO.nodes.items():
        if node.type != "transfer":
            continue
        phone = call_along(DEMO, route_to(DEMO, name))
        phone.transfer_result("busy")
        assert f"{node.on_no_answer}.prompt" in phone.prompts()
