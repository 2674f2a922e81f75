"""The SIP channel as a conformance phone: baresip dials an `ivr sip` node through Kamailio,
on the wall clock. Keys go one at a time over baresip's UDP console (RFC 2833 events); a
voice is a WAV baresip switches its audio source to (`/ausrc aufile,…`) and then back to a
silent WAV; the transfer's target is SIPp, started for each call: answering, busy or ringing.

Kamailio and the node are started once per module (the node loads the Vosk model once), on
the same open Korean flow and prompts as the other channels (`line_flow`, `line_prompts`).
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from baresip_phone import Phone as Baresip
from baresip_phone import dialling
from script import STEP_SECONDS, Row, Timing, built_prompt_seconds, finished, rows_of
from sip_rig import Kamailio, free_udp_ports, node_settings, require, running_kamailio, running_node
from sipp_caller import AGENT_ANSWERS, AGENT_REFUSES, AGENT_RINGS
from sqlalchemy import select

from ivr.calls.runner import CallServices
from ivr.channels.sip.node import SipNode
from ivr.phones import normalize_number
from ivr.storage.db import Database
from ivr.storage.models import Call
from speech.audio import PHONE_RATE, SAMPLE_WIDTH, pcm_to_ulaw, silence, wav_bytes
from speech.prompts import PromptLibrary

RING_SECONDS = 8.0
"""The node's `sip_ring_seconds`: a transfer nobody answers rings out this soon."""
QUIET_SECONDS = 300.0
"""The silent WAV baresip sends when the caller says nothing: baresip hangs up when its
audio file ends, so it outlasts any test (pytest's timeout is 300 s)."""
SPEECH_TAIL_SECONDS = 5.0
"""Silence after a voice in its WAV, left to switch back to the quiet WAV before it ends."""
CONSOLE_SECONDS = 2.0
"""How long baresip's console may take to answer a command."""
CONSOLE_GAP_SECONDS = 0.05
"""Quiet after an answer that ends it (an audio source that fails to open is reported
right after "switch audio device")."""
DEVICE_CHARS = 127
"""baresip 1.0.0 cuts `/ausrc` device names (a WAV's path) to this many characters."""
ANSWER_SECONDS = 15.0
"""How long the node may take to answer and store the call."""
LISTEN_SECONDS = 60.0
"""The longest a prompt may take to play."""
END_SECONDS = 10.0
"""How long the node may take to finish a call after the phone left."""
AGENT_HZ = 700


@dataclass(frozen=True)
class SipLine:
    """What every SIP conformance call goes through: Kamailio, the node, a silent WAV."""

    kamailio: Kamailio
    node: SipNode
    quiet: Path
    folders: pytest.TempPathFactory
    prompt_seconds: Callable[[Row], float]


@dataclass
class SipPhone:
    """script.Phone on SIP: one baresip call to the node, read back from the node's rows."""

    node: SipNode
    baresip: Baresip
    folder: Path
    call_id: str
    quiet: Path
    prompt_seconds: Callable[[Row], float]
    spoken: int = 0

    @property
    def services(self) -> CallServices:
        return self.node.services

    @property
    def database(self) -> Database:
        return self.node.services.database

    @property
    def ended(self) -> bool:
        """The node ended the call (its row says so)."""
        with self.database.session() as db:
            found = db.get(Call, self.call_id)
            return found is not None and found.ended_at is not None

    @property
    def timing(self) -> Timing:
        """The node's clock is the wall clock; prompts play from the built files."""
        return Timing(line_clock=True, prompt_seconds=self.prompt_seconds)

    def silence(self, seconds: float) -> None:
        """Time on SIP is the wall clock; baresip keeps sending its silent WAV meanwhile."""
        time.sleep(seconds)

    def listen(self) -> None:
        """Silent until the node reports the last prompt it sent as played (its RTP sender
        sent the last frame), or the call ended."""
        deadline = time.monotonic() + LISTEN_SECONDS
        while time.monotonic() < deadline and not self.ended:
            rows = rows_of(self.database, self.call_id)
            says = [r for r in rows if r.type == "Say"]
            if says and finished(rows, says[-1].payload["mark"]) is not None:
                return
            time.sleep(STEP_SECONDS)

    def press(self, keys: str, gap: float = 0.3) -> None:
        """One RFC 2833 key at a time (the console sends one per character); none once the
        node ended the call, as on the other channels."""
        for key in keys:
            if self.ended:
                return
            self.baresip.press(key, gap)

    def speak(self, pcm: bytes) -> None:
        """baresip's source becomes a WAV of `pcm` then silence for as long as `pcm` lasts,
        then the quiet WAV again (before the tail runs out, or baresip would hang up)."""
        self.spoken += 1
        path = self.folder / f"said-{self.spoken}.wav"
        path.write_bytes(wav_bytes(pcm + silence(SPEECH_TAIL_SECONDS, PHONE_RATE), PHONE_RATE))
        self._source(path)
        time.sleep(len(pcm) / (SAMPLE_WIDTH * PHONE_RATE))
        self._source(self.quiet)

    def hang_up(self) -> None:
        """baresip's hang-up key; without a call (the node hung up) it does nothing."""
        self.baresip.hang_up()

    def _source(self, wav: Path) -> None:
        """Switch baresip's audio source to `wav`, failing loudly when baresip did not."""
        device = str(wav)
        if len(device) > DEVICE_CHARS:
            pytest.fail(f"baresip would cut the WAV's path {device} (over {DEVICE_CHARS} chars)")
        answer = console(self.baresip.console, f"/ausrc aufile,{device}")
        if f"switch audio device: aufile,{device}" not in answer or "failed" in answer:
            pytest.fail(f"baresip did not switch its source to {device}: {answer!r}")


def console(port: int, command: str) -> str:
    """A command on baresip's UDP console, and its answer: what the console sent back to
    this socket after echoing the command, until it fell quiet."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.sendto(f"{command}\n".encode(), ("127.0.0.1", port))
        deadline = time.monotonic() + CONSOLE_SECONDS
        reply = ""
        while (left := deadline - time.monotonic()) > 0:
            started = bool(reply.rpartition(command)[2].strip())
            sock.settimeout(CONSOLE_GAP_SECONDS if started else left)
            try:
                reply += sock.recv(65536).decode(errors="replace")
            except TimeoutError:
                if started:
                    break
        return reply.rpartition(command)[2].strip()


def quiet_wav(path: Path) -> Path:
    path.write_bytes(wav_bytes(silence(QUIET_SECONDS, PHONE_RATE), PHONE_RATE))
    return path


def agent_voice(path: Path, seconds: float = 10.0) -> Path:
    """The agent's side of a bridged call: a tone, as raw μ-law for SIPp's rtp_stream."""
    pcm = b"".join(
        int(6000 * math.sin(2 * math.pi * AGENT_HZ * n / PHONE_RATE)).to_bytes(
            2, "little", signed=True
        )
        for n in range(int(seconds * PHONE_RATE))
    )
    path.write_bytes(pcm_to_ulaw(pcm))
    return path


def agent_scenario(folder: Path, transfer: str) -> str:
    """SIPp's scenario for the target as the test chose: it answers, is busy, or rings."""
    scenario: str
    match transfer:
        case "answered":
            scenario = AGENT_ANSWERS.format(voice=agent_voice(folder / "agent.ulaw"))
        case "busy":
            scenario = AGENT_REFUSES
        case "no-answer":
            scenario = AGENT_RINGS
        case _:
            raise ValueError(f"transfer is answered, busy or no-answer, not {transfer!r}")
    return scenario


@contextmanager
def running_agent(folder: Path, port: int, transfer: str) -> Iterator[subprocess.Popen[bytes]]:
    """SIPp as the transfer's target during one call (its screen in agent.log)."""
    scenario = folder / "agent.xml"
    scenario.write_text(agent_scenario(folder, transfer))
    arguments = [require("sipp"), "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port)]
    arguments += ["-mp", str(free_udp_ports(4)), "-m", "1", "-timeout", "300", "-nostdin"]
    with (folder / "agent.log").open("wb") as log:
        process = subprocess.Popen(arguments, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def call_ids(database: Database, caller: str) -> list[str]:
    """The caller's SIP calls, newest first."""
    with database.session() as db:
        query = (
            select(Call.id)
            .where(Call.caller == caller, Call.channel == "sip")
            .order_by(Call.started_at.desc())
        )
        return list(db.scalars(query))


def answered(database: Database, caller: str, before: list[str], baresip: Baresip) -> str:
    """The id of the call the node stored for this phone: the caller's newest, not one of
    `before` (the node is shared: earlier tests called from the same numbers)."""
    deadline = time.monotonic() + ANSWER_SECONDS
    while time.monotonic() < deadline:
        new = [i for i in call_ids(database, caller) if i not in before]
        if new:
            return new[0]
        time.sleep(0.05)
    pytest.fail(f"the node never answered {caller}:\n{baresip.log()}", pytrace=False)


def wait_for_the_node(node: SipNode) -> None:
    """The node done with its calls (a call's thread outlives the phone by a moment), so the
    next test starts on a quiet node, with the agent's port free."""
    deadline = time.monotonic() + END_SECONDS
    while node.calls_active and time.monotonic() < deadline:
        time.sleep(0.05)


@contextmanager
def sip_phone(line: SipLine, *, caller: str, transfer: str) -> Iterator[SipPhone]:
    """baresip calling the node as `caller`, the agent behaving as `transfer` says."""
    folder = line.folders.mktemp("sip-phone")
    database = line.node.services.database
    number = normalize_number(caller, line.node.services.flows.current().flow.city.country)
    assert number is not None, f"{caller} is no phone number"
    before = call_ids(database, number)
    uri = f"sip:civicline@127.0.0.1:{line.kamailio.port}"
    with (
        running_agent(folder, line.kamailio.agent_port, transfer),
        dialling(folder, uri, caller, line.quiet) as baresip,
    ):
        call_id = answered(database, number, before, baresip)
        phone = SipPhone(line.node, baresip, folder, call_id, line.quiet, line.prompt_seconds)
        try:
            yield phone
        finally:
            phone.hang_up()
            wait_for_the_node(line.node)


@contextmanager
def sip_line(folders: pytest.TempPathFactory, flow: Path, prompts: Path) -> Iterator[SipLine]:
    """Kamailio, and a node on `flow` whose data dir holds `prompts`."""
    require("baresip")
    require("sipp")
    data = folders.mktemp("sip-line-data")
    shutil.copytree(prompts, data / "prompts")
    with ExitStack() as stack:
        kamailio = stack.enter_context(running_kamailio(folders.mktemp("sip-line-kamailio")))
        settings = node_settings(data, flow, kamailio, sip_ring_seconds=RING_SECONDS)
        node = stack.enter_context(running_node(settings))
        prompt_seconds = built_prompt_seconds(PromptLibrary(data / "prompts"))
        yield SipLine(kamailio, node, quiet_wav(data / "quiet.wav"), folders, prompt_seconds)


SipPhoneFactory = Callable[..., AbstractContextManager[SipPhone]]


@pytest.fixture(scope="module")
def sip_phones(
    tmp_path_factory: pytest.TempPathFactory, line_flow: Path, line_prompts: Path
) -> Iterator[SipPhoneFactory]:
    """Phones on SIP, `with sip_phones(caller=…, transfer=…) as phone`: Kamailio and the node
    are the module's, baresip and the agent each call's."""
    with sip_line(tmp_path_factory, line_flow, line_prompts) as line:

        def phone(*, caller: str, transfer: str = "answered") -> AbstractContextManager[SipPhone]:
            return sip_phone(line, caller=caller, transfer=transfer)

        yield phone
