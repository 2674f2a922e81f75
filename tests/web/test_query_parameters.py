"""Every query parameter of every page: sensible values open the page, nonsense answers 400
naming the parameter (never a 500, never a silent default)."""

from __future__ import annotations

import pytest
from site_data import PASSWORD, build_site, login, token

CURSOR = "2026-12-01T10:00:00+00:00|call-roads"
TICKET_CURSOR = "2026-12-01T10:00:00+00:00|7"
NONSENSE_DAYS = ["yesterday", "2026-13-01", "2026-02-30", "20261201", "0001-01-01", "9999-12-31"]
NONSENSE_CURSORS = ["yesterday|1", "2026-12-01T10:00:00|1", "2026-12-01T10:00:00+00:00|a b", "|"]

CALL_FILTERS = {
    "start": (["2026-12-01"], NONSENSE_DAYS),
    "end": (["2026-12-31"], NONSENSE_DAYS),
    "department": (["roads"], ["nowhere", "roads'--"]),
    "outcome": (["ticket", "swept"], ["won"]),
    "language": (["ro", "en"], ["xx"]),
    "caller": (["0722 111 222", "+40 (722) 111-222"], ["<script>", "1" * 41]),
    "has_ticket": (["yes", "no"], ["maybe"]),
    "intent": (["main:report"], ["nowhere:nothing"]),
}
TICKET_FILTERS = {
    "status": (["registered", "resolved"], ["lost"]),
    "department": (["roads"], ["nowhere"]),
    "category": (["pothole"], ["unicorns"]),
    "ref": (["26-000001", "26 000001"], ["'; drop table", "2" * 21]),
    "start": (["2026-12-01"], NONSENSE_DAYS),
    "end": (["2026-12-31"], NONSENSE_DAYS),
}
PARAMETERS = {
    "/": {
        "days": (["1", "7", "92", "366"], ["0", "367", "-1", "seven", "9999999999999999999", "1.5"])
    },
    "/calls": {**CALL_FILTERS, "before": ([CURSOR], NONSENSE_CURSORS)},
    "/calls.csv": CALL_FILTERS,
    "/tickets": {
        **TICKET_FILTERS,
        "before": ([TICKET_CURSOR], [*NONSENSE_CURSORS, "2026-12-01T10:00:00+00:00|x"]),
    },
    "/tickets.csv": TICKET_FILTERS,
    "/callbacks": {"day": (["2026-12-05"], NONSENSE_DAYS)},
    "/live/stream": {"once": (["1"], ["yes", "2"])},
    "/audit": {
        "before": (["1", "9223372036854775807"], ["9999999999999999999", "0", "-5", "x", "1e3"]),
        "actor": (["super"], ["a" * 201, "bad\x01"]),
        "action": (["recording"], ["a" * 201]),
    },
}
CASES = [
    (path, name, value, good)
    for path, names in PARAMETERS.items()
    for name, (goods, bads) in names.items()
    for good, values in ((True, goods), (False, bads))
    for value in values
]


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    """One site for the module: these pages only read (an export adds an audit row)."""
    site = build_site(tmp_path_factory.mktemp("site"))
    client = site.app.test_client()
    login(client, "admin")
    return client


def _get(client, path, query):
    response = client.get(path, query_string=query)
    body = response.get_data(as_text=True)
    response.close()
    return response.status_code, body


@pytest.mark.parametrize(("path", "name", "value", "good"), CASES)
def test_each_parameter_of_each_page(admin, path, name, value, good):
    query = {name: value}
    if path == "/live/stream" and name != "once":
        query["once"] = "1"
    status, body = _get(admin, path, query)
    if good:
        assert status == 200, body
    else:
        assert status == 400 and f"The parameter &#39;{name}&#39; takes" in body, body


@pytest.mark.parametrize("path", list(PARAMETERS))
def test_a_parameter_given_twice_is_refused(admin, path):
    name = next(iter(PARAMETERS[path]))
    value = PARAMETERS[path][name][0][0]
    query = [(name, value), (name, value)]
    assert _get(admin, path, query)[0] == 400


def test_the_audit_page_the_issue_named(admin):
    status, body = _get(admin, "/audit", {"before": "9999999999999999999"})
    assert status == 400 and "a whole number from 1 to 9223372036854775807" in body


def test_the_phone_transcript_checks_its_cursor(tmp_path):
    site = build_site(tmp_path)
    client = site.app.test_client()
    login(client, "super")
    headers = {"X-CSRFToken": token(client, "/phone")}
    call = client.post("/phone/calls", headers=headers).get_json()["call"]
    path = f"/phone/calls/{call}/transcript"
    assert client.get(path, query_string={"after": "0"}).status_code == 200
    for bad in ("-1", "x", "99999999999999999999"):
        assert client.get(path, query_string={"after": bad}).status_code == 400


def test_login_takes_only_a_path_on_this_site_as_next(site):
    client = site.app.test_client()
    csrf = token(client, "/login")
    reply = client.post(
        "/login?next=https://evil.example/",
        data={"username": "super", "password": PASSWORD, "csrf_token": csrf},
    )
    assert reply.status_code == 302 and reply.headers["Location"] == "/"
