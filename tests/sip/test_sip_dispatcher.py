"""deploy/kamailio.cfg: nodes register with the shared password (a 401 challenge), and calls
for the service are spread over the dispatcher's nodes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sip_rig import (
    free_udp_port,
    node_settings,
    running_deployed_kamailio,
    running_node,
    wait_until_nodes_up,
)
from sipp_caller import HangUp, Pause, call

from ivr.channels.sip.node import RegistrationFailed, SipNode

PASSWORD = "node-secret"


@pytest.fixture(scope="module")
def two_nodes(
    tmp_path_factory: pytest.TempPathFactory, sip_data: Path, sip_flow: Path
) -> Iterator[tuple[int, list[SipNode]]]:
    ports = [free_udp_port(), free_udp_port()]
    folder = tmp_path_factory.mktemp("deployed")
    with ExitStack() as stack:
        kamailio = stack.enter_context(running_deployed_kamailio(folder, ports, PASSWORD))
        nodes = [
            stack.enter_context(
                running_node(
                    node_settings(
                        sip_data,
                        sip_flow,
                        kamailio,
                        sip_port=port,
                        sip_user=f"civicline-{number}",
                        sip_password=PASSWORD,
                        sip_accept_users=["civicline"],
                    )
                )
            )
            for number, port in enumerate(ports, start=1)
        ]
        wait_until_nodes_up(folder, ports)
        yield kamailio.port, nodes


def test_calls_for_the_service_are_spread_over_the_nodes(
    two_nodes: tuple[int, list[SipNode]], tmp_path: Path
) -> None:
    port, nodes = two_nodes
    for _ in range(4):
        done = call(tmp_path, port, [Pause(300), HangUp()], timeout=15)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert [node.calls_served for node in nodes] == [2, 2]


def test_a_node_is_reached_by_its_own_registered_name(
    two_nodes: tuple[int, list[SipNode]], tmp_path: Path
) -> None:
    port, nodes = two_nodes
    before = nodes[1].calls_served
    done = call(tmp_path, port, [Pause(300), HangUp()], user="civicline-2", timeout=15)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert nodes[1].calls_served == before + 1


def test_a_node_with_the_wrong_password_says_so(two_nodes: tuple[int, list[SipNode]]) -> None:
    _, nodes = two_nodes
    settings = nodes[0].settings.model_copy(
        update={"sip_port": free_udp_port(), "sip_user": "civicline-3", "sip_password": "wrong"}
    )
    node = SipNode(settings, nodes[0].services)
    with pytest.raises(RegistrationFailed, match="civicline-3 could not register"):
        node.start()
