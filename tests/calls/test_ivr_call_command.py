"""`ivr call` end to end, as a user runs it: a subprocess on a fresh data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.storage.db import Database
from ivr.storage.tickets import find_ticket
from ivr.storage.tickets import set_status as change_status

ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).with_name("ivr"))


def ivr(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(data_dir), "CIVICLINE_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [IVR, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=check, timeout=120
    )


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def inputs(*values: str) -> list[str]:
    return [arg for value in values for arg in ("--input", value)]


def test_a_report_by_json_prints_each_event_and_action_then_a_summary(tmp_path):
    result = ivr(
        tmp_path,
        "call",
        "--from",
        "+40722111222",
        "--lang",
        "en",
        "--at",
        "2026-11-24T10:00",
        *inputs("1", "say:pothole", "3", "say:a deep hole in front of the school", "1", "2"),
        "--json",
    )
    rows = records(result.stdout)
    summary = rows[-1]
    assert summary["summary"] and summary["outcome"] == "ticket"
    assert summary["ticket_ref"] == "26-000001" and summary["department"] == "roads"
    assert {"event": "SpeechRecognized"}.items() <= next(
        r for r in rows if r.get("event") == "SpeechRecognized"
    ).items()
    assert any(r.get("action") == "CreateTicket" and r["category"] == "pothole" for r in rows)
    assert any(r.get("action") == "QueueSms" for r in rows)
    shown = ivr(tmp_path, "tickets", "show", "26-000001", "--json")
    ticket = json.loads(shown.stdout)
    assert ticket["category"] == "pothole" and ticket["status"] == "registered"


def test_on_christmas_a_department_is_closed_and_the_after_hours_assistant_answers(tmp_path):
    result = ivr(
        tmp_path,
        "call",
        "--from",
        "0722111222",
        "--lang",
        "ro",
        "--at",
        "2026-12-25T10:00",
        *inputs("4", "1", "2", "say:vă rog să mă sunați pentru autorizația de construire"),
        "--json",
    )
    rows = records(result.stdout)
    assert not any(r.get("action") == "Transfer" for r in rows)
    assert any(r.get("prompt") == "after_hours.prompt" for r in rows)
    summary = rows[-1]
    assert summary["outcome"] == "message" and summary["department"] == "urbanism"


def test_a_working_day_transfers_to_the_department(tmp_path):
    result = ivr(
        tmp_path, "call", "--lang", "en", "--at", "2026-11-24T10:00", *inputs("4", "2"), "--json"
    )
    [transfer] = [r for r in records(result.stdout) if r.get("action") == "Transfer"]
    assert transfer["target"] == "+40264000120"
    assert records(result.stdout)[-1]["outcome"] == "transferred"


def test_a_bulgarian_flow_in_cyrillic(tmp_path):
    result = ivr(
        tmp_path,
        "call",
        "--flow",
        "tests/flows/bulgarian.yaml",
        "--from",
        "+359888123456",
        "--lang",
        "bg",
        "--at",
        "2026-11-24T10:00",
        *inputs("say:сигнал", "say:дупка", "2", "say:дупка пред училището", "1"),
        "--json",
    )
    rows = records(result.stdout)
    assert rows[-1]["outcome"] == "ticket" and rows[-1]["language"] == "bg"
    [confirm] = [r for r in rows if r.get("prompt") == "report_confirm.prompt"]
    assert confirm["text"].startswith("Сигнал: дупка на пътя, район 2.")
    assert any(r.get("action") == "QueueSms" and "Русе" in r["text"] for r in rows)


def test_a_wav_description_is_stored_as_a_recording(tmp_path):
    wav_path = tmp_path / "description.wav"
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x10\x00" * 8000 * 3)
    result = ivr(
        tmp_path,
        "call",
        "--from",
        "+40722111222",
        "--lang",
        "en",
        "--at",
        "2026-11-24T10:00",
        *inputs("1", "1", "3", f"wav:{wav_path}", "1"),
        "--json",
    )
    rows = records(result.stdout)
    [finished] = [r for r in rows if r.get("event") == "RecordingFinished"]
    assert finished["seconds"] == pytest.approx(3.0)
    stored = list((tmp_path / "recordings").rglob("*.wav"))
    assert len(stored) == 1 and stored[0].read_bytes() == wav_path.read_bytes()
    [ticket] = [r for r in rows if r.get("action") == "CreateTicket"]
    assert ticket["recording_id"] == finished["recording_id"] == stored[0].stem


def test_interactive_lines_from_standard_input(tmp_path):
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(tmp_path), "CIVICLINE_LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [IVR, "call", "--lang", "en", "--at", "2026-11-24T10:00"],
        input="5\n3\n\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert "IVR: City hall is open to the public Monday to Thursday" in result.stdout
    assert "I did not hear you." in result.stdout
    assert result.stdout.rstrip().endswith("ended: handled]")


def test_bad_input_and_a_broken_flow_are_clear_errors_not_tracebacks(tmp_path):
    missing = ivr(
        tmp_path, "call", "--lang", "en", *inputs("1", "1", "3", "wav:/nope.wav"), check=False
    )
    assert missing.returncode == 1 and "no such WAV file: /nope.wav" in missing.stderr
    wrong_lang = ivr(tmp_path, "call", "--lang", "fr", check=False)
    assert wrong_lang.returncode == 2 and "the flow speaks ro, en" in wrong_lang.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (ROOT / "callflows.yaml").read_text().replace("next: language", "next: langauge")
    )
    bad_flow = ivr(tmp_path, "call", "--flow", str(broken), check=False)
    assert bad_flow.returncode == 1 and f"{broken}:" in bad_flow.stderr
    assert "langauge" in bad_flow.stderr and "Traceback" not in bad_flow.stderr


def set_status(data_dir: Path, ref: str, status: str) -> None:
    """What an officer does on the site: the report's status changes."""
    database = Database(f"sqlite:///{data_dir / 'civicline.db'}")
    try:
        with database.session() as session:
            ticket = find_ticket(session, ref)
            assert ticket is not None
            change_status(session, ticket, status, "user:ana", datetime.now(UTC))
    finally:
        database.dispose()


def owner_call(data_dir: Path, at: str, *keys: str) -> list[dict]:
    """A call from the report's owner, in English, pressing `keys`."""
    result = ivr(
        data_dir, "call", "--from", "+40722111222", "--lang", "en", "--at", at,
        *inputs(*keys), "--json",
    )  # fmt: skip
    return records(result.stdout)


def prompts(rows: list[dict]) -> list[str]:
    said = (r["prompt"] for r in rows if r.get("action") == "Say")
    return [prompt for prompt in said if prompt.startswith("status.")]


def test_after_the_status_the_owner_adds_a_note_then_reopens_and_closes_the_report(tmp_path):
    owner_call(tmp_path, "2026-11-24T10:00", "1", "1", "3", "say:a deep hole", "1", "2")
    status = ("2", "26000001#")  # the owner's own report: read out by caller ID

    rows = owner_call(tmp_path, "2026-11-25T10:00", *status, "1", "say:the hole is now bigger", "2")
    assert prompts(rows) == [
        "status.prompt", "status.result", "status.add_note", "status.record_note",
        "status.note_added",
    ]  # fmt: skip
    [note] = [r for r in rows if r.get("action") == "AddNote"]
    assert note["ref"] == "26-000001" and note["transcript"] == "the hole is now bigger"

    set_status(tmp_path, "26-000001", "resolved")
    rows = owner_call(tmp_path, "2026-11-26T10:00", *status, "2", "2", "2")  # not solved
    assert prompts(rows) == [
        "status.prompt", "status.result", "status.solved", "status.reopened", "status.add_note",
    ]  # fmt: skip
    assert [r["solved"] for r in rows if r.get("action") == "MarkSolved"] == [False]

    set_status(tmp_path, "26-000001", "resolved")
    rows = owner_call(tmp_path, "2026-11-27T10:00", *status, "1", "2")  # solved
    assert prompts(rows) == ["status.prompt", "status.result", "status.solved", "status.closed"]

    shown = json.loads(ivr(tmp_path, "tickets", "show", "26-000001", "--json").stdout)
    assert shown["status"] == "closed"
    notes = [(n["kind"], n["source"], n["body"]) for n in shown["notes"]]
    assert notes == [
        ("note", "phone", "the hole is now bigger"),
        ("reopened", "phone", ""),
        ("closed", "phone", ""),
    ]
    assert [c["actor"] for c in shown["history"]][-1] == "citizen (phone)"
