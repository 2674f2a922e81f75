"""Each figure of the chosen benchmarks on a base commit beside the working tree, in one run.

    .venv/bin/python -m bench.compare BASE [--only engine|storage|postgres] [--rounds 3]
        [--threshold 15]

BASE is checked out into a temporary git worktree (removed afterwards, also on failure or
Ctrl-C) and the working tree's own bench scripts are copied into it, so both trees are measured
by the same benchmark code, even where BASE's scripts were older or had no --json. The runs
alternate, A/B/A/B, one benchmark at a time, each a subprocess whose PYTHONPATH is the tree under
test: drift of a shared machine falls on both, and each round's pair ran minutes apart at most.

For every figure: both sides' min/median/max, the ratio new/base (the median of the rounds'
ratios, with their min–max: its spread), and a verdict. A figure is **worse** when its ratio
is on its bad side of 1 by more than the threshold plus half the spread (rates lower, times
longer); the exit status is 1 when any figure is worse.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.calibration import parse_cpus
from bench.report import Better, Figure, ReportError, parse

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS: dict[str, list[str]] = {
    "engine": ["bench/engine.py", "--only", "engine", "--engine-calls", "20000"],
    "storage": [
        "bench/engine.py",
        *("--only", "storage", "--no-postgres", "--calls", "60", "--jobs", "500"),
    ],
    "postgres": ["bench/engine.py", *("--only", "storage", "--calls", "60", "--jobs", "100")],
}
"""What each name runs (relative to the tree under test), sized to take seconds, not minutes."""
RUN_TIMEOUT = 900


@dataclass
class Comparison:
    """One figure measured on both trees, round by round (base[i] and new[i] ran in turn)."""

    name: str
    better: Better
    base: list[float] = field(default_factory=list)
    new: list[float] = field(default_factory=list)

    def ratios(self) -> list[float]:
        """new/base per round; rounds where the base measured zero have no ratio."""
        return [n / b for b, n in zip(self.base, self.new, strict=False) if b]

    def ratio(self) -> float | None:
        ratios = self.ratios()
        return statistics.median(ratios) if ratios else None

    def spread(self) -> float:
        """Half the range of the rounds' ratios: how far one round's ratio strays."""
        ratios = self.ratios()
        return (max(ratios) - min(ratios)) / 2 if ratios else 0.0

    def verdict(self, threshold: float) -> str:
        """worse, better or same (beyond `threshold` plus the spread), or "" when the figure
        has no better way or no ratio."""
        ratio = self.ratio()
        if self.better is None or ratio is None:
            return ""
        margin = threshold + self.spread()
        gain = ratio - 1 if self.better == "higher" else 1 - ratio
        if gain < -margin:
            return "worse"
        if gain > margin:
            return "better"
        return "same"


def collect(rounds: list[tuple[list[Figure], list[Figure]]]) -> list[Comparison]:
    """Comparisons in the order figures first appear; a figure one tree lacks is kept with
    the rounds it has (and so no ratio)."""
    found: dict[str, Comparison] = {}
    for base, new in rounds:
        for side, figures in (("base", base), ("new", new)):
            for figure in figures:
                comparison = found.setdefault(figure.name, Comparison(figure.name, figure.better))
                getattr(comparison, side).append(figure.value)
    return list(found.values())


def summary(values: list[float]) -> str:
    if not values:
        return "—"
    return " / ".join(f"{v:,.1f}" for v in (min(values), statistics.median(values), max(values)))


def table(comparisons: list[Comparison], threshold: float) -> str:
    """The comparison as text: one line per figure."""
    width = max((len(c.name) for c in comparisons), default=6)
    lines = [
        f"{'figure':{width}}  {'base min / median / max':>30}  {'new min / median / max':>30}"
        "  new/base (min–max)  verdict"
    ]
    for c in comparisons:
        ratio = c.ratio()
        ratios = c.ratios()
        shown = "—" if ratio is None else f"{ratio:.2f} ({min(ratios):.2f}–{max(ratios):.2f})"
        lines.append(
            f"{c.name:{width}}  {summary(c.base):>30}  {summary(c.new):>30}"
            f"  {shown:>18}  {c.verdict(threshold)}"
        )
    return "\n".join(lines)


def git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def base_tree(base: str) -> Iterator[Path]:
    """BASE checked out in a temporary worktree with the working tree's bench scripts."""
    commit = git("rev-parse", "--verify", f"{base}^{{commit}}")
    folder = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    tree = folder / commit[:12]
    git("worktree", "add", "--detach", str(tree), commit)
    try:
        (tree / "bench").mkdir(exist_ok=True)
        for script in (ROOT / "bench").glob("*.py"):
            shutil.copy2(script, tree / "bench" / script.name)
        yield tree
    finally:
        remove = ["worktree", "remove", "--force", str(tree)]
        subprocess.run(["git", "-C", str(ROOT), *remove], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], capture_output=True)


def run(tree: Path, command: list[str], cpus: str | None) -> tuple[float, list[Figure]]:
    """One benchmark run on `tree`: its calibration (µs per loop) and figures."""
    extra = ["--cpus", cpus] if cpus else []
    what = f"{' '.join(command)} on {tree}"
    try:
        done = subprocess.run(
            [sys.executable, *command, "--json", *extra],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise SystemExit(f"{what}: still running after {RUN_TIMEOUT} s") from None
    if done.returncode:
        raise SystemExit(f"{what} failed:\n{done.stderr[-2000:]}")
    try:
        return parse(done.stdout)
    except ReportError as error:
        raise SystemExit(f"{what}: {error}") from None


def alternate(
    name: str, base: Path, rounds: int, cpus: str | None
) -> tuple[list[Comparison], dict[str, list[float]]]:
    """Benchmark `name` on the base tree and the working tree in turn, `rounds` times: the
    comparisons, and each side's calibrations."""
    measured: list[tuple[list[Figure], list[Figure]]] = []
    calibrations: dict[str, list[float]] = {"base": [], "new": []}
    for number in range(1, rounds + 1):
        pair = []
        for side, tree in (("base", base), ("new", ROOT)):
            started = time.perf_counter()
            calibration, figures = run(tree, BENCHMARKS[name], cpus)
            calibrations[side].append(calibration)
            pair.append(figures)
            took = time.perf_counter() - started
            print(f"{name} round {number}/{rounds}: {side} {took:.0f} s", file=sys.stderr)
        measured.append((pair[0], pair[1]))
    return collect(measured), calibrations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the commit to compare with (a hash, tag or branch)")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds, at least 3")
    parser.add_argument("--threshold", type=float, default=15.0, help="percent, default 15")
    parser.add_argument("--cpus", help="pin every benchmark run to these cores, e.g. 1")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3: fewer give no spread worth the name")
    if args.cpus:
        parse_cpus(args.cpus)  # a bad list fails here, not after the first run
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the worktree is removed
    threshold = args.threshold / 100
    worse = False
    with base_tree(args.base) as tree:
        for name in args.only or list(BENCHMARKS):
            comparisons, calibrations = alternate(name, tree, args.rounds, args.cpus)
            print(f"\n{name}: {args.base} (base) against the working tree, {args.rounds} rounds")
            for side, values in calibrations.items():
                print(f"  calibration µs per loop during {side} runs: {summary(values)}")
            print(table(comparisons, threshold))
            worse |= any(c.verdict(threshold) == "worse" for c in comparisons)
    sys.exit(1 if worse else 0)


if __name__ == "__main__":
    main()
