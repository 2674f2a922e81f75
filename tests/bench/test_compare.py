"""bench.compare's arithmetic and its reading of a benchmark's report; no benchmark is run."""

from __future__ import annotations

import argparse
import json

import pytest

from bench.calibration import Calibration, parse_cpus
from bench.compare import Comparison, collect, table
from bench.report import Figure, ReportError, emit, parse

THRESHOLD = 0.15


def test_ratio_is_the_median_of_the_rounds_ratios_and_spread_half_their_range() -> None:
    rates = Comparison("events/s", "higher", base=[100, 200, 100], new=[50, 100, 80])
    assert rates.ratios() == [0.5, 0.5, 0.8]
    assert rates.ratio() == 0.5
    assert rates.spread() == pytest.approx(0.15)


def test_a_rate_worse_beyond_threshold_and_spread_is_worse() -> None:
    steady = Comparison("events/s", "higher", base=[100, 100, 100], new=[50, 51, 49])
    assert steady.verdict(THRESHOLD) == "worse"


def test_a_time_that_grew_is_worse_and_one_that_shrank_is_better() -> None:
    longer = Comparison("p99 µs", "lower", base=[10, 10, 10], new=[20, 21, 19])
    shorter = Comparison("p99 µs", "lower", base=[20, 21, 19], new=[10, 10, 10])
    assert longer.verdict(THRESHOLD) == "worse"
    assert shorter.verdict(THRESHOLD) == "better"


def test_a_change_within_the_threshold_is_the_same() -> None:
    slower = Comparison("events/s", "higher", base=[100, 100, 100], new=[90, 90, 90])
    assert slower.verdict(THRESHOLD) == "same"


def test_a_noisy_figure_needs_more_than_the_threshold_beyond_its_spread() -> None:
    # median ratio 0.7 (30 % worse), but the rounds range 0.4–1.0: half of it is 0.3,
    # so the figure would have to be worse than 1 − (0.15 + 0.3) to count.
    noisy = Comparison("events/s", "higher", base=[100, 100, 100], new=[40, 70, 100])
    assert noisy.ratio() == pytest.approx(0.7)
    assert noisy.verdict(THRESHOLD) == "same"
    assert noisy.verdict(0.0) == "worse"


def test_a_figure_without_a_better_way_or_a_base_has_no_verdict() -> None:
    count = Comparison("events per call", None, base=[18, 18, 18], new=[19, 19, 19])
    missing = Comparison("jobs/s", "higher", base=[], new=[5, 5, 5])
    zero = Comparison("jobs/s", "higher", base=[0, 0, 0], new=[5, 5, 5])
    assert count.verdict(THRESHOLD) == ""
    assert missing.ratio() is None and missing.verdict(THRESHOLD) == ""
    assert zero.ratio() is None and zero.verdict(THRESHOLD) == ""


def test_collect_pairs_each_figure_round_by_round() -> None:
    rounds = [
        ([Figure("a/s", 1, "higher"), Figure("b ms", 5, "lower")], [Figure("a/s", 2, "higher")]),
        ([Figure("a/s", 3, "higher"), Figure("b ms", 6, "lower")], [Figure("a/s", 4, "higher")]),
    ]
    a, b = collect(rounds)
    assert (a.name, a.base, a.new, a.better) == ("a/s", [1, 3], [2, 4], "higher")
    assert (b.name, b.base, b.new) == ("b ms", [5, 6], [])


def test_the_table_shows_both_sides_the_ratio_and_the_verdict() -> None:
    shown = table([Comparison("events/s", "higher", base=[100, 100, 100], new=[50, 50, 50])], 0.15)
    line = shown.splitlines()[1]
    assert "100.0 / 100.0 / 100.0" in line
    assert "50.0 / 50.0 / 50.0" in line
    assert "0.50 (0.50–0.50)" in line
    assert line.endswith("worse")


def test_a_report_printed_as_json_reads_back(capsys: pytest.CaptureFixture[str]) -> None:
    figures = [Figure("engine: events/s", 1234.5, "higher"), Figure("events per call", 19, None)]
    emit(Calibration(29.6, (0, 1)), figures, as_json=True)
    printed = "some progress line\n" + capsys.readouterr().out
    assert parse(printed) == (29.6, figures)


@pytest.mark.parametrize(
    "output",
    [
        "engine: events/s 1,234.5\n",  # a benchmark without --json
        '{"figures": []}\n',  # no calibration
        json.dumps({"calibration": {"us_per_loop": 8}, "figures": [{"name": "x"}]}),
        json.dumps(
            {
                "calibration": {"us_per_loop": 8},
                "figures": [{"name": "x", "value": 1, "better": "faster"}],
            }
        ),
        "{not json\n",
    ],
)
def test_output_that_is_not_a_report_is_refused(output: str) -> None:
    with pytest.raises(ReportError):
        parse(output)


def test_cores_are_read_as_taskset_writes_them() -> None:
    assert parse_cpus("0,2-3") == {0, 2, 3}
    assert parse_cpus("1") == {1}
    for bad in ("x", "3-1", "-1", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_cpus(bad)
