"""The SIP tests' rig: Kamailio on a free port with a test configuration, an in-process
`ivr sip` node registered to it, and SIPp callers written as a list of steps.

Every process is started here and stopped at the end of its context; a missing kamailio,
sipp or baresip binary fails the test that needs it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.channels.sip.node import SipNode
from ivr.config import Settings

KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
DEPLOYED_CFG = Path(__file__).parents[2] / "deploy" / "kamailio.cfg"
DISPATCHER_DEST = re.compile(r"URI: (\S+)\s+FLAGS: (\w+)")
"""One node in the output of `kamcmd dispatcher.list`."""
AGENT_NUMBER = "+35982500100"
"""The Korean flow's service centre: Kamailio sends calls for it to the test's agent."""
KAMAILIO_CFG = """#!KAMAILIO
debug=2
log_stderror=yes
children=2
listen=udp:127.0.0.1:{port}
mpath="{modules}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
modparam("usrloc", "db_mode", 0)

request_route {{
  if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
  if (!sanity_check("17895", "7")) {{ xlog("L_WARN", "malformed request from $si\\n"); exit; }}
  if (is_method("REGISTER")) {{ if (!save("location")) {{ sl_reply_error(); }} exit; }}
  if (has_totag()) {{
    if (loose_route()) {{ t_relay(); exit; }}
    if (uri == myself) {{ if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }} }}
    if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); exit; }} forward(); exit; }}
    t_relay(); exit;
  }}
  if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
  if (is_method("INVITE")) {{ record_route(); }}
  if ($rU == "{agent}") {{ $du = "sip:127.0.0.1:{agent_port}"; t_relay(); exit; }}
  if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
  t_relay();
}}
"""


def require(binary: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin")
    if path is None:
        pytest.fail(f"{binary} is not installed (make test-system-packages)", pytrace=False)
    return path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_sip_port() -> int:
    """A port free for UDP and for TCP alike: a SIP agent such as baresip listens on both
    (and TLS over TCP), and a UDP-only probe once gave it a TCP port a client was using."""
    for _ in range(50):
        port = free_udp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for both UDP and TCP")


def free_baresip_port() -> int:
    """A port for baresip's `sip_listen`: free for UDP and TCP, and the next one free for TCP,
    where baresip's TLS listener goes (SIP port + 1)."""
    for _ in range(50):
        port = free_sip_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for baresip's SIP and TLS listeners")


def free_udp_ports(count: int) -> int:
    """The first of `count` consecutive free UDP ports."""
    for _ in range(50):
        first = free_udp_port()
        try:
            probes = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
            try:
                for offset, probe in enumerate(probes):
                    probe.bind(("127.0.0.1", first + offset))
            finally:
                for probe in probes:
                    probe.close()
        except OSError:
            continue
        return first
    raise RuntimeError(f"no {count} consecutive free UDP ports")


def port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass(frozen=True)
class Kamailio:
    port: int
    agent_port: int
    log: Path


@contextmanager
def running_kamailio(folder: Path) -> Iterator[Kamailio]:
    """Kamailio with the tests' own small configuration (a registrar; calls for the Korean
    flow's service centre go to the test's agent)."""
    port, agent_port = free_udp_port(), free_udp_port()
    config = folder / "kamailio.cfg"
    config.write_text(
        KAMAILIO_CFG.format(
            port=port, modules=KAMAILIO_MODULES, agent=AGENT_NUMBER, agent_port=agent_port
        )
    )
    with _kamailio(folder, config, port, agent_port, []) as running:
        yield running


@contextmanager
def running_deployed_kamailio(
    folder: Path, nodes: list[int], password: str, more_defines: Sequence[str] = ()
) -> Iterator[Kamailio]:
    """Kamailio with deploy/kamailio.cfg, its dispatcher set being `nodes` (SIP ports);
    `more_defines` are further -A NAME=VALUE (its control socket is always in `folder`)."""
    port, agent_port = free_udp_port(), free_udp_port()
    listing = folder / "dispatcher.list"
    listing.write_text("".join(f"1 sip:127.0.0.1:{node}\n" for node in nodes))
    defines = [
        f"LISTEN=udp:127.0.0.1:{port}",
        f'DISPATCHER_LIST="{listing}"',
        f'PBX="sip:127.0.0.1:{agent_port}"',
        f'CTL_SOCKET="unix:{control_socket(folder)}"',
        *more_defines,
    ]
    with _kamailio(
        folder, DEPLOYED_CFG, port, agent_port, defines, {"CIVICLINE_SIP_PASSWORD": password}
    ) as running:
        yield running


def control_socket(folder: Path) -> Path:
    """Where deploy/kamailio.cfg's ctl module listens when started by the rig in `folder`."""
    return folder / "kamailio.ctl"


def kamcmd(folder: Path, *command: str) -> str:
    """An RPC command (e.g. `dispatcher.list`) to the rig's deployed Kamailio in `folder`."""
    done = subprocess.run(
        [require("kamcmd"), "-s", f"unix:{control_socket(folder)}", *command],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return done.stdout


def dispatcher_states(folder: Path) -> dict[str, str]:
    """Each dispatcher node's state flags by URI, e.g. "AP" (active, probed) or "IP"
    (inactive, probed), from the deployed Kamailio started in `folder`."""
    return dict(DISPATCHER_DEST.findall(kamcmd(folder, "dispatcher.list")))


def wait_until_nodes_up(folder: Path, ports: list[int], seconds: float = 10) -> None:
    """Until the dispatcher holds every node in `ports` active: it pings them every few
    seconds, and a ping sent before a node was listening marked that node down."""
    uris = [f"sip:127.0.0.1:{port}" for port in ports]
    deadline = time.monotonic() + seconds
    while not all(dispatcher_states(folder).get(uri, "").startswith("A") for uri in uris):
        if time.monotonic() > deadline:
            pytest.fail(f"nodes not up:\n{kamcmd(folder, 'dispatcher.list')}", pytrace=False)
        time.sleep(0.1)


def tls_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files in `folder`)."""
    certificate, key = folder / "tls.crt", folder / "tls.key"
    request = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [require("openssl"), *request, *subject, "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(certificate)],
        capture_output=True,
        timeout=30,
        check=True,
    )
    return certificate, key


@contextmanager
def _kamailio(
    folder: Path,
    config: Path,
    port: int,
    agent_port: int,
    defines: list[str],
    env: dict[str, str] | None = None,
) -> Iterator[Kamailio]:
    binary = require("kamailio")
    log = folder / "kamailio.log"
    arguments = [binary, "-f", str(config), "-DD", "-E", "-w", str(folder)]
    for define in defines:
        arguments += ["-A", define]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*arguments, "-P", str(folder / "pid")],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # its workers in a process group of their own
        )
    try:
        deadline = time.monotonic() + 10
        while not port_taken(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"kamailio did not start:\n{log.read_text()[-3000:]}", pytrace=False)
            time.sleep(0.05)
        yield Kamailio(port, agent_port, log)
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop Kamailio and every worker it forked: now and then a worker hangs on SIGTERM
    (a futex wait after "signal 15 received") and would outlive the tests, orphaned."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def node_settings(folder: Path, flow: Path, kamailio: Kamailio, **more: object) -> Settings:
    rtp = free_udp_ports(40)
    fields: dict[str, object] = {
        "data_dir": folder,
        "flow_path": flow,
        "sip_registrar_port": kamailio.port,
        "sip_port": free_udp_port(),
        "sip_rtp_port_min": rtp,
        "sip_rtp_port_max": rtp + 39,
    }
    return Settings(**{**fields, **more})  # type: ignore[arg-type]


@contextmanager
def running_node(settings: Settings) -> Iterator[SipNode]:
    node = SipNode.from_settings(settings)
    stop = threading.Event()
    thread = threading.Thread(target=node.run_until, args=(stop,), name="sip-node", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # it registers, then loads its models (slow on a busy machine)
    while not node.ready.is_set():
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the SIP node did not register and load its models", pytrace=False)
        time.sleep(0.05)
    try:
        yield node
    finally:
        stop.set()
        thread.join(timeout=15)
        node.services.database.dispose()
