"""baresip as the caller's phone: it dials through Kamailio, takes keys on its UDP console
(the `cons` module; in a call a digit is sent as an RFC 2833 event), plays a WAV as the
caller's voice (`aufile`) and writes what the caller hears to a WAV (`sndfile`, "-dec")."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sip_rig import free_baresip_port, free_sip_port, free_udp_ports, require

CONFIG = """poll_method epoll
net_interface 127.0.0.1
sip_listen 127.0.0.1:{sip_port}
audio_player alsa,null
audio_alert alsa,null
audio_source aufile,{voice}
rtp_ports {rtp}-{rtp_end}
module_path /usr/lib/baresip/modules
module account.so
module g711.so
module aufile.so
module alsa.so
module sndfile.so
module cons.so
module_app menu.so
cons_listen 127.0.0.1:{console}
snd_path {folder}
"""


@dataclass
class Phone:
    folder: Path
    console: int
    process: subprocess.Popen[bytes]

    def press(self, keys: str, gap: float = 0.3) -> None:
        """Keys on the phone's keypad, one at a time."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            for key in keys:
                out.sendto(key.encode(), ("127.0.0.1", self.console))
                time.sleep(gap)

    def hang_up(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            out.sendto(b"b", ("127.0.0.1", self.console))

    def heard(self) -> Path:
        """The WAV of what the caller heard (the decoded direction)."""
        found = sorted(self.folder.glob("dump-*-dec.wav"))
        assert found, f"baresip wrote no recording:\n{self.log()}"
        return found[-1]

    def log(self) -> str:
        return (self.folder / "baresip.log").read_text(errors="replace")[-3000:]


@contextmanager
def dialling(
    folder: Path, uri: str, caller: str, voice: Path, more_config: str = ""
) -> Iterator[Phone]:
    """baresip calling `uri` as `caller` until the context ends (then it quits);
    `more_config` is appended to its config (e.g. `sip_cafile` for a sips call)."""
    binary = require("baresip")
    console = free_sip_port()  # the cons module listens on UDP and TCP too
    rtp = free_udp_ports(4)
    (folder / "config").write_text(
        CONFIG.format(
            sip_port=free_baresip_port(),
            voice=voice,
            rtp=rtp,
            rtp_end=rtp + 3,
            console=console,
            folder=folder,
        )
        + more_config
    )
    (folder / "accounts").write_text(
        f"<sip:{caller}@127.0.0.1>;regint=0;audio_codecs=PCMU;answermode=manual\n"
    )
    (folder / "contacts").write_text("")
    with (folder / "baresip.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, "-f", str(folder), "-e", f"/dial {uri}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    phone = Phone(folder, console, process)
    try:
        yield phone
    finally:
        if process.poll() is None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
                out.sendto(b"q", ("127.0.0.1", console))
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
