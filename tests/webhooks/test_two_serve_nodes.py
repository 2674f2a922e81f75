"""Two `ivr serve` nodes on one PostgreSQL behind real nginx (Debian's binary, with the
shipped deploy/civicline-proxy.conf): a Twilio call whose requests alternate between the
nodes, a call whose stream's node is killed (`kill -9`) mid-call and goes on on the other, and
a webhook whose node dies with it in hand, answered by the other (the killed node is started
again for it).

The faithful Twilio caller (`ivr.twilio_caller`) places both calls through nginx, which
round-robins every request (webhooks and Media Streams alike) over the two nodes; the nodes
know their public URL from nginx's X-Forwarded headers (CIVICLINE_TRUSTED_PROXIES=1), so
Twilio's signatures are checked against the URL the caller requested. The nodes run on the
machine's clock, so the test flow (the Korean one, its prompts unchanged) puts its city in a
zone where it is midday now, with the office open every day, and transfers the caller to the
operator once the report is filed; the transfer is not answered, so the call goes on to the
callback node and ends. Keys are enough to walk it: the flow's language is keypad-only here,
so no node spends seconds loading a speech model (the recording of a description is audio).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from local_servers import free_port, wait_until_answering
from pgserver import PostgresServer
from sqlalchemy import select
from twilio_signing import AUTH_TOKEN, KOREAN_FLOW

from ivr.calls import stale
from ivr.calls.runner import CallServices
from ivr.storage import calls as stored_calls
from ivr.storage import line_nodes
from ivr.storage import twilio as twilio_store
from ivr.storage.db import Database
from ivr.storage.models import Call, Job, Ticket, TwilioCallStatus, TwilioRecording
from ivr.twilio_caller import TwilioCaller
from ivr.twilio_caller.line import Request
from ivr.twilio_caller.webhooks import Webhooks
from menus.registry import FlowRegistry
from speech.intents import PhraseMatcher

ROOT = Path(__file__).resolve().parents[2]
NGINX = Path("/usr/sbin/nginx")
START_SECONDS = 60.0
CALLER = "+35988123456"
SPEED = 25.0
ESTABLISHED = "01"
"""A TCP connection's state in /proc/net/tcp."""


@dataclass
class Node:
    """One `ivr serve`, in a process group of its own (gunicorn's arbiter and worker)."""

    port: int
    data_dir: Path
    environment: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the node; `wait` for it to answer."""
        ivr = str(Path(sys.executable).with_name("ivr"))
        self.process = subprocess.Popen(
            [ivr, "serve", "--port", str(self.port), "--threads", "16"],
            env=self.environment,
            cwd=self.data_dir,
            stdout=subprocess.DEVNULL,
            stderr=(self.data_dir / "serve.log").open("ab"),
            start_new_session=True,
        )

    def wait(self) -> None:
        assert self.process is not None
        wait_until_answering(
            f"http://{self.address}/health",
            self.process,
            self.data_dir / "serve.log",
            START_SECONDS,
        )

    def revive(self) -> None:
        """Start the node again if an earlier test killed it."""
        assert self.process is not None
        if self.process.poll() is not None:
            self.start()
            self.wait()

    def worker_name(self) -> str:
        """The node name its gunicorn worker beats under in `line_nodes`."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        [worker] = children.read_text().split()
        return f"serve:{socket.gethostname()}:{worker}"

    def freeze(self) -> None:
        """The node stops running (SIGSTOP): connections reach it, nothing answers them."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def kill(self) -> None:
        """The node dies at once, as a machine does: SIGKILL to the arbiter and its worker."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)

    def holds_a_connection(self) -> bool:
        """Some client (nginx, carrying a stream) is connected to this node right now."""
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if int(local.rsplit(":", 1)[1], 16) == self.port and state == ESTABLISHED:
                    return True
        return False


@dataclass
class Cluster:
    url: str
    """nginx, the only way in."""
    nodes: list[Node]
    database: Database
    access_log: Path
    flow: Path
    seen: int = field(default=0)

    def requests(self) -> list[tuple[str, str, str]]:
        """(node address, path, status) of each request nginx passed on since the last look,
        in the order they ended (a stream's when it closed); the node is the one that
        answered (nginx names every node it tried)."""
        return [(tried.split(", ")[-1], path, status) for tried, path, status in self.tries()]

    def tries(self) -> list[tuple[str, str, str]]:
        """(every node nginx tried, path, status) of each request since the last look."""
        lines = self.access_log.read_text().splitlines()
        new, self.seen = lines[self.seen :], len(lines)
        return [(tried, path, status) for tried, path, status in (x.split("|") for x in new)]

    def logged(self, count: int) -> list[tuple[str, str, str]]:
        """`tries` once nginx has logged `count` requests (it logs each after its answer)."""
        deadline = time.monotonic() + START_SECONDS
        found = self.tries()
        while len(found) < count:
            assert time.monotonic() < deadline, f"nginx logged {found}, not {count} requests"
            time.sleep(0.01)
            found += self.tries()
        return found

    def node_holding_a_stream(self) -> Node:
        [holder] = [node for node in self.nodes if node.holds_a_connection()]
        return holder


def drain_health_checks(cluster: Cluster) -> None:
    """Read past the health checks of start-up: nginx logs a request after its answer has
    gone, so the one that answered may reach the log a moment after the client saw it."""
    deadline = time.monotonic() + START_SECONDS
    while not any(p == "/health" and s == "200" for _, p, s in cluster.requests()):
        if time.monotonic() > deadline:
            raise AssertionError("nginx never logged the health check it answered")
        time.sleep(0.05)


def midday_zone(now: datetime) -> str:
    """A time zone where it is about midday at `now` (Etc/GMT-3 is UTC+3)."""
    offset = 12 - now.astimezone(UTC).hour
    return f"Etc/GMT{-offset:+d}"


def cluster_flow(path: Path) -> Path:
    """The Korean test flow, open every day all day in a zone where it is midday, and going
    on to the operator after a report is filed."""
    flow = yaml.safe_load(KOREAN_FLOW.read_text())
    flow["city"]["timezone"] = midday_zone(datetime.now(UTC))
    office = flow["schedules"]["office"]
    office["weekly"] = {day: ["00:00-24:00"] for day in office["weekly"] | {"sat": 0, "sun": 0}}
    office["public_holidays"] = False
    flow["nodes"]["report_file"]["next"] = "operator"
    del flow["languages"]["ko"]["model"]  # keypad only: no node loads a speech model
    path.write_text(yaml.safe_dump(flow, allow_unicode=True))
    return path


def nginx_conf(root: Path, nodes: list[Node], port: int) -> Path:
    """A private nginx (pid, logs and temporary files under `root`, no root needed) in front
    of `nodes`, serving the shipped proxy configuration. A node that failed is tried again
    after 1 s (deploy/nginx.conf: 10 s), as the tests start killed nodes again."""
    servers = "\n".join(f"        server {n.address} max_fails=1 fail_timeout=1s;" for n in nodes)
    conf = root / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 256; }}
http {{
    log_format nodes '$upstream_addr|$uri|$status';
    access_log {root}/access.log nodes;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream civicline {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        include {ROOT / "deploy" / "civicline-proxy.conf"};
    }}
}}
"""
    )
    return conf


@pytest.fixture(scope="module")
def cluster(
    postgres_server: PostgresServer,
    built_prompts: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    assert NGINX.exists(), "install Debian's nginx package (apt-get install nginx)"
    root = tmp_path_factory.mktemp("cluster")
    url = postgres_server.create_database(f"cluster_{os.getpid()}")
    database = Database(url)
    database.upgrade()
    flow = cluster_flow(root / "flow.yaml")
    nodes = []
    for name in ("a", "b"):
        data_dir = root / name
        shutil.copytree(built_prompts, data_dir / "prompts")
        environment = {
            **os.environ,
            "CIVICLINE_DATA_DIR": str(data_dir),
            "CIVICLINE_DATABASE_URL": url,
            "CIVICLINE_FLOW_PATH": str(flow),
            "CIVICLINE_PUBLIC_URL": "",
            "CIVICLINE_TRUSTED_PROXIES": "1",
            "CIVICLINE_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "CIVICLINE_SECRET_KEY": "cluster-test",
        }
        nodes.append(Node(free_port(), data_dir, environment))
    port = free_port()
    nginx_root = root / "nginx"
    nginx_root.mkdir()
    conf = nginx_conf(nginx_root, nodes, port)
    nginx = None
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait()
        nginx = subprocess.Popen(
            [
                str(NGINX),
                "-p",
                str(nginx_root),
                "-c",
                str(conf),
                "-e",
                str(nginx_root / "error.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_answering(f"http://127.0.0.1:{port}/health", nginx, nginx_root / "error.log")
        cluster = Cluster(
            f"http://127.0.0.1:{port}", nodes, database, nginx_root / "access.log", flow
        )
        drain_health_checks(cluster)
        yield cluster
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=20)
        for node in nodes:
            node.stop()
        database.dispose()


def sweep_after_beats_missed(cluster: Cluster) -> list[str]:
    """The worker's sweep of calls lost with their node, once every node has missed its beats
    (`NODE_TIMEOUT` from now): the calls it ended."""
    services = CallServices(cluster.database, FlowRegistry(cluster.flow), PhraseMatcher())
    now = datetime.now(UTC) + line_nodes.NODE_TIMEOUT + timedelta(seconds=1)
    return stale.sweep(services, now=now, limit=timedelta(days=1))


def caller(cluster: Cluster) -> TwilioCaller:
    return TwilioCaller(
        cluster.url,
        auth_token=AUTH_TOKEN,
        caller=CALLER,
        speed=SPEED,
        voice="ko",
        talk_seconds=1.0,
        dial_outcome="no-answer",
    )


def report_up_to_the_confirmation(call: TwilioCaller) -> None:
    """Welcome, recording notice, main menu: a report (1), district 3, its description."""
    call.dial()
    call.listen()
    call.press("1")
    call.listen()
    call.press("3")
    call.listen()
    call.say("나무가 쓰러졌어요")
    call.listen()


def file_it(call: TwilioCaller) -> None:
    """At the confirmation: file the report (1); the operator does not answer, the callback
    node finds no officer free, goodbye."""
    call.press("1")
    call.listen()
    call.transfer("no-answer")
    call.listen()
    assert call.ended and call.ended_by == "ivr", "\n".join(map(str, call.transcript.entries))


def test_a_call_whose_requests_alternate_between_two_nodes_behind_nginx(cluster: Cluster) -> None:
    with caller(cluster) as call:
        report_up_to_the_confirmation(call)
        file_it(call)
        sid = call.call_sid
    recording_sid = "RE" + uuid.uuid4().hex
    webhooks = Webhooks(cluster.url, cluster.url, AUTH_TOKEN, timeout=10)
    recorded = {
        "CallSid": sid,
        "AccountSid": "AC" + uuid.uuid4().hex,
        "RecordingSid": recording_sid,
        "RecordingStatus": "completed",
        "RecordingUrl": f"https://api.twilio.com/Recordings/{recording_sid}",
    }
    _, answer = webhooks.send(Request(f"{cluster.url}/twilio/recording?kind=call"), recorded)
    assert answer.status_code == 204

    served = cluster.requests()  # one request at a time: in the order they were made
    assert [path for _, path, _ in served] == [
        "/twilio/voice",
        "/twilio/stream",
        "/twilio/next",  # the transfer
        "/twilio/dial-result",
        "/twilio/stream",  # the callback node, goodbye
        "/twilio/next",
        "/twilio/status",
        "/twilio/recording",
    ]
    assert {status for *_, status in served} <= {"200", "101", "204"}, served
    nodes = [node for node, *_ in served]
    assert set(nodes) == {node.address for node in cluster.nodes}
    assert all(one != other for one, other in itertools.pairwise(nodes)), served

    with cluster.database.session(read_only=True) as db:
        call_row = db.get_one(Call, sid)
        [ticket] = db.scalars(select(Ticket).where(Ticket.call_id == sid)).all()
        kinds = [(row.kind, row.type) for row in stored_calls.call_events(db, sid)]
        statuses = db.scalars(
            select(TwilioCallStatus.status).where(TwilioCallStatus.call_sid == sid)
        )
        recording = db.get_one(TwilioRecording, recording_sid)
        downloads = db.scalars(select(Job.payload).where(Job.kind == "twilio.recording")).all()
    assert call_row.ended_at is not None and call_row.ticket_id == ticket.id
    assert (ticket.draft, ticket.category, ticket.district) == (False, "fallen_tree", 3)
    assert ("action", "Transfer") in kinds and ("event", "TransferFinished") in kinds
    assert kinds.count(("event", "CallerHungUp")) == 0 and ("action", "HangUp") in kinds
    assert list(statuses) == ["completed"]
    assert recording.call_sid == sid and {"recording_sid": recording_sid} in downloads


def test_a_call_whose_stream_node_is_killed_goes_on_on_the_other_node(cluster: Cluster) -> None:
    with caller(cluster) as call:
        report_up_to_the_confirmation(call)
        dead = cluster.node_holding_a_stream()
        with cluster.database.session(read_only=True) as db:
            assert db.get_one(Call, call.call_sid).carried_by == dead.worker_name()
        dead.kill()
        assert sweep_after_beats_missed(cluster) == []  # Twilio is moving it: not ended
        call.listen(reply=True)  # the stream broke: Twilio posts the <Connect> action
        file_it(call)
        sid = call.call_sid
    [alive] = [node for node in cluster.nodes if node is not dead]
    served = cluster.requests()
    after = served[[path for _, path, _ in served].index("/twilio/next") :]
    assert {node for node, *_ in after} == {alive.address}
    assert [(path, status) for _, path, status in after][:6] == [
        ("/twilio/next", "200"),  # the broken stream: the call resumes here
        ("/twilio/stream", "101"),  # the apology, the question again; the transfer closes it
        ("/twilio/next", "200"),
        ("/twilio/dial-result", "200"),
        ("/twilio/stream", "101"),  # the goodbye: the server closed it after its last mark
        ("/twilio/next", "200"),
    ]

    with cluster.database.session(read_only=True) as db:
        [ticket] = db.scalars(select(Ticket).where(Ticket.call_id == sid)).all()
        rows = stored_calls.call_events(db, sid)
    said = [row.payload["prompt"] for row in rows if row.type == "Say"]
    resumed = said.index("texts.resumed")
    assert said[resumed - 1 : resumed + 2] == [
        "report_confirm.prompt",
        "texts.resumed",
        "report_confirm.prompt",
    ]
    assert [row.type for row in rows].count("CallResumed") == 1
    assert (ticket.draft, ticket.category, ticket.district) == (False, "fallen_tree", 3)
    assert ticket.recording_id is not None  # said on the dead node, kept


def test_a_webhook_taken_by_a_node_that_dies_before_answering_is_answered_by_the_other(
    cluster: Cluster,
) -> None:
    """nginx sent a status callback to a node that took the connection and died before
    answering: it is sent on to the other node (`proxy_next_upstream ... non_idempotent`),
    and Twilio gets its answer, not a 502."""
    for node in cluster.nodes:
        node.revive()
    cluster.requests()
    victim, other = cluster.nodes
    webhooks = Webhooks(cluster.url, cluster.url, AUTH_TOKEN, timeout=20)
    sid = "CA" + uuid.uuid4().hex
    victim.freeze()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # nginx takes turns, once it counts the revived node up again (after fail_timeout)
        for sequence in range(100):
            form = {"CallSid": sid, "CallStatus": "ringing", "SequenceNumber": str(sequence)}
            sent = pool.submit(webhooks.send, Request(f"{cluster.url}/twilio/status"), form)
            while not sent.done() and not victim.holds_a_connection():
                time.sleep(0.01)
            if not sent.done():
                break
            time.sleep(0.1)
        assert victim.holds_a_connection(), "nginx never sent a request to the frozen node"
        victim.kill()  # with the request in its hands
        _, answer = sent.result(timeout=30)
    webhooks.close()
    assert answer.status_code == 204
    served = cluster.logged(sequence + 1)
    assert served[-1] == (f"{victim.address}, {other.address}", "/twilio/status", "204"), served
    with cluster.database.session(read_only=True) as db:
        kept = db.scalars(
            select(TwilioCallStatus.sequence_number).where(TwilioCallStatus.call_sid == sid)
        )
        assert int(form["SequenceNumber"]) in set(kept)


def test_a_caller_who_hangs_up_as_the_stream_node_dies_is_ended_once_its_beats_stop(
    cluster: Cluster,
) -> None:
    """The worker holding the stream dies as the caller hangs up: Twilio reports the call
    completed (to the living node), which leaves it to the stream; the worker's sweep ends it
    as soon as the dead worker has missed its beats, its report kept as a draft."""
    for node in cluster.nodes:
        node.revive()
    with caller(cluster) as call:
        report_up_to_the_confirmation(call)
        holder = cluster.node_holding_a_stream()
        holder.kill()
        call.hang_up()
        sid = call.call_sid
    with cluster.database.session(read_only=True) as db:
        assert db.get_one(Call, sid).ended_at is None
        assert twilio_store.call_status(db, sid) == "completed"
    assert sid in sweep_after_beats_missed(cluster)
    with cluster.database.session(read_only=True) as db:
        call_row = db.get_one(Call, sid)
        [ticket] = db.scalars(select(Ticket).where(Ticket.call_id == sid)).all()
    assert call_row.ended_at is not None and call_row.outcome == "swept"
    assert (ticket.draft, ticket.category, ticket.district) == (True, "fallen_tree", 3)
