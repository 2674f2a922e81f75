"""A flow file's YAML read into plain data plus the line of every key.

PyYAML composes the text into nodes (each with its position); walking them builds the data
and the `LineMap` together, and catches what `yaml.safe_load` lets through silently: a key
given twice in one mapping, and a key that YAML 1.1 turns into a boolean, a number or null
(`no:`, `on:`, `1:`) where every key of a flow is a name; and aliases that would expand
beyond MAX_VALUES. Any of these raises `FlowError` with every problem found; nothing here
knows the flow's schema.
"""

from __future__ import annotations

from typing import Any

import yaml

from menus.lines import LineMap, Location, about
from menus.problems import FlowError, Problem

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_READ_AS = {
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
}


MAX_VALUES = 20_000
"""Values (keys, scalars, lists, mappings) a file may hold once its aliases are expanded; the
demo flow holds about 1,700. An alias bomb (a few lines of nested aliases, 9⁹ leaves) is
refused by counting, before anything is expanded."""

_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML was built with it: the same nodes, ~30× faster, and it
refuses deep nesting instead of recursing. A file it refuses is parsed again by PyYAML's own
parser, whose messages the problems quote."""


def read_document(text: str, file: str) -> tuple[Any, LineMap]:
    """The data of the single YAML document in `text`, and where each of its keys is."""
    loader, root = _compose(text, file)
    try:
        _check_expansion(root, file)
        walker = _Walker(loader, file)
        data = walker.visit(root, ())
    except yaml.MarkedYAMLError as error:
        raise FlowError([_syntax_problem(error, file)]) from None
    except RecursionError:
        raise FlowError([_too_deep(file)]) from None
    finally:
        loader.dispose()
    if walker.problems:
        raise FlowError(walker.problems)
    return data, LineMap(walker.lines)


def _compose(text: str, file: str) -> tuple[yaml.SafeLoader, yaml.Node]:
    """The loader and the root node of `text`'s single document."""
    loader = _FastLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError:
        loader.dispose()
        loader, root = _compose_reporting(text, file)
    if root is None:
        loader.dispose()
        raise FlowError([Problem(file, 1, "the file is empty")])
    return loader, root


def _compose_reporting(text: str, file: str) -> tuple[yaml.SafeLoader, yaml.Node | None]:
    """Composed by PyYAML's pure parser, for its messages; every failure a problem."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise FlowError([Problem(file, line, f"YAML: {error.reason}")]) from None
    try:
        return loader, loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        loader.dispose()
        raise FlowError([_syntax_problem(error, file)]) from None
    except RecursionError:
        loader.dispose()
        raise FlowError([_too_deep(file)]) from None


def _too_deep(file: str) -> Problem:
    return Problem(file, 1, "YAML: lists or mappings nested too deeply")


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Raises FlowError when the document, its aliases expanded, exceeds MAX_VALUES."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes or not isinstance(node.value, list):
            return 1  # a scalar; or an alias to itself, which the walker reports
        open_nodes.add(id(node))
        total = 1
        for child in node.value:
            for part in child if isinstance(child, tuple) else (child,):
                total += size(part)
                if total > MAX_VALUES:
                    break
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    if size(root) > MAX_VALUES:
        message = f"more than {MAX_VALUES:,} values once its aliases are expanded; use `extends`"
        raise FlowError([Problem(file, 1, message)])


def _syntax_problem(error: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    message = error.problem or "not valid YAML"
    if error.context and error.context_mark and error.context_mark is not mark:
        message = f"{message} ({error.context} at line {error.context_mark.line + 1})"
    elif error.context:
        message = f"{message} ({error.context})"
    return Problem(file, mark.line + 1 if mark else 1, f"YAML: {message}")


class _Walker:
    """Builds data from composed nodes, noting lines and key problems on the way."""

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self._loader = loader
        self._file = file
        self._open: set[int] = set()
        self._merged: dict[int, int] = {}
        self.lines: dict[Location, int] = {(): 1}
        self.problems: list[Problem] = []

    def visit(self, node: yaml.Node, location: Location) -> Any:
        if id(node) in self._open:
            self._problem(node, about(location, "an alias refers to itself"))
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, location)
            if isinstance(node, yaml.SequenceNode):
                return [
                    self._item(item, location + (index,)) for index, item in enumerate(node.value)
                ]
            return self._scalar(node, location)
        finally:
            self._open.discard(id(node))

    def _item(self, node: yaml.Node, location: Location) -> Any:
        self.lines[location] = node.start_mark.line + 1
        return self.visit(node, location)

    def _mapping(self, node: yaml.MappingNode, location: Location) -> dict[str, Any]:
        merged = self._flatten(node)
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            key = self._key(key_node, location)
            if key is None:
                continue
            line = key_node.start_mark.line + 1
            if index >= merged:
                if key in first_seen:
                    self._problem(
                        key_node,
                        about(location, f"duplicate key `{key}` (first at line {first_seen[key]})"),
                    )
                    continue
                first_seen[key] = line
            self.lines[location + (key,)] = line
            result[key] = self.visit(value_node, location + (key,))
        return result

    def _flatten(self, node: yaml.MappingNode) -> int:
        """Expands `<<` merge keys in place; returns how many leading pairs were merged in."""
        if id(node) not in self._merged:
            explicit = len([pair for pair in node.value if pair[0].tag != _MERGE])
            self._loader.flatten_mapping(node)
            self._merged[id(node)] = len(node.value) - explicit
        return self._merged[id(node)]

    def _key(self, node: yaml.Node, location: Location) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
            return str(node.value)
        if isinstance(node, yaml.ScalarNode):
            read_as = _READ_AS.get(node.tag, f"a {node.tag}")
            message = f"key `{node.value}` is read by YAML as {read_as}; quote it"
        else:
            message = "a key must be a plain name, not a list or a mapping"
        self._problem(node, about(location, message))
        return None

    def _scalar(self, node: yaml.Node, location: Location) -> Any:
        try:
            return self._loader.construct_object(node)
        except ValueError as error:
            self._problem(node, about(location, f"`{node.value}` is not valid: {error}"))
            return None

    def _problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(self._file, node.start_mark.line + 1, message))
