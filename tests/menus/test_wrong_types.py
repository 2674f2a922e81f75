"""Every field of the demo flow given a value of the wrong type or shape (Hypothesis): the
loader answers `FlowError` with FILE:LINE problems and never anything else (a traceback from
a validator that assumed its type); a value the schema refuses is reported on its own lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from flow_text import FlowText
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from menus import schema
from menus.lines import Location
from menus.loader import load_flow_text
from menus.problems import FlowError
from menus.schema import Flow

FILE = "mutant.yaml"
DEMO = yaml.safe_load((Path(__file__).resolve().parents[2] / "callflows.yaml").read_text())


def _locations(value: Any, location: Location = ()) -> list[Location]:
    """Every key and list item of the flow, as the path leading to it."""
    found: list[Location] = [location] if location else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _locations(child, location + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _locations(child, location + (index,))
    return found


def _field_names() -> set[str]:
    models = [v for v in vars(schema).values() if isinstance(v, type) and issubclass(v, BaseModel)]
    return {name for model in models for name in model.model_fields}


def _by_field(locations: list[Location]) -> list[Location]:
    """One location per field of the schema: names given in the file (of nodes, departments,
    languages) and list indexes are wildcards, so `nodes.main.prompt` and `nodes.goodbye.prompt`
    are one field."""
    fields = _field_names()
    first: dict[tuple[str, ...], Location] = {}
    for location in locations:
        pattern = tuple(p if isinstance(p, str) and p in fields else "*" for p in location)
        first.setdefault(pattern, location)
    return list(first.values())


FIELDS = _by_field(_locations(DEMO))
SCALARS = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.dates(),
    st.text(max_size=8),
)
WRONG = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=6), SCALARS, max_size=3),
    st.lists(st.lists(SCALARS, max_size=2), min_size=1, max_size=2),
    st.dictionaries(
        st.sampled_from(["prompt", "type", "ro", "en", "keys", "goto", "start", "mon"]),
        st.one_of(SCALARS, st.dictionaries(st.text(min_size=1, max_size=4), SCALARS)),
        max_size=3,
    ),
)


def _replaced(data: Any, location: Location, value: Any) -> Any:
    if not location:
        return value
    head, rest = location[0], location[1:]
    if isinstance(data, dict):
        return {k: _replaced(v, rest, value) if k == head else v for k, v in data.items()}
    return [_replaced(v, rest, value) if i == head else v for i, v in enumerate(data)]


def _fits_schema(text: str) -> bool:
    try:
        Flow.model_validate(yaml.load(text, Loader=yaml.CSafeLoader))
    except ValidationError:
        return False
    return True


def _span(text: str, location: Location) -> range:
    """The lines of the value at `location`, from its parent's key (where a value that
    counts as missing, a null, is reported) to the value's last line."""
    node = yaml.compose(text, Loader=yaml.CSafeLoader)
    starts = [node.start_mark.line]
    for part in location:
        if isinstance(node, yaml.MappingNode):
            key, node = next((k, v) for k, v in node.value if k.value == part)
            starts.append(key.start_mark.line)
        else:
            node = node.value[part]
            starts.append(node.start_mark.line)
    return range(starts[-2] + 1, node.end_mark.line + 2)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(location=st.sampled_from(FIELDS), value=WRONG)
def test_a_wrong_value_anywhere_is_a_problem_at_its_line(location: Location, value: Any) -> None:
    mutant = _replaced(DEMO, location, value)
    text = yaml.dump(mutant, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)
    try:
        load_flow_text(text, FILE)
    except FlowError as error:
        problems = error.problems
    else:
        return  # the value was of an accepted type after all (a number for a number)
    last_line = text.count("\n") + 1
    assert problems
    assert all(p.file == FILE and 1 <= p.line <= last_line and p.message for p in problems)
    if not _fits_schema(text):  # a wrong type or shape, not a rule broken elsewhere
        span = _span(text, location)
        assert any(p.line in span for p in problems), (location, value, problems)


@pytest.mark.parametrize("value", ["+40264000100", "{}", "[+40264000100]"])
def test_a_transfer_target_that_is_not_text(demo: FlowText, value: str) -> None:
    """An unquoted number (YAML reads it as one), a mapping, a list: FILE:LINE, no crash."""
    broken = demo.replace('transfer: "+40264000100"', f"transfer: {value}")
    message = "departments.public_relations.transfer: input should be a valid string"
    assert broken.problems() == [broken.at(f"transfer: {value}", message)]
