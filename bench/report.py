"""A benchmark's figures as a person reads them, or as one JSON object for bench.compare.

Each figure says which way is better ("higher", "lower", or None for a figure that only
describes the run, such as the events of one call), so a comparison knows a regression from an
improvement without a table of its own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

from bench.calibration import Calibration

Better = Literal["higher", "lower"] | None


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    better: Better


def emit(calibration: Calibration, figures: list[Figure], *, as_json: bool) -> None:
    """Print the figures: one JSON object on stdout, or one line per figure."""
    if as_json:
        document = {"calibration": calibration.as_json(), "figures": [asdict(f) for f in figures]}
        print(json.dumps(document, ensure_ascii=False))
        return
    for figure in figures:
        print(f"{figure.name:48} {figure.value:,.1f}")


class ReportError(ValueError):
    """A benchmark's output was not the JSON report bench.compare expects."""


def parse(text: str) -> tuple[float, list[Figure]]:
    """The calibration (µs per loop) and the figures of a benchmark's --json output: its last
    line that holds a JSON object (a benchmark may print other lines before it)."""
    lines = [line for line in text.splitlines() if line.startswith("{")]
    if not lines:
        raise ReportError("no JSON report in the benchmark's output")
    try:
        document = json.loads(lines[-1])
        figures = [
            Figure(str(f["name"]), float(f["value"]), _better(f.get("better")))
            for f in document["figures"]
        ]
        return float(document["calibration"]["us_per_loop"]), figures
    except (ValueError, KeyError, TypeError) as error:
        raise ReportError(f"a malformed JSON report: {error}") from None


def _better(value: object) -> Better:
    if value == "higher":
        return "higher"
    if value == "lower":
        return "lower"
    if value is None:
        return None
    raise ReportError(f"unknown direction {value!r} (higher, lower or null)")
