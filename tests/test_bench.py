"""The benchmark harness (bench/_timing.py, bench/run_all.py): ratios with their spread, the analytic
bounds, the load guard, and the resume bound's layer count."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import run_all  # noqa: E402
from _timing import BoundExceededError, Ratio, check_bound, format_line, report  # noqa: E402


def test_ratio_is_the_ratio_of_medians_with_the_per_round_range() -> None:
    r = Ratio.of([2.0, 3.0, 10.0], [1.0, 2.0, 2.0])
    assert (r.value, r.low, r.high, r.rounds) == (1.5, 1.5, 5.0, 3)


def test_a_ratio_above_its_bound_fails_and_one_below_passes(capsys) -> None:
    above = Ratio(2.5, 2.2, 2.8, 5)  # every round above 1.64: different work, or a disturbed machine
    assert check_bound(above, 1.64) is not None
    with pytest.raises(
        BoundExceededError, match=r"ffn: every round's ratio \(2\.200–2\.800 over 5 rounds\) lies above"
    ):
        report("ffn", above, bound=1.64)
    assert "ffn: 2.500x [2.200, 2.800] n=5 bound=1.640" in capsys.readouterr().out
    below = Ratio(1.4, 1.3, 1.5, 5)
    assert check_bound(below, 1.64) is None
    report("ffn", below, bound=1.64)  # no error
    straddling = Ratio(1.7, 1.6, 1.9, 5)  # some round at or below the bound: noise, not a contradiction
    assert check_bound(straddling, 1.64) is None
    assert check_bound(above, None) is None


def test_run_all_parses_every_field_of_a_bench_line() -> None:
    line = format_line(
        "mask_batch_tiny", Ratio(1.234, 1.1, 1.3, 5), bound=4.0, what="one / four", a=0.1, b=0.08
    )
    row = run_all.parse(line, "bench_mask_batch", "title")
    assert row == {"name": "mask_batch_tiny", "value": "1.234", "unit": "x", "low": "1.100", "high": "1.300",
                   "rounds": "5", "bound": "4.000", "what": "one / four", "script": "bench_mask_batch"}  # fmt: skip
    plain = run_all.parse("workflow_total: 380.5 s  # make run wall clock", "bench_workflow", "title")
    assert (plain["value"], plain["unit"], plain["low"], plain["bound"]) == ("380.5", "s", "", "")
    assert run_all.parse("# a comment", "x", "t") is None


def test_load_guard_keeps_earlier_rows_when_busy_unless_forced() -> None:
    earlier = [
        {"name": "a", "value": "1.5", "script": "bench_x"},
        {"name": "b", "value": "2", "script": "bench_y"},
    ]
    new = [{"name": "a", "value": "1.1", "script": "bench_x"}]
    assert run_all.is_busy(1.0, cores=2) is False
    assert run_all.is_busy(1.6, cores=2) is True
    kept, why = run_all.merge(earlier, "bench_x", new, busy=True, force=False)
    assert kept == earlier[:1]
    assert "busy" in why
    kept, why = run_all.merge(earlier, "bench_x", new, busy=True, force=True)
    assert kept == new
    assert why is None
    kept, why = run_all.merge(earlier, "bench_x", new, busy=False, force=False)
    assert kept == new
    assert why is None
    assert run_all.merge([], "bench_x", new, busy=True, force=False) == (new, None)  # nothing to keep
    assert run_all.merge(earlier, "bench_x", [], busy=False, force=False) == (earlier[:1], None)


def test_results_have_interval_load_and_cpu_columns() -> None:
    import pandas as pd

    results = pd.read_csv(BENCH / "results.tsv", sep="\t", keep_default_na=False)
    assert {"low", "high", "rounds", "bound", "load_before", "load_after", "busy", "cpu"} <= set(
        results.columns
    )
    ratios = results[(results.unit == "x") & (results.script != "bench_workflow")]
    assert not ratios.empty
    assert (ratios.low != "").all()
    assert (ratios.rounds != "").all()
    bounded = ratios[ratios.bound != ""]
    assert (bounded.low.astype(float) <= bounded.bound.astype(float)).all()
    ffn = ratios[ratios.name.str.startswith("ffn_oracle_resume")]
    assert len(ffn) == 2
    assert (ffn.bound != "").all()
