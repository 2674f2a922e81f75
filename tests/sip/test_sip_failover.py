"""deploy/kamailio.cfg in front of two `ivr sip` processes: after one is killed with SIGKILL,
a call first sent to it is set up on the other within 2 s, the dead node is marked down
within 10 s, and once restarted it is used again; and a phone reaches a node over TLS.

The nodes are real processes (`ivr sip`), so that a kill is a kill: no unregistering, no
goodbye, the port simply goes silent, as when a machine dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from baresip_phone import dialling
from sip_rig import (
    Kamailio,
    dispatcher_states,
    free_sip_port,
    free_udp_port,
    free_udp_ports,
    kamcmd,
    require,
    running_deployed_kamailio,
    tls_certificate,
    wait_until_nodes_up,
)
from sipp_caller import HangUp, Pause, scenario
from sqlalchemy import select

from ivr.config import Settings
from ivr.storage.db import Database
from ivr.storage.models import Call
from speech.audio import PHONE_RATE, silence, wav_bytes

PASSWORD = "node-secret"
IVR = Path(sys.executable).with_name("ivr")
SETUP_LIMIT_MS = 2000
"""The issue's goal: a call is set up within 2 s even when it was first sent to a dead node."""
DOWN_WITHIN_SECONDS = 10


@dataclass
class Node:
    """One `ivr sip` process; `start` again after `kill` restarts it on the same port."""

    folder: Path
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0
    logs: list[Path] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process; `wait_registered` waits for it to serve."""
        self.runs += 1
        log = self.folder / f"node-{self.port}-run-{self.runs}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(IVR), "sip"], stdout=out, stderr=subprocess.STDOUT, env=self.env
            )

    def wait_registered(self) -> None:
        log = self.logs[-1]
        wait_until(lambda: "registered at" in log.read_text(errors="replace"), 90, self.log)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def calls_answered(self) -> int:
        """Calls this run of the node answered (its log's line per call)."""
        return self.logs[-1].read_text(errors="replace").count(" answered as call ")

    def log(self) -> str:
        return self.logs[-1].read_text(errors="replace")[-3000:] if self.logs else ""


@dataclass(frozen=True)
class Rig:
    folder: Path
    kamailio: Kamailio
    tls_port: int
    certificate: Path
    nodes: list[Node]


def wait_until(condition: Callable[[], bool], seconds: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not so after {seconds} s:\n{why()}", pytrace=False)
        time.sleep(0.1)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, sip_data: Path, sip_flow: Path) -> Iterator[Rig]:
    folder = tmp_path_factory.mktemp("failover")
    certificate, key = tls_certificate(folder)
    tls_port = free_sip_port()
    ports = [free_udp_port(), free_udp_port()]
    tls = [
        "WITH_TLS",
        f"LISTEN_TLS=tls:127.0.0.1:{tls_port}",
        f'TLS_CERTIFICATE="{certificate}"',
        f'TLS_PRIVATE_KEY="{key}"',
        f'TLS_CA="{certificate}"',  # SIPp shows the same certificate as its own
    ]
    with ExitStack() as stack:
        kamailio = stack.enter_context(running_deployed_kamailio(folder, ports, PASSWORD, tls))
        nodes = []
        for number, port in enumerate(ports, start=1):
            rtp = free_udp_ports(40)
            env = {
                **os.environ,
                "CIVICLINE_DATA_DIR": str(sip_data),
                "CIVICLINE_FLOW_PATH": str(sip_flow),
                "CIVICLINE_SIP_REGISTRAR_PORT": str(kamailio.port),
                "CIVICLINE_SIP_PORT": str(port),
                "CIVICLINE_SIP_USER": f"civicline-{number}",
                "CIVICLINE_SIP_PASSWORD": PASSWORD,
                "CIVICLINE_SIP_ACCEPT_USERS": '["civicline"]',
                "CIVICLINE_SIP_RTP_PORT_MIN": str(rtp),
                "CIVICLINE_SIP_RTP_PORT_MAX": str(rtp + 39),
            }
            node = Node(folder, env, port)
            stack.callback(node.stop)
            nodes.append(node)
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_registered()
        wait_until_nodes_up(folder, ports)
        yield Rig(folder, kamailio, tls_port, certificate, nodes)


def place_calls(rig: Rig, count: int) -> list[float]:
    """`count` calls to the service, four a second, each hung up after 0.3 s; every call must
    succeed. Returns each call's set-up time (INVITE sent → 200 OK) as SIPp measured it."""
    folder = rig.folder / f"calls-{free_udp_port()}"
    folder.mkdir()
    (folder / "caller.xml").write_text(scenario([Pause(300), HangUp()]))
    done = subprocess.run(
        [require("sipp"), "-sf", "caller.xml", "-s", "civicline", f"127.0.0.1:{rig.kamailio.port}"]
        + ["-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_ports(4))]
        + ["-m", str(count), "-r", "4", "-timeout", "30", "-timeout_error", "-nostdin"]
        + ["-trace_rtt", "-rtt_freq", "1"],
        capture_output=True,
        text=True,
        timeout=45,
        cwd=folder,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = next(folder.glob("*_rtt.csv")).read_text().splitlines()[1:]
    return [float(line.split(";")[1]) for line in lines if line.count(";") == 2]


def test_a_phone_calls_over_tls_through_kamailio(rig: Rig, sip_data: Path, tmp_path: Path) -> None:
    """baresip (Debian's SIPp has no TLS) dials sips: Kamailio takes the call on its TLS
    listener and relays it over UDP to a node; the phone's hang-up comes back the same way."""
    caller = "+359888111333"
    voice = tmp_path / "quiet.wav"
    voice.write_bytes(wav_bytes(silence(2.0, PHONE_RATE), PHONE_RATE))
    uri = f"sip:civicline@127.0.0.1:{rig.tls_port};transport=tls"
    trust = f"sip_cafile {rig.certificate}\n"
    database = Database(Settings(data_dir=sip_data).resolved_database_url())
    try:
        with dialling(tmp_path, uri, caller, voice, trust) as phone:
            wait_until(lambda: "Call established" in phone.log(), 10, phone.log)
            phone.hang_up()
            wait_until(lambda: ended_calls(database, caller) == 1, 10, phone.log)
    finally:
        database.dispose()


def ended_calls(database: Database, caller: str) -> int:
    with database.session() as session:
        query = select(Call).where(Call.caller == caller, Call.ended_at.is_not(None))
        return len(session.scalars(query).all())


def test_calls_after_a_node_is_killed_are_set_up_within_2_s_and_it_serves_again_when_back(
    rig: Rig,
) -> None:
    live, dead = rig.nodes
    answered = live.calls_answered()
    dead.kill()
    killed_at = time.monotonic()

    setups = place_calls(rig, 4)

    assert len(setups) == 4
    assert max(setups) < SETUP_LIMIT_MS, setups
    assert live.calls_answered() == answered + 4, live.log()
    log = rig.kamailio.log.read_text(errors="replace")
    assert f"node {dead.uri} did not answer an INVITE" in log, log[-3000:]  # tried first
    wait_until(
        lambda: dispatcher_states(rig.folder)[dead.uri].startswith("I"),
        DOWN_WITHIN_SECONDS - (time.monotonic() - killed_at),
        lambda: kamcmd(rig.folder, "dispatcher.list"),
    )

    dead.start()
    dead.wait_registered()
    wait_until_nodes_up(rig.folder, [dead.port])
    place_calls(rig, 4)
    assert dead.calls_answered() == 2  # round robin again
