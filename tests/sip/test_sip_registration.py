"""`ivr sip` when it cannot register: a registrar that never answers, a wrong password, no
password at all. Each ends the process with one line that says which (exit code 1), within
10 s of its first REGISTER, and SIGTERM ends the wait for a silent registrar at once.
(Bounds count from the first REGISTER: on a busy test machine the imports alone take
seconds.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sip_rig import Kamailio, free_udp_port, running_deployed_kamailio
from sipp_caller import call

PASSWORD = "registrar-secret"
REPO = Path(__file__).parents[2]
IVR = Path(sys.executable).parent / "ivr"


def node_command(
    folder: Path, flow: Path, registrar_port: int, password: str | None, *, level: str, user: str
) -> dict[str, object]:
    """`ivr sip` as a newcomer starts it, and its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICLINE_")}
    env |= {"PYTHONPATH": str(REPO), "CIVICLINE_DATA_DIR": str(folder)}
    if password is not None:
        env["CIVICLINE_SIP_PASSWORD"] = password
    args = [str(IVR), "--log-level", level, "sip", "--user", user]
    args += ["--registrar", f"127.0.0.1:{registrar_port}", "--port", str(free_udp_port())]
    args += ["--flow", str(flow)]
    return {"args": args, "env": env, "cwd": folder, "text": True}


def started(
    folder: Path,
    flow: Path,
    port: int,
    password: str | None,
    *,
    level: str = "WARNING",
    user: str = "civicline",
) -> subprocess.Popen[str]:
    command = node_command(folder, flow, port, password, level=level, user=user)
    return subprocess.Popen(
        **command,  # type: ignore[call-overload]
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def given_up(node: subprocess.Popen[str], within: float) -> list[str]:
    """The lines `ivr sip` printed before it gave up (exit code 1) within `within` s."""
    try:
        output, _ = node.communicate(timeout=within)
    finally:
        node.kill()
    assert node.returncode == 1, output
    return [line for line in output.splitlines() if line]


@pytest.fixture
def waiting_node(sip_flow: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`ivr sip` and the port of its registrar, a UDP socket that reads and never answers,
    once the first REGISTER has come."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.settimeout(20)
        port = silent.getsockname()[1]
        node = started(tmp_path, sip_flow, port, PASSWORD)
        try:
            assert silent.recv(65535).startswith(b"REGISTER ")
            yield node, port
        finally:
            node.kill()
            node.wait()


@pytest.fixture(scope="module")
def registrar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kamailio]:
    """deploy/kamailio.cfg, challenging REGISTERs with PASSWORD (its dispatcher set: one
    node nobody runs)."""
    with running_deployed_kamailio(
        tmp_path_factory.mktemp("registrar"), [free_udp_port()], PASSWORD
    ) as running:
        yield running


def test_a_registrar_that_does_not_answer_is_named(
    waiting_node: tuple[subprocess.Popen[str], int],
) -> None:
    node, port = waiting_node
    assert given_up(node, within=10) == [
        f"Error: civicline could not register at 127.0.0.1:{port}: the registrar did not "
        "answer within 5 s (is it running there? CIVICLINE_SIP_REGISTRAR_HOST and _PORT)"
    ]


def test_sigterm_ends_the_wait_for_a_silent_registrar_at_once(
    waiting_node: tuple[subprocess.Popen[str], int],
) -> None:
    node, _ = waiting_node
    node.send_signal(signal.SIGTERM)
    output, _ = node.communicate(timeout=3)  # not the 5 s it would wait
    assert node.returncode == 0, output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        (
            "wrong",
            "the registrar refused the password of 'civicline' (401 Unauthorized): "
            "check CIVICLINE_SIP_USER and CIVICLINE_SIP_PASSWORD",
        ),
        (None, "the registrar asks for a password and CIVICLINE_SIP_PASSWORD is not set"),
    ],
)
def test_a_refused_password_is_named(
    registrar: Kamailio, sip_flow: Path, tmp_path: Path, password: str | None, reason: str
) -> None:
    lines = given_up(started(tmp_path, sip_flow, registrar.port, password), within=20)
    assert lines == [f"Error: civicline could not register at 127.0.0.1:{registrar.port}: {reason}"]


def test_sigterm_unregisters_a_registered_node(registrar: Kamailio, tmp_path: Path) -> None:
    flow = REPO / "callflows.yaml"  # keypad only: no model to load after registering
    node = started(tmp_path, flow, registrar.port, PASSWORD, level="INFO", user="civicline-9")
    try:
        assert node.stdout is not None
        for line in node.stdout:  # ends if the node exits instead
            if "registered at" in line:
                break
        node.send_signal(signal.SIGTERM)
        output, _ = node.communicate(timeout=5)
    finally:
        node.kill()
    assert node.returncode == 0, output
    # Kamailio no longer knows where civicline-9 is: a call for it is refused at once
    done = call(tmp_path, registrar.port, [], user="civicline-9", expect=404, timeout=10)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
