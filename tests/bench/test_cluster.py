"""bench/cluster.py's arguments and arithmetic; no server is started."""

from __future__ import annotations

import argparse

import pytest

from bench.cluster import (
    carried,
    levels,
    lost_calls,
    parse_arguments,
    placement,
    ratio,
    reused_numbers,
)


def test_the_default_run_is_short_and_flags_make_it_bigger() -> None:
    default = parse_arguments([])
    assert (default.levels, default.failure_calls, default.no_failure) == ([4, 8], 10, False)
    assert (default.calls_per_caller, default.spread) == (2, 0.5)
    bigger = parse_arguments(["--levels", "10,20,30", "--failure-calls", "30", "--cpus", "0-1"])
    assert (bigger.levels, bigger.failure_calls, bigger.cpus) == ([10, 20, 30], 30, {0, 1})


@pytest.mark.parametrize("bad", ["x", "10,5", "3", "4,4", "0", ""])
def test_levels_are_rising_even_counts(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        levels(bad)


def test_each_node_has_a_core_and_the_load_generator_the_rest_when_there_is_any() -> None:
    assert placement([0, 1, 2, 3]) == ([2, 3], [0, 1])
    assert placement([0, 1, 2]) == ([1, 2], [0])
    assert placement([0, 1]) == ([0, 1], None)  # the load generator floats: said in the output


def test_the_carried_level_is_the_last_before_the_first_that_fell_behind() -> None:
    assert carried([(4, True), (8, True), (12, False), (16, True)]) == 8
    assert carried([(4, False), (8, True)]) == 0
    assert carried([]) == 0


def test_the_ratio_of_two_nodes_to_one() -> None:
    assert ratio(18, 10) == pytest.approx(1.8)
    assert ratio(8, 0) is None


def test_a_call_is_lost_when_it_failed_or_finished_without_a_filed_ticket() -> None:
    assert lost_calls(["CA1", "CA2", None, "CA3"], filed={"CA1", "CA3", "CA9"}) == 2
    assert lost_calls([], filed=set()) == 0


def test_a_ticket_number_given_twice_in_a_year_is_reused() -> None:
    assert reused_numbers([(2026, 1), (2026, 2), (2027, 1)]) == 0
    assert reused_numbers([(2026, 1), (2026, 1), (2026, 1), (2026, 2), (2026, 2)]) == 2


def test_either_part_may_be_left_out_but_not_both() -> None:
    assert parse_arguments(["--no-scaling"]).no_scaling
    assert parse_arguments(["--no-failure"]).no_failure
    with pytest.raises(SystemExit):
        parse_arguments(["--no-scaling", "--no-failure"])
