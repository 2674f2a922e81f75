"""Bar charts as data for the SVG the dashboard template draws: bars, integer axis ticks
and the plain table printed under every chart (what a screen reader reads). Pure: numbers
in, geometry out. Drawn by our own template rather than a charting library, so a chart costs
a few milliseconds whatever the days shown, needs no script and no inline style (CSP)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH, HEIGHT = 720, 240
LEFT, BOTTOM, TOP = 56, 64, 12
LABEL_WIDTH = 280
ROW = 22


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    value: float
    label: str


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass
class Chart:
    """One chart: `labels` along one axis, a list of values per series (stacked when
    several); `unit` follows each value in the table ("" for counts, "%")."""

    id: str
    title: str
    labels: list[str]
    series: dict[str, list[float]]
    horizontal: bool = False
    unit: str = ""
    row_header: str = ""
    """The table's first column heading (what a label is: a day, a choice, a step)."""
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    label_every: int = 1
    width: int = WIDTH
    height: int = HEIGHT

    def rows(self) -> list[tuple[str, list[str]]]:
        """The table under the chart: one row per label, one cell per series."""
        return [
            (label, [self.shown(values[n]) for values in self.series.values()])
            for n, label in enumerate(self.labels)
        ]

    def shown(self, value: float) -> str:
        return f"{value:,.1f}{self.unit}" if self.unit else f"{int(value):,}"


def nice_ticks(top: float, *, integers: bool = True, most: int = 5) -> list[float]:
    """Axis ticks from 0 to at least `top`: steps of 1, 2 or 5 × 10ⁿ, whole numbers for
    counts."""
    if top <= 0:
        return [0, 1]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integers:
        step = max(1, round(step))
    count = math.ceil(top / step)
    return [step * n for n in range(count + 1)]


def vertical(chart: Chart) -> Chart:
    """Lay out a vertical (stacked) bar chart."""
    totals = [sum(values[n] for values in chart.series.values()) for n in range(len(chart.labels))]
    ticks = nice_ticks(max(totals, default=0), integers=not chart.unit)
    scale = (HEIGHT - BOTTOM - TOP) / ticks[-1]
    slot = (WIDTH - LEFT) / max(len(chart.labels), 1)
    base = HEIGHT - BOTTOM
    for n, label in enumerate(chart.labels):
        stacked = 0.0
        for index, values in enumerate(chart.series.values()):
            value = values[n]
            if value:
                top = base - (stacked + value) * scale
                chart.bars.append(
                    Bar(LEFT + n * slot + slot * 0.1, top, slot * 0.8, value * scale, index, value,
                        label)
                )  # fmt: skip
            stacked += value
    chart.ticks = [Tick(base - t * scale, chart.shown(t)) for t in ticks]
    chart.label_every = max(1, math.ceil(len(chart.labels) / 31))
    return chart


def horizontal(chart: Chart) -> Chart:
    """Lay out a horizontal bar chart of one series (a ranking)."""
    values = next(iter(chart.series.values()), [])
    ticks = nice_ticks(max(values, default=0), integers=not chart.unit)
    chart.height = TOP + ROW * max(len(values), 1) + 24
    scale = (WIDTH - LABEL_WIDTH - 48) / ticks[-1]
    for n, (label, value) in enumerate(zip(chart.labels, values, strict=True)):
        chart.bars.append(Bar(LABEL_WIDTH, TOP + n * ROW + 3, value * scale, ROW - 6, 0, value,
                              label))  # fmt: skip
    chart.ticks = [Tick(LABEL_WIDTH + t * scale, chart.shown(t)) for t in ticks]
    chart.horizontal = True
    return chart
