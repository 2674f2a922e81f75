"""`ivr worker --once` sends the queued SMS through the logging sender."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from ivr.storage.db import Database
from ivr.storage.models import Job, SmsOutbox
from ivr.storage.outbox import queue_sms

REPO = Path(__file__).resolve().parents[2]


def test_worker_once_sends_queued_sms(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database = Database(f"sqlite:///{data_dir / 'civicline.db'}")
    database.upgrade()
    queued_at = datetime.now(UTC)
    with database.session() as session:
        message = queue_sms(
            session,
            to="+40722111222",
            body="Primaria Demo: sesizarea are numarul 26-000001.",
            template="sms_ticket",
            language="ro",
            ticket_id=None,
            at=queued_at,
        )
        assert message is not None
    environment = {
        **os.environ,
        "CIVICLINE_DATA_DIR": str(data_dir),
        "CIVICLINE_DATABASE_URL": "",
        "CIVICLINE_FLOW_PATH": str(REPO / "callflows.yaml"),
    }
    result = subprocess.run(
        [str(Path(sys.executable).with_name("ivr")), "worker", "--once"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "1 jobs run" in result.stdout
    assert "26-000001" in result.stderr  # the logging sender logs the message
    with database.session(read_only=True) as session:
        sent = session.get_one(SmsOutbox, message.id)
        job = session.scalars(select(Job).where(Job.kind == "sms.send")).one()
        purge = session.scalars(select(Job).where(Job.kind == "privacy.purge")).one()
    database.dispose()
    assert purge.status == "queued" and purge.run_after > queued_at  # the daily purge, later
    assert sent.status == "sent" and (sent.provider_sid or "").startswith("LOG-")
    assert sent.sent_at is not None and sent.sent_at >= queued_at
    assert job.status == "done"
