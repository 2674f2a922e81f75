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
from line_flow import open_flow_text
from num2words2 import num2words

ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).with_name("ivr"))
AT = "2027-03-02T10:00"
REF = "27-000001"
FLOWS = {
    "ro": ROOT / "callflows.yaml",
    "en": ROOT / "callflows.yaml",
    "bg": ROOT / "tests" / "flows" / "bulgarian.yaml",
    "ko": None,  # the Korean test flow with a status node, written for the test
}
TO_DISTRICT = {"ro": ["1", "1"], "en": ["1", "1"], "bg": ["1", "1"], "ko": ["1"]}
TO_STATUS = {"ro": "2", "en": "2", "bg": "2", "ko": "3"}
THREE = {"ro": "say:trei", "en": "say:Three.", "bg": "say:три", "ko": "say:삼"}


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


def in_words(number: str, language: str) -> str:
    """`number` said digit by digit, in the words num2words2 (a maintained speller) writes."""
    return " ".join(num2words(int(digit), lang=language) for digit in number)


@pytest.fixture
def flow_of(tmp_path: Path):
    def flow(language: str) -> Path:
        if FLOWS[language] is not None:
            return FLOWS[language]
        korean = tmp_path / "korean.yaml"
        korean.write_text(open_flow_text(), encoding="utf-8")
        return korean

    return flow


@pytest.mark.parametrize("language", list(FLOWS))
def test_a_district_and_a_status_said_in_words_at_the_terminal(
    tmp_path: Path, flow_of, language: str
) -> None:
    data, flow = tmp_path / "data", flow_of(language)
    description = "say:a deep hole by the school"
    filed = call(
        data, flow, language, "+40722111222",
        *TO_DISTRICT[language], THREE[language], description, "1",
        as_json=False,
    )  # fmt: skip
    shown = json.loads(ivr(data, "tickets", "show", REF, "--json").stdout)
    assert shown["district"] == 3 and shown["language"] == language
    [pin] = [run for run in re.findall(r"\b\d(?: \d)+\b", filed) if len(run) == 7]
    pin = pin.replace(" ", "")

    status = call(
        data, flow, language, "+40733000000",
        TO_STATUS[language], f"say:{in_words(REF.replace('-', ''), language)}",
        f"say:{in_words(pin, language)}",
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
            tmp_path, FLOWS["en"], "en", "+40722111222", "1", "1", "say:three", as_json=True
        ).splitlines()
    ]
    assert not any(r.get("prompt") == "report_district.no_match" for r in rows)
    assert any(r.get("prompt") == "report_description.prompt" for r in rows)
