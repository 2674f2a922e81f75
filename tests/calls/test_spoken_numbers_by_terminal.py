"""Numbers typed as speech at the terminal (`ivr call --input say:…`, a subprocess on a fresh
data directory), in every flow language: the district said is on the ticket, and a
registration number and a PIN said in words read the status back."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flow_languages import LANGUAGES, THREE, TO_DISTRICT, TO_STATUS, digit_by_digit, flow_text

ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).with_name("ivr"))
AT = "2027-03-02T10:00"
REF = "27-000001"


def ivr(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(data_dir), "CIVICLINE_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [IVR, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=True, timeout=120
    )


def call(data_dir: Path, flow: Path, language: str, caller: str, *said: str, as_json: bool):
    """One terminal call; its standard output."""
    inputs = [arg for value in said for arg in ("--input", value)]
    json_flag = ["--json"] if as_json else []
    args = ["call", "--flow", str(flow), "--from", caller, "--lang", language, "--at", AT]
    return ivr(data_dir, *args, *inputs, *json_flag).stdout


def flow_file(directory: Path, language: str) -> Path:
    path = directory / "flow.yaml"
    path.write_text(flow_text(language), encoding="utf-8")
    return path


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_district_and_a_status_said_in_words_at_the_terminal(
    tmp_path: Path, language: str
) -> None:
    data, flow = tmp_path / "data", flow_file(tmp_path, language)
    description = "say:a deep hole by the school"
    filed = call(
        data, flow, language, "+40722111222",
        *TO_DISTRICT[language], f"say:{THREE[language]}", description, "1",
        as_json=False,
    )  # fmt: skip
    shown = json.loads(ivr(data, "tickets", "show", REF, "--json").stdout)
    assert shown["district"] == 3 and shown["language"] == language
    [pin] = [run for run in re.findall(r"\b\d(?: \d)+\b", filed) if len(run) == 7]
    pin = pin.replace(" ", "")

    status = call(
        data, flow, language, "+40733000000",
        TO_STATUS[language], f"say:{digit_by_digit(REF.replace('-', ''), language)}",
        f"say:{digit_by_digit(pin, language)}",
        as_json=True,
    )  # fmt: skip
    rows = [json.loads(line) for line in status.splitlines()]
    assert any(r.get("action") == "LookupTicket" and r["ref"] == REF for r in rows)
    [result] = [r for r in rows if r.get("prompt") == "status.result"]
    assert "2 7, 0 0 0 0 0 1" in result["text"]
    pins = [r for r in rows if r.get("event") == "SpeechRecognized" and r["masked"]]
    assert [r["text"] for r in pins] == ["0000"], "the PIN said is kept as zeros only"


def test_the_issue_call_three_is_taken_as_district_3(tmp_path: Path) -> None:
    """The call of the issue: `--lang en --input 1 --input 1 --input "say:three"`."""
    rows = [
        json.loads(line)
        for line in call(
            tmp_path,
            ROOT / "callflows.yaml",
            "en",
            "+40722111222",
            "1",
            "1",
            "say:three",
            as_json=True,
        ).splitlines()
    ]
    assert not any(r.get("prompt") == "report_district.no_match" for r in rows)
    assert any(r.get("prompt") == "report_description.prompt" for r in rows)
