"""Loading callflows.yaml: YAML with lines → schema → rules → a versioned, frozen flow.

Every way a flow file can be wrong ends as `FlowError` with `FILE:LINE: message` problems,
never a traceback: an unreadable, too large or not UTF-8 file, YAML syntax, duplicate or
mistyped keys (`menus.document`), schema errors (pydantic's, mapped back to lines here),
then the rules of `menus.validator`. A flow's version is the sha256 of its bytes, so a call
can name the exact flow it started on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from menus import validator
from menus.document import read_document
from menus.lines import LineMap, Location, about
from menus.problems import FlowError, Problem
from menus.schema import Flow

MAX_FILE_BYTES = 1_000_000
"""A flow file's size limit (the demo flow is 30 kB): a bigger file is refused unread."""


@dataclass(frozen=True)
class LoadedFlow:
    flow: Flow
    version: str
    """sha256 hex of the file's bytes."""
    source: str
    path: str


def load_flow(path: str | Path) -> LoadedFlow:
    """The flow in the file at `path`; `FlowError` with every problem if it is not usable."""
    file = str(path)
    try:
        with open(path, "rb") as opened:
            raw = opened.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        reason = error.strerror or str(error)
        raise FlowError([Problem(file, 1, f"cannot read the file: {reason}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FlowError([Problem(file, line, "not UTF-8 text")]) from None
    return _load(text, raw, file)


def load_flow_text(text: str, name: str) -> LoadedFlow:
    """The flow in `text`, with problems reported against the file name `name`."""
    return _load(text, text.encode("utf-8"), name)


def load_stored_flow(text: str, name: str) -> LoadedFlow:
    """A flow version that passed every rule when it was first loaded, read back from storage
    for calls still running on it: checked against the schema only, so a rule added since
    cannot strand those calls."""
    return _load(text, text.encode("utf-8"), name, rules=False)


def check_file(path: str | Path) -> list[Problem]:
    """Every problem of the flow file at `path`; empty when it is good."""
    try:
        load_flow(path)
    except FlowError as error:
        return error.problems
    return []


def _load(text: str, raw: bytes, file: str, *, rules: bool = True) -> LoadedFlow:
    if len(raw) > MAX_FILE_BYTES:
        message = f"the file is larger than {MAX_FILE_BYTES:,} bytes"
        raise FlowError([Problem(file, 1, message)])
    data, lines = read_document(text, file)
    try:
        flow = Flow.model_validate(data)
    except ValidationError as error:
        problems = [_schema_problem(details, data, lines, file) for details in error.errors()]
        raise FlowError(problems) from None
    problems = validator.validate(flow, lines, file) if rules else []
    if problems:
        raise FlowError(problems)
    return LoadedFlow(flow, hashlib.sha256(raw).hexdigest(), text, file)


def _schema_problem(details: ErrorDetails, data: Any, lines: LineMap, file: str) -> Problem:
    location, about_key = _location_in_file(details["loc"], data)
    kind = details["type"]
    context = details.get("ctx", {})
    if kind == "missing":
        parent = location[:-1]
        return Problem(file, lines.line(parent), about(parent, f"missing field `{location[-1]}`"))
    if kind == "extra_forbidden":
        message = about(location[:-1], f"unknown key `{location[-1]}`")
        return Problem(file, lines.line(location), message)
    if kind == "union_tag_not_found":
        return Problem(file, lines.line(location), about(location, "missing field `type`"))
    if kind == "union_tag_invalid":
        location = location + ("type",)
        expected = context["expected_tags"]
        message = f"unknown type `{context['tag']}` (expected one of {expected})"
        return Problem(file, lines.line(location), about(location, message))
    if kind == "value_error":
        message = str(context["error"])
    else:
        message = details["msg"][:1].lower() + details["msg"][1:]
    if about_key:
        message = f"key `{location[-1]}`: {message}"
    return Problem(file, lines.line(location), about(location, message))


def _location_in_file(loc: tuple[int | str, ...], data: Any) -> tuple[Location, bool]:
    """pydantic's `loc` as keys of the file: without the node type tags pydantic inserts
    after a node's name, and without its `[key]` marker (returned as a flag instead)."""
    location: list[str | int] = []
    about_key = False
    current = data
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if part == "[key]":
            about_key = True
            continue
        location.append(part)
        current = _child(current, part)
        if isinstance(current, dict) and parts and parts[0] == current.get("type"):
            parts.pop(0)
    return tuple(location), about_key


def _child(value: Any, part: int | str) -> Any:
    if isinstance(value, dict):
        return value.get(part)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return value[part]
    return None
