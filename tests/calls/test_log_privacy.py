"""No caller's number in any log line of a whole story, at DEBUG: a call files a report
(`ivr call`), its SMS is left `sending` as by a worker that died, and `ivr worker` looks it up
at Twilio and sends it through the real `twilio` client against a local stand-in."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twilio_rest_standin import ACCOUNT, OUR_NUMBER, TOKEN, running_standin

from ivr.logs import MaskNumbers, mask_numbers
from ivr.storage.db import Database
from ivr.storage.models import SmsOutbox

ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).with_name("ivr"))
CALLER = "+40722333444"
FORMATS = ("+40722333444", "%2B40722333444", "40722333444", "0722333444", "722333444")


def ivr(env: dict[str, str], *args: str) -> str:
    """Run `ivr --log-level DEBUG ARGS`; everything it wrote to stderr (its log)."""
    done = subprocess.run(
        [IVR, "--log-level", "DEBUG", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stderr


def test_no_log_line_of_a_call_and_its_sms_holds_the_callers_number(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(data), "CIVICLINE_DATABASE_URL": "",
           "CIVICLINE_FLOW_PATH": str(ROOT / "callflows.yaml")}  # fmt: skip
    log = ivr(env, "call", "--from", CALLER, "--lang", "en", "--input", "1",
              "--input", "say:pothole", "--input", "3",
              "--input", "say:a deep hole by the school", "--input", "1")  # fmt: skip
    database = Database(f"sqlite:///{data / 'civicline.db'}")
    with database.session() as session:  # its worker died while asking Twilio
        session.execute(update(SmsOutbox).values(status="sending", attempts=1))
    database.dispose()
    with running_standin() as standin:
        twilio = {
            "CIVICLINE_TWILIO_ACCOUNT_SID": ACCOUNT,
            "CIVICLINE_TWILIO_AUTH_TOKEN": TOKEN,
            "CIVICLINE_TWILIO_FROM": OUR_NUMBER,
            "CIVICLINE_TWILIO_API_URL": standin.url,
        }
        log += ivr({**env, **twilio}, "worker", "--once")
    assert [m["to"] for m in standin.messages] == [CALLER]
    assert any(method == "GET" and "Messages.json" in path for method, path in standin.requests)
    assert "To=[number …444]" in log  # the lookup's URL, logged by urllib3 at DEBUG, masked
    leaks = [line for line in log.splitlines() if any(form in line for form in FORMATS)]
    assert leaks == []


def test_a_traceback_with_a_number_is_masked(caplog) -> None:
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "to %s", (CALLER,), None)
    try:
        raise ValueError(f"[parameters: ('{CALLER}', 'x')]")
    except ValueError:
        record.exc_info = sys.exc_info()
    MaskNumbers().filter(record)
    assert record.getMessage() == "to [number …444]"
    assert CALLER not in record.exc_text and "[number …444]" in record.exc_text


def test_masking_leaves_ids_dates_and_short_numbers() -> None:
    text = "call 9a34ff2338214b2c89cd85eb16b609d2 ticket 26-000001 at 2026-12-05 06:39:49,353"
    assert mask_numbers(text) == text
    assert mask_numbers(f"To={'%2B40722333444'}&From=0722333444.") == (
        "To=[number …444]&From=[number …444]."
    )
