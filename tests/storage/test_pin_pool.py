"""New tickets' PINs come hashed from a pool a low-priority thread keeps filled, and from
the spot when it is empty; a forked process fills a pool of its own."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from werkzeug.security import check_password_hash

from ivr.storage.pin_pool import NICENESS, PinPool
from ivr.storage.tickets import NewPin, new_pin


def filled(pool: PinPool, count: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while pool.ready() < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return pool.ready() == count


def test_a_taken_pin_verifies_and_the_pool_refills_in_the_background() -> None:
    pool = PinPool(ready=3)
    first = pool.take()  # the pool was empty: made on the spot
    assert check_password_hash(first.hash, first.clear) and len(first.clear) == 4
    assert filled(pool, 3)
    taken = [pool.take() for _ in range(3)]
    assert all(check_password_hash(pin.hash, pin.clear) for pin in taken)
    assert len({pin.hash for pin in [first, *taken]}) == 4  # each its own salt
    assert filled(pool, 3)


def test_the_filler_thread_runs_at_the_lowest_priority() -> None:
    made: dict[str, set[int]] = {}

    def make() -> NewPin:
        priority = os.getpriority(os.PRIO_PROCESS, 0)  # 0: the calling thread, on Linux
        made.setdefault(threading.current_thread().name, set()).add(priority)
        return new_pin()

    pool = PinPool(make, ready=2)
    pool.take()  # made on the spot by this thread, unless the filler was quicker
    assert filled(pool, 2)
    assert made.pop("pin-pool") == {NICENESS}
    ours = os.getpriority(os.PRIO_PROCESS, 0)  # 10 once a transcription test has niced us
    assert made.get("MainThread", {ours}) == {ours} and ours < NICENESS


def test_a_forked_process_fills_its_own_pool_and_never_hands_out_the_parents(
    tmp_path: Path,
) -> None:
    pool = PinPool(ready=2)
    pool.take()
    assert filled(pool, 2)
    child = os.fork()
    if child == 0:  # pragma: no cover  # the child reports through a file and exits
        hashes = [pool.take().hash for _ in range(2)]
        refilled = filled(pool, 2)
        (tmp_path / "child").write_text("\n".join(hashes) if refilled else "not refilled")
        os._exit(0)
    os.waitpid(child, 0)
    childs = set((tmp_path / "child").read_text().splitlines())
    ready_at_the_fork = {pool.take().hash for _ in range(2)}
    assert len(childs) == 2 and not childs & ready_at_the_fork
