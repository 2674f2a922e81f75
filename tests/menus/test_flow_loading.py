"""Loading flow files: the good ones load; YAML and schema errors come back as FILE:LINE."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import pytest
from flow_text import FILE, FlowText

from menus.loader import check_file, load_flow, load_flow_text
from menus.problems import FlowError, Problem


@pytest.mark.parametrize("name", ["demo_path", "bulgarian_path"])
def test_the_shipped_flows_have_no_problem(name: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(name)
    assert check_file(path) == []


def test_a_loaded_flow_carries_its_version_source_and_path(demo_path: Path) -> None:
    loaded = load_flow(demo_path)
    assert loaded.version == hashlib.sha256(demo_path.read_bytes()).hexdigest()
    assert loaded.source == demo_path.read_text(encoding="utf-8")
    assert loaded.path == str(demo_path)
    assert loaded.flow.start == "welcome"
    assert load_flow_text(loaded.source, "copy.yaml").version == loaded.version


def test_the_bulgarian_flow_is_keypad_only_in_cyrillic(bulgarian_path: Path) -> None:
    flow = load_flow(bulgarian_path).flow
    assert flow.city.country == "BG"
    assert flow.city.timezone == "Europe/Sofia"
    assert all(flow.keypad_only(language) for language in ("bg", "en"))
    assert "112" in flow.nodes[flow.start].prompt["bg"]
    words = flow.city.name["bg"].split()
    assert words and all(unicodedata.name(char).startswith("CYRILLIC") for char in "".join(words))


def test_a_missing_file_is_a_problem_at_line_one(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert check_file(path) == [
        Problem(str(path), 1, "cannot read the file: No such file or directory")
    ]


def test_bytes_that_are_not_utf8_are_reported_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("flow: 1\ncity:\n  name: {ro: 'Primăria'}\n".encode("cp1250"))
    assert check_file(path) == [Problem(str(path), 3, "not UTF-8 text")]


def test_an_empty_file_is_a_problem() -> None:
    with pytest.raises(FlowError) as caught:
        load_flow_text("# nothing yet\n", FILE)
    assert caught.value.problems == [Problem(FILE, 1, "the file is empty")]


def test_flow_error_prints_file_line_message(demo: FlowText) -> None:
    broken = demo.replace("start: welcome", "start: welcom")
    with pytest.raises(FlowError) as caught:
        load_flow_text(broken.text, FILE)
    first = str(caught.value).splitlines()[0]
    assert first == f"{FILE}:{broken.line_of('start: welcom')}: start: unknown node `welcom`"


def test_yaml_syntax_error_is_reported_at_the_mark(demo: FlowText) -> None:
    broken = demo.replace("  country: RO\n", "  country: RO: x\n")
    assert broken.problems() == [
        broken.at("country: RO: x", "YAML: mapping values are not allowed here")
    ]


def test_an_unclosed_flow_mapping_names_where_it_started(demo: FlowText) -> None:
    broken = demo.replace('  en: {name: "English"}\n', '  en: {name: "English"\n')
    started = broken.line_of('en: {name: "English"')
    assert broken.problems() == [
        Problem(
            FILE,
            started + 1,
            "YAML: expected ',' or '}', but got '<scalar>' "
            f"(while parsing a flow mapping at line {started})",
        )
    ]


def test_a_duplicate_key_is_reported_at_the_second_one(demo: FlowText) -> None:
    broken = demo.replace("  country: RO\n", "  country: RO\n  country: BG\n")
    first = broken.line_of("country: RO")
    assert broken.problems() == [
        broken.at("country: BG", f"city: duplicate key `country` (first at line {first})")
    ]


def test_a_key_read_as_a_boolean_must_be_quoted(demo: FlowText) -> None:
    broken = demo.replace('  en: {name: "English"}', '  no: {name: "English"}')
    assert broken.problems() == [
        broken.at("no: {name", "languages: key `no` is read by YAML as a boolean; quote it")
    ]


def test_a_key_read_as_a_number_must_be_quoted(demo: FlowText) -> None:
    broken = demo.replace('      faq:\n        keys: "5"', '      5:\n        keys: "5"')
    assert broken.problems() == [
        broken.at("5:\n", "nodes.main.intents: key `5` is read by YAML as a number; quote it")
    ]


def test_merge_keys_are_not_duplicates(demo: FlowText) -> None:
    merged = demo.replace("  office:\n    weekly:", "  office: &office\n    weekly:").replace(
        "  local_police:\n    extends: office\n    weekly:",
        "  local_police:\n    <<: *office\n    public_holidays: false\n    weekly:",
    )
    assert merged.problems() == []


def test_an_unknown_key_and_the_missing_field_it_replaces(demo: FlowText) -> None:
    broken = demo.replace(
        '    type: menu\n    prompt:\n      ro: "Pentru a semnala',
        '    type: menu\n    promt:\n      ro: "Pentru a semnala',
    )
    assert broken.problems() == [
        broken.at("  main:\n    type: menu", "nodes.main: missing field `prompt`"),
        broken.at("promt:", "nodes.main: unknown key `promt`"),
    ]


def test_a_missing_field_is_reported_at_its_parent(demo: FlowText) -> None:
    broken = demo.replace("    max_value: 6\n", "")
    assert broken.problems() == [
        broken.at("  report_district:", "nodes.report_district: missing field `max_value`")
    ]


def test_a_time_range_that_ends_before_it_starts(demo: FlowText) -> None:
    broken = demo.replace('      mon: ["08:00-16:30"]', '      mon: ["17:00-08:00"]')
    message = "schedules.office.weekly.mon.0: bad time range '17:00-08:00': ends before it starts"
    assert broken.problems() == [broken.at('mon: ["17:00-08:00"]', message)]


def test_an_unknown_day_is_a_bad_key(demo: FlowText) -> None:
    broken = demo.replace('      fri: ["08:00-14:00"]', '      fry: ["08:00-14:00"]')
    message = (
        "schedules.office.weekly.fry: key `fry`: input should be "
        "'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'"
    )
    assert broken.problems() == [broken.at("fry:", message)]


def test_an_unknown_node_type(demo: FlowText) -> None:
    broken = demo.replace("    type: hangup", "    type: hang_up")
    expected = (
        "'say', 'language', 'menu', 'number', 'record', 'ticket', 'status', 'callback', "
        "'appointment', 'appointment_status', 'transfer', 'hangup', 'notice', 'survey'"
    )
    message = f"nodes.goodbye.type: unknown type `hang_up` (expected one of {expected})"
    assert broken.problems() == [broken.at("type: hang_up", message)]


def test_a_node_without_type(demo: FlowText) -> None:
    broken = demo.replace("  goodbye:\n    type: hangup\n", "  goodbye:\n")
    assert broken.problems() == [
        broken.at("  goodbye:\n    prompt", "nodes.goodbye: missing field `type`")
    ]


def test_a_value_error_keeps_the_schema_message(demo: FlowText) -> None:
    broken = demo.replace("timezone: Europe/Bucharest", "timezone: Europe/Bucuresti")
    assert broken.problems() == [
        broken.at("timezone:", "city.timezone: unknown time zone 'Europe/Bucuresti'")
    ]


def test_a_number_where_a_string_is_expected(demo: FlowText) -> None:
    broken = demo.replace('    keys: "9"', "    keys: 9")
    assert broken.problems() == [
        broken.at("keys: 9", "global_intents.repeat.keys: input should be a valid string")
    ]


def test_an_invalid_date_is_reported_at_its_line(demo: FlowText) -> None:
    broken = demo.replace("closures: [2026-12-24,", "closures: [2026-13-24,")
    message = "schedules.office.closures.0: `2026-13-24` is not valid: month must be in 1..12"
    assert broken.problems() == [broken.at("closures:", message)]


def test_a_control_character_is_reported_at_its_line(demo: FlowText) -> None:
    broken = demo.replace("Nu v-am auzit.", "Nu v-am\x07 auzit.")
    assert broken.problems() == [
        broken.at("Nu v-am\x07", "YAML: special characters are not allowed")
    ]
