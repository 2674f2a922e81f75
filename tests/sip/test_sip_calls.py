"""Calls through Kamailio to an `ivr sip` node, placed by SIPp: keys, speech, status,
transfers. Each call runs in real time, so each is short and the waits are the prompts'."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
from line_flow import filed_report
from sip_phone import running_agent
from sip_rig import Kamailio
from sipp_caller import AcceptRefer, AwaitBye, HangUp, Keys, Pause, Speak, agent, call
from sqlalchemy import select

from ivr.channels.sip.node import SipNode
from ivr.storage.models import Call, CallEvent, Recording, Ticket
from speech.audio import pcm_to_ulaw, read_wav, silence

WELCOME_AND_NOTICE_MS = 8000
"""The welcome and the recording notice (heard in full: keys are ignored meanwhile)."""
AGENT_HZ = 700
BUSY_HZ = 425


def last_call(node: SipNode, caller: str) -> tuple[Call, list[tuple[str, str, dict[str, Any]]]]:
    """The caller's last call once the node is done with it (its thread may outlive SIPp by
    a few milliseconds), and its stored events and actions."""
    deadline = time.monotonic() + 5
    while node.calls_active and time.monotonic() < deadline:
        time.sleep(0.05)
    with node.services.database.session() as db:
        found = db.scalars(
            select(Call).where(Call.caller == caller).order_by(Call.started_at.desc())
        ).first()
        assert found is not None, f"no call from {caller}"
        rows = db.scalars(
            select(CallEvent).where(CallEvent.call_id == found.id).order_by(CallEvent.seq)
        ).all()
        db.expunge(found)
        return found, [(r.kind, r.type, r.payload) for r in rows]


def tone(path: Path, seconds: float = 1.5) -> Path:
    """A caller's description: a second and a half of a 300 Hz hum, as raw μ-law."""
    import math

    samples = int(8000 * seconds)
    pcm = b"".join(
        int(6000 * math.sin(2 * math.pi * 300 * n / 8000)).to_bytes(2, "little", signed=True)
        for n in range(samples)
    )
    path.write_bytes(pcm_to_ulaw(pcm + silence(0.1, 8000)))
    return path


def test_a_caller_files_a_report_by_keypad(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    caller = "+359888100001"
    done = call(
        tmp_path,
        kamailio.port,
        [
            Pause(WELCOME_AND_NOTICE_MS),
            Keys("13"),  # report a fallen tree, district 3
            Pause(3500),  # the description prompt and the beep
            Speak(tone(tmp_path / "hum.ulaw")),
            Pause(2000),
            Keys("#"),  # ends the description
            Pause(1000),
            Keys("1"),  # confirms
            AwaitBye(25000),  # the number read back, goodbye, and the node hangs up
        ],
        caller=caller,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found, rows = last_call(node, caller)
    assert found.channel == "sip" and found.outcome == "ticket"
    digits = [p["digits"] for kind, t, p in rows if t == "DigitsPressed"]
    assert digits == ["1", "3", "1"]  # the "#" ended the recording and is no menu key
    with node.services.database.session() as db:
        ticket = db.get(Ticket, found.ticket_id)
        assert ticket is not None and ticket.category == "fallen_tree" and ticket.district == 3
        recording = db.get(Recording, ticket.recording_id)
        assert recording is not None and recording.kind == "description"
        assert 1.0 <= recording.seconds <= 2.5
        whole = db.scalars(
            select(Recording).where(Recording.call_id == found.id, Recording.kind == "call")
        ).one()
    assert rows[-1][1] == "HangUp"
    assert any(t == "StartCallRecording" for kind, t, p in rows)
    # from the end of the notice to the hang-up: the menus, the description and the read-back
    assert 15 < whole.seconds < 40


def spoken(path: Path, text: str) -> Path:
    """`text` said by espeak-ng's Korean voice, framed as on a call (a little silence before,
    a second after), as raw μ-law."""
    wav = subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", "150", "--stdout", text],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    pcm = silence(0.3, 8000) + read_wav(wav, 8000) + silence(1.0, 8000)
    path.write_bytes(pcm_to_ulaw(pcm))
    return path


def test_a_caller_files_a_report_by_voice(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    caller = "+359888100002"
    done = call(
        tmp_path,
        kamailio.port,
        [
            Pause(WELCOME_AND_NOTICE_MS),
            Speak(spoken(tmp_path / "tree.ulaw", "나무")),  # "tree": report a fallen tree
            Pause(3500),
            Keys("2"),  # district 2
            Pause(3500),
            Speak(tone(tmp_path / "hum.ulaw")),
            Pause(2000),
            Keys("#"),
            Pause(500),
            Speak(spoken(tmp_path / "yes.ulaw", "한국어")),  # the confirm phrase
            Pause(3000),  # recognised, filed (the read-back is the keypad test's)
            HangUp(),
        ],
        caller=caller,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found, rows = last_call(node, caller)
    heard = [p["text"] for kind, t, p in rows if t == "SpeechRecognized"]
    assert heard[:1] == ["나무"] and len(heard) == 2, rows
    assert any(t == "TicketCreated" for kind, t, p in rows)
    assert found.outcome == "ticket"
    with node.services.database.session() as db:
        ticket = db.get(Ticket, found.ticket_id)
        assert ticket is not None and ticket.category == "fallen_tree" and ticket.district == 2


def test_a_caller_who_declines_recording_hears_their_tickets_status(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    caller = "+359888100003"
    ticket, _ = filed_report(node.services.database, caller, district=4)
    ref = ticket.ref
    done = call(
        tmp_path,
        kamailio.port,
        [
            Pause(2000),
            Keys("8"),  # no recording, please
            Pause(WELCOME_AND_NOTICE_MS - 2000),
            Keys("3" + ref.replace("-", "") + "#"),  # status, then the number
            AwaitBye(25000),  # the status, goodbye, and the node hangs up
        ],
        caller=caller,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found, rows = last_call(node, caller)
    looked_up = [p for kind, t, p in rows if t == "TicketLookedUp"]
    assert looked_up and looked_up[0]["ref"] == ref and looked_up[0]["granted"]
    said = [p["prompt"] for kind, t, p in rows if t == "Say"]
    assert "status.result" in said
    assert not any(t == "StartCallRecording" for kind, t, p in rows)
    with node.services.database.session() as db:
        kinds = db.scalars(select(Recording.kind).where(Recording.call_id == found.id)).all()
    assert kinds == []  # declined: not a second of this call was kept


def pitch_energy(pcm: bytes, hz: float) -> float:
    """The share of the signal's energy within 20 Hz of `hz`."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 8000)
    return float(spectrum[np.abs(freqs - hz) < 20].sum() / max(spectrum.sum(), 1e-9))


def test_a_transfer_is_bridged_and_the_agent_is_heard(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    caller = "+359888100004"
    agent_voice = tmp_path / "agent.ulaw"
    tone = np.sin(2 * np.pi * AGENT_HZ * np.arange(8000 * 6) / 8000) * 6000
    agent_voice.write_bytes(pcm_to_ulaw(tone.astype("<i2").tobytes()))
    target = agent(tmp_path, kamailio.agent_port, agent_voice)
    try:
        done = call(
            tmp_path,
            kamailio.port,
            [Pause(WELCOME_AND_NOTICE_MS), Keys("0"), Pause(6000), HangUp()],
            caller=caller,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        agent_out, _ = target.communicate(timeout=30)
    finally:
        target.kill()
    assert target.returncode == 0, agent_out[-2000:]  # answered, then our BYE when the caller left
    found, rows = last_call(node, caller)
    assert [p["result"] for kind, t, p in rows if t == "TransferFinished"] == ["answered"]
    assert found.outcome == "transferred"
    with node.services.database.session() as db:
        path = db.scalars(
            select(Recording.path).where(Recording.call_id == found.id, Recording.kind == "call")
        ).one()
    audio = read_wav(node.settings.data_dir / "recordings" / path, 8000)
    assert pitch_energy(audio[-3 * 16000 :], AGENT_HZ) > 0.5  # the caller heard the agent


def test_a_busy_transfer_comes_back_into_the_flow(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    caller = "+359888100005"
    target = agent(tmp_path, kamailio.agent_port, None)
    try:
        done = call(
            tmp_path,
            kamailio.port,
            # "Connecting you…, press star to…" (4 s), busy at once: the busy tone (2 s), then
            # busy said and the callback offer; a hang-up keeps it
            [Pause(WELCOME_AND_NOTICE_MS), Keys("0"), Pause(9000), HangUp()],
            caller=caller,
        )
        target.communicate(timeout=30)
    finally:
        target.kill()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found, rows = last_call(node, caller)
    assert [p["result"] for kind, t, p in rows if t == "TransferFinished"] == ["busy"]
    said = [p["prompt"] for kind, t, p in rows if t == "Say"]
    assert said[said.index("texts.transfer_busy") + 1] == "callback.prompt"  # busy, then the offer
    assert any(t == "CallbackScheduled" for kind, t, p in rows)  # the flow's on_no_answer
    assert found.outcome == "callback"
    with node.services.database.session() as db:
        path = db.scalars(
            select(Recording.path).where(Recording.call_id == found.id, Recording.kind == "call")
        ).one()
    audio = read_wav(node.settings.data_dir / "recordings" / path, 8000)
    quarters = [audio[i : i + 4000] for i in range(0, len(audio) - 3999, 4000)]
    toned = [q for q in quarters if pitch_energy(q, BUSY_HZ) > 0.8]
    assert len(toned) >= 2  # the busy tone's two 0.5 s beeps (a ring would be 1 s, 4 s apart)


def test_star_gives_up_a_ringing_transfer_for_the_callback_offer(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    caller = "+359888100008"
    with running_agent(tmp_path, kamailio.agent_port, "no-answer") as target:
        done = call(
            tmp_path,
            kamailio.port,
            # "Connecting you…, press star to…" (4 s), then ringing: the caller presses *
            # instead of waiting 25 s
            [
                Pause(WELCOME_AND_NOTICE_MS),
                Keys("0"),
                Pause(6000),
                Keys("*"),
                Pause(4000),
                HangUp(),
            ],
            caller=caller,
        )
        assert target.wait(timeout=15) == 0  # the department's phone saw our CANCEL
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found, rows = last_call(node, caller)
    assert [p["result"] for kind, t, p in rows if t == "TransferFinished"] == ["no-answer"]
    assert any(t == "CallbackScheduled" for kind, t, p in rows)
    assert found.outcome == "callback"


def test_star_during_the_connecting_prompt_dials_nobody_and_offers_the_callback(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    """No department phone is registered: a transfer dialled would fail (404), so "no-answer"
    right after the key says nobody was dialled."""
    caller = "+359888100009"
    done = call(
        tmp_path,
        kamailio.port,
        [Pause(WELCOME_AND_NOTICE_MS), Keys("0"), Pause(1000), Keys("*"), Pause(3000), HangUp()],
        caller=caller,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    _, rows = last_call(node, caller)
    assert [p["result"] for kind, t, p in rows if t == "TransferFinished"] == ["no-answer"]
    said = [p["prompt"] for kind, t, p in rows if t == "Say"]
    assert said.index("texts.transfer_give_up") < said.index("callback.prompt")


def test_a_refer_leaves_the_call_to_the_pbx(
    node: SipNode, kamailio: Kamailio, tmp_path: Path
) -> None:
    caller = "+359888100006"
    node.settings = node.settings.model_copy(update={"sip_transfer": "refer"})
    try:
        done = call(
            tmp_path,
            kamailio.port,
            [Pause(WELCOME_AND_NOTICE_MS), Keys("0"), AcceptRefer(), AwaitBye(10000)],
            caller=caller,
        )
    finally:
        node.settings = node.settings.model_copy(update={"sip_transfer": "bridge"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found, rows = last_call(node, caller)
    assert [p["result"] for kind, t, p in rows if t == "TransferFinished"] == ["answered"]
    assert found.outcome == "transferred"
