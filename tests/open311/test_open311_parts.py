"""Open311 parts without a server process: the XML writer, our client reading answers
shaped as the spec's examples, and the rate limits and filing on both databases (the
Flask test client, a fixed clock so a minute never turns mid-test)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ivr.config import Settings
from ivr.open311 import client, formats, keys
from ivr.storage.models import AuditEntry, Open311Hit, Open311Report, Ticket
from ivr.web import create_app

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 5, 10, 15, 20, tzinfo=UTC)
AGO = timedelta(minutes=10)

POSTED = b"""<?xml version="1.0" encoding="utf-8"?>
<service_requests>
  <request><token>4711</token><service_notice>We will look at it.</service_notice>
  <account_id/></request>
</service_requests>"""
LISTED = b"""<?xml version="1.0" encoding="utf-8"?>
<service_requests>
  <request><service_request_id>638344</service_request_id><status>closed</status>
  <status_notes>Fixed.</status_notes><agency_responsible>Roads</agency_responsible>
  <updated_datetime>2026-12-04T12:00:00-08:00</updated_datetime></request>
  <request><service_request_id>638349</service_request_id><status>open</status>
  <status_notes/></request>
</service_requests>"""


def test_documents_are_written_as_the_spec_s_xml() -> None:
    text = formats.render(
        "service_definition",
        {"service_code": "x", "attributes": [{"required": False, "values": [{"key": "1"}]}]},
        "xml",
    )
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode())
    assert root.findtext("attributes/attribute/required") == "false"
    assert root.findtext("attributes/attribute/values/value/key") == "1"
    assert (
        ET.fromstring(formats.errors([(400, "bad")], "xml").encode()).findtext("error/description")
        == "bad"
    )
    assert formats.errors([(403, "no key")], "json") == '[{"code": 403, "description": "no key"}]'


def test_our_client_reads_answers_shaped_as_the_spec_s_examples() -> None:
    assert client.read_requests(POSTED) == [
        {"token": "4711", "service_notice": "We will look at it.", "account_id": ""}
    ]
    rows = client.read_requests(LISTED)
    assert [row["service_request_id"] for row in rows] == ["638344", "638349"]
    assert rows[0]["status_notes"] == "Fixed." and rows[1]["status_notes"] == ""
    for garbage in (b"<html>oops</html>", b"not xml", b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'):
        with pytest.raises(client.Unavailable):
            client.read_requests(garbage)


def test_rate_limits_per_key_and_per_address_and_filing_on_both_databases(
    any_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=any_url,
        flow_path=Path(shutil.copy(ROOT / "callflows.yaml", tmp_path / "callflows.yaml")),
        secret_key="test",
        open311_key_per_minute=2,
        open311_address_per_minute=6,
    )
    app = create_app(settings, clock=lambda: NOW)
    database = app.extensions["civicline"].database
    try:
        with database.session() as session:
            key = keys.issue(session, "app", "test", NOW)
            session.add(Open311Hit(key="address:gone", window_start=NOW - AGO, count=3))
        web = app.test_client()
        report = {"api_key": key, "service_code": "pothole", "attribute[district]": "4"}
        assert web.post("/open311/v2/requests.json", data=report).status_code == 200
        assert web.post("/open311/v2/requests.xml", data=report).status_code == 200
        refused = web.post("/open311/v2/requests.json", data=report)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "40"
        assert refused.json == [{"code": 429, "description": refused.json[0]["description"]}]
        assert "this api_key" in refused.json[0]["description"]
        listed = web.get("/open311/v2/requests.json").json
        assert [row["district"] for row in listed] == [4, 4]
        assert web.get("/open311/v2/services.json").status_code == 200
        assert web.get("/open311/v2/services.xml").status_code == 200  # the sixth request
        blocked = web.get("/open311/v2/services.xml")
        assert blocked.status_code == 429 and b"from this address" in blocked.data
        with database.session(read_only=True) as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 2
            assert session.scalar(select(func.count()).select_from(Open311Report)) == 2
            assert session.get(Open311Hit, ("address:gone", NOW - AGO)) is None  # cleared
            actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
            assert list(actions) == ["open311.key.add", "open311.report", "open311.report"]
    finally:
        database.dispose()
