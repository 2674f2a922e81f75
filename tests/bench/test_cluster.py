"""bench/cluster.py's arguments and arithmetic; no server is started."""

from __future__ import annotations

import argparse

import pytest

from bench.cluster import (
    Scaling,
    Shares,
    Usage,
    budget_there,
    carried,
    cpu_stat,
    default_node_cpu,
    describe,
    even_up,
    levels,
    lost_calls,
    machine_ticks,
    node_cpu,
    parse_arguments,
    quota_us,
    ratio,
    reused_numbers,
    shares,
    summary,
    two_node_levels,
)


def test_the_defaults_and_the_flags_that_change_them() -> None:
    default = parse_arguments([])
    assert (default.levels, default.levels_two) == ([16, 24, 28], None)
    assert (default.failure_calls, default.no_failure) == (10, False)
    assert (default.calls_per_caller, default.spread) == (2, 0.5)
    bigger = parse_arguments(
        ["--levels", "10,20", "--levels-two", "36,40", "--failure-calls", "30", "--cpus", "0"]
    )
    assert (bigger.levels, bigger.levels_two) == ([10, 20], [36, 40])
    assert (bigger.failure_calls, bigger.cpus) == (30, {0})
    assert parse_arguments(["--node-cpu", "0.4"]).node_cpu == 0.4


@pytest.mark.parametrize("bad", ["x", "10,5", "3", "4,4", "0", ""])
def test_levels_are_rising_even_counts(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        levels(bad)


def test_two_nodes_share_all_cores_but_one_and_each_gets_at_most_a_core() -> None:
    assert default_node_cpu(2) == 0.5  # the other core: load generator, nginx, PostgreSQL
    assert default_node_cpu(3) == 1.0
    assert default_node_cpu(16) == 1.0  # one process: the GIL keeps it near a core anyway
    assert default_node_cpu(1) == 0.5


@pytest.mark.parametrize("bad", ["x", "0", "-1", "0.001", "10000"])
def test_a_node_quota_is_a_share_of_the_cores_there_are(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        node_cpu(bad)


def test_a_quota_in_cores_is_microseconds_of_each_100_ms_period() -> None:
    assert quota_us(0.5) == 50_000
    assert quota_us(1) == 100_000
    assert quota_us(0.333) == 33_300


def test_two_nodes_are_tried_at_the_goal_at_double_and_past_where_one_node_fell_behind() -> None:
    assert even_up(43.2) == 44
    assert even_up(44) == 44
    assert two_node_levels([16, 24, 32, 40], carried_one=24) == [44, 48, 64]
    assert two_node_levels([16, 24, 32, 40], carried_one=40) == [72, 80]  # none fell behind
    assert two_node_levels([10, 20], carried_one=10) == [18, 20, 40]
    assert two_node_levels([16, 24], carried_one=0) == [32, 48]


def test_cpu_stat_of_cgroup_v1_and_v2() -> None:
    v1 = "nr_periods 31\nnr_throttled 28\nthrottled_time 1114063976\n"
    assert cpu_stat(v1)["nr_throttled"] == 28
    v2 = "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 4\n"
    assert cpu_stat(v2)["usage_usec"] == 2_500_000


def test_the_machine_s_busy_and_idle_ticks_over_all_cores() -> None:
    stat = "cpu  100 5 30 1000 20 1 2 7 0 0\ncpu0 50 2 15 500 10 1 1 3 0 0\nintr 1\n"
    # user nice system irq softirq steal are busy; idle and I/O wait are idle
    assert machine_ticks(stat) == (100 + 5 + 30 + 1 + 2 + 7, 1000 + 20)


def usage(at: float, nodes: tuple[float, float], rest: float, busy: float) -> Usage:
    periods = int(at * 10)
    return Usage(
        at=at,
        nodes=nodes,
        throttling=((periods, periods // 2), (periods, 0)),
        rest=rest,
        generator=rest / 2,
        busy=busy,
        idle=2 * at - busy,
    )


def test_cpu_shares_per_second_between_two_samples() -> None:
    first = usage(100.0, (10.0, 20.0), rest=50.0, busy=150.0)
    last = usage(110.0, (15.0, 23.0), rest=58.0, busy=168.0)  # 10 s on 2 cores
    used = shares(first, last)
    assert used.nodes == pytest.approx((0.5, 0.3))
    assert used.throttled == pytest.approx((0.5, 0.0))
    assert used.generator == pytest.approx(0.4)  # 58/2 - 50/2 over 10 s
    assert used.nginx_postgres == pytest.approx(0.4)
    assert used.others == pytest.approx(1.8 - 0.8 - 0.8)
    assert used.idle == pytest.approx(0.2)


def test_a_full_machine_is_said_to_have_withheld_the_nodes_budget() -> None:
    roomy = Shares((0.5, 0.5), (0.3, 0.2), 0.3, 0.2, 0.3, idle=0.2)
    full = Shares((0.5, 0.4), (0.3, 0.0), 0.3, 0.2, 0.6, idle=0.0)
    assert budget_there(roomy)
    assert not budget_there(full)
    line = describe(full, [8081, 8082], 0.5)
    assert ":8082 0.40 of 0.50 (stopped by the quota in 0% of periods)" in line
    assert "others 0.60, idle 0.00" in line
    assert "budget was not all there" in line
    assert "budget was there" in describe(roomy, [8081, 8082], 0.5)


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


def test_the_summary_gives_the_ratio_only_when_both_knees_were_found() -> None:
    one = Scaling(1, carried=24, p95={"EoS": 0.48, "key": 0.14})
    two = Scaling(2, carried=48, p95={"EoS": 0.5, "key": 0.15})
    line = summary(one, two)
    assert "1 node(s) 24 (EoS→reply p95 480 ms, key→reply p95 140 ms)" in line
    assert "ratio 2.00 (goal ≥ 1.8)" in line
    starved = Scaling(2, carried=0, unmeasured=44)
    line = summary(one, starved)
    assert "2 node(s) 0 or more: at 44 the load generator fell behind, not the node(s)" in line
    assert "ratio n/a" in line
