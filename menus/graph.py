"""The edges of a flow: which node can lead to which, and where in the file each edge is.

A node leads on by `next`, by the `goto` of its intents or language options, by
`after_hours` / `on_no_answer` (transfer), by `unrecorded` (record), and by `on_failure`.
A node that listens to the caller (`menus.schema.INPUT_NODE_TYPES`) also leads to the
global intents' targets and, when its retries are spent, to its `on_failure` or else the
flow's `failure` node.
"""

from __future__ import annotations

from collections.abc import Iterator

from menus.lines import Location
from menus.schema import INPUT_NODE_TYPES, Flow, Intent, LanguageNode, MenuNode, Node, NoticeNode

Link = tuple[Location, str]
"""Where a reference to a node is written, and the node it names."""

_NODE_FIELDS = ("next", "after_hours", "on_no_answer", "on_failure", "unrecorded")


def listens(node: Node) -> bool:
    """Whether the node waits for the caller's keys or speech."""
    return node.type in INPUT_NODE_TYPES


def choices(name: str, node: Node) -> Iterator[tuple[Location, Intent]]:
    """The intents of a menu node, the options of a language node, a notice's decline."""
    if isinstance(node, MenuNode):
        for key, intent in node.intents.items():
            yield ("nodes", name, "intents", key), intent
    elif isinstance(node, LanguageNode):
        for key, option in node.options.items():
            yield ("nodes", name, "options", key), option
    elif isinstance(node, NoticeNode):
        yield ("nodes", name, "decline"), node.decline


def global_choices(flow: Flow) -> Iterator[tuple[Location, Intent]]:
    for key in type(flow.global_intents).model_fields:
        yield ("global_intents", key), getattr(flow.global_intents, key)


def all_choices(flow: Flow) -> Iterator[tuple[Location, Intent]]:
    """Every intent of the flow: global intents, then each node's intents and options."""
    yield from global_choices(flow)
    for name, node in flow.nodes.items():
        yield from choices(name, node)


def node_links(name: str, node: Node) -> Iterator[Link]:
    """The node references written in one node."""
    for field in _NODE_FIELDS:
        target = getattr(node, field, None)
        if isinstance(target, str):
            yield ("nodes", name, field), target
    for location, intent in choices(name, node):
        if intent.goto is not None:
            yield location + ("goto",), intent.goto


def flow_links(flow: Flow) -> Iterator[Link]:
    """Every node reference in the file: top-level names, global intents, then nodes."""
    for field in ("start", "main", "failure"):
        yield (field,), getattr(flow, field)
    for location, intent in global_choices(flow):
        if intent.goto is not None:
            yield location + ("goto",), intent.goto
    for name, node in flow.nodes.items():
        yield from node_links(name, node)


def failure_link(flow: Flow, name: str, node: Node) -> Link:
    """Where a listening node goes when its retries are spent."""
    if node.on_failure is not None:
        return ("nodes", name, "on_failure"), node.on_failure
    return ("failure",), flow.failure


def successors(flow: Flow, name: str) -> Iterator[str]:
    node = flow.nodes[name]
    for _, target in node_links(name, node):
        yield target
    if listens(node):
        for _, intent in global_choices(flow):
            if intent.goto is not None:
                yield intent.goto
        yield failure_link(flow, name, node)[1]


def reachable(flow: Flow) -> set[str]:
    """The nodes a call can reach from the start node."""
    seen: set[str] = set()
    waiting = [flow.start]
    while waiting:
        name = waiting.pop()
        if name in seen or name not in flow.nodes:
            continue
        seen.add(name)
        waiting.extend(successors(flow, name))
    return seen
