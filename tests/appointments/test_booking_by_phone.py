"""`ivr call` books visits as a user runs it (a subprocess on a fresh data directory): after
a Friday's closing, the day before a public holiday, and when a slot is full. The dates are
the coming ones, worked out from today with the `holidays` package and the flow's closures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays
import yaml

from menus.schema import Flow

ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).with_name("ivr"))
FLOW = Flow.model_validate(yaml.safe_load((ROOT / "callflows.yaml").read_text()))
CLOSURES = set(FLOW.schedules["office"].closures)
CIVIL_STATUS = ("6", "3")
"""Main menu: appointments; then civil status (office hours, one person per 30 minutes)."""


def working(day: date) -> bool:
    """A weekday of the office schedule: no weekend, public holiday or closure."""
    return day.weekday() < 5 and day not in holidays.country_holidays("RO") and day not in CLOSURES


def coming(test) -> date:
    """The first day from tomorrow on for which `test(day)` holds."""
    day = date.today() + timedelta(days=1)
    while not test(day):
        day += timedelta(days=1)
    return day


def call(data_dir: Path, at: datetime, *keys: str, caller: str = "0722111222") -> list[dict]:
    env = {**os.environ, "CIVICLINE_DATA_DIR": str(data_dir), "CIVICLINE_LOG_LEVEL": "WARNING"}
    args = [IVR, "call", "--from", caller, "--lang", "en", "--at", at.isoformat(timespec="minutes")]
    args += [arg for key in keys for arg in ("--input", key)]
    done = subprocess.run(
        [*args, "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def said(rows: list[dict], prompt: str) -> str:
    return next(r["text"] for r in rows if r.get("prompt") == prompt)


def booked(rows: list[dict]) -> dict:
    return next(r for r in rows if r.get("event") == "AppointmentBooked")


def test_after_a_friday_closing_the_first_slot_is_the_next_working_morning(tmp_path):
    friday = coming(lambda d: d.weekday() == 4 and working(d) and working(d + timedelta(3)))
    rows = call(
        tmp_path, datetime.combine(friday, datetime.min.time()).replace(hour=15), *CIVIL_STATUS, "1"
    )
    monday = friday + timedelta(days=3)
    offer = said(rows, "appointment.offer")
    assert offer.startswith(
        f"We can see you on Monday {monday.day} {monday:%B}, 08:00, at ghișeul 5"
    )
    code = booked(rows)["code"]
    spoken = " ".join(code)
    assert f"code is {spoken}" in said(rows, "appointment.booked")
    assert said(rows, "services.civil_status.bring").startswith("Bring your identity card")
    [sms] = [r for r in rows if r.get("action") == "QueueSms"]
    assert code in sms["text"] and f"{monday:%d.%m} 08:00" in sms["text"]
    assert rows[-1]["outcome"] == "appointment"
    status = call(
        tmp_path, datetime.combine(friday, datetime.min.time()).replace(hour=16), "6", "4", code
    )
    assert said(status, "appointment_status.result").startswith(
        f"Appointment {spoken} for civil status is on Monday {monday.day} {monday:%B}, 08:00"
    )


def test_a_public_holiday_is_passed_over_and_a_full_slot_offers_the_next(tmp_path):
    ro = holidays.country_holidays("RO", years=range(date.today().year, date.today().year + 2))
    holiday = coming(lambda d: d in ro and working(d - timedelta(1)) and working(d + timedelta(1)))
    evening = datetime.combine(holiday - timedelta(days=1), datetime.min.time()).replace(hour=17)
    after = holiday + timedelta(days=1)
    first = call(tmp_path, evening, *CIVIL_STATUS, "1", caller="0722111001")
    assert f"on {after:%A} {after.day} {after:%B}, 08:00" in said(first, "appointment.offer")
    second = call(tmp_path, evening, *CIVIL_STATUS, "1", caller="0722111002")
    assert "08:30" in said(second, "appointment.offer")  # 08:00 holds one person: taken
    again = call(tmp_path, evening, *CIVIL_STATUS, caller="0722111001")
    assert booked(again)["held"] and booked(again)["code"] == booked(first)["code"]
    assert "You already have a civil status visit" in said(again, "appointment.held")
