"""The machine calibration every benchmark prints first, and the cores it runs on.

A figure means little without the machine under it: the same code gives half the events per
second on a core that is twice as slow, or shared. So each benchmark first times one fixed
pure-Python workload (what `python3 -m timeit "sum(range(1000))"` times) and names the cores
it may run on; capacities in bench/README.md are quoted per calibrated core.
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit
from dataclasses import dataclass

WORKLOAD = "sum(range(1000))"
"""The calibration: pure Python, no I/O, no allocation worth speaking of."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cpus",
        type=parse_cpus,
        help="pin the benchmark to these cores first, e.g. 1 or 0,1 or 0-3",
    )


def parse_cpus(text: str) -> set[int]:
    """`0,2-3` → {0, 2, 3}: the notation of taskset -c and of /proc/cpuinfo lists."""
    cores: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a list of cores: {text!r}") from None
        if low < 0 or high < low:
            raise argparse.ArgumentTypeError(f"not a range of cores: {part!r}")
        cores.update(range(low, high + 1))
    return cores


def microseconds_per_loop() -> float:
    """The best of 5 repeats, as `python -m timeit` reports it: the least disturbed."""
    timer = timeit.Timer(WORKLOAD)
    loops, _ = timer.autorange()
    return min(timer.repeat(repeat=5, number=loops)) / loops * 1e6


@dataclass(frozen=True)
class Calibration:
    us_per_loop: float
    cores: tuple[int, ...]

    def describe(self) -> str:
        cores = ",".join(str(core) for core in self.cores)
        return (
            f"calibration: {WORKLOAD} {self.us_per_loop:.1f} µs per loop"
            f" (as python3 -m timeit times it), on core(s) {cores}"
        )

    def as_json(self) -> dict[str, object]:
        return {"workload": WORKLOAD, "us_per_loop": self.us_per_loop, "cores": list(self.cores)}


def calibrate(cpus: set[int] | None, *, to_stderr: bool = False) -> Calibration:
    """Pin to `cpus` (when given), time the workload there and print the line every benchmark
    opens with (on stderr when stdout carries JSON)."""
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    calibration = Calibration(microseconds_per_loop(), tuple(sorted(os.sched_getaffinity(0))))
    print(calibration.describe(), file=sys.stderr if to_stderr else sys.stdout, flush=True)
    return calibration
