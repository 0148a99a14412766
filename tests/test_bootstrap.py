"""Paired bootstrap over documents (iclprune.analysis.bootstrap): a hand-computed case, coverage, pairing,
determinism, and the verdicts of the claims table."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from iclprune.analysis.bootstrap import Bootstrap, interval, removable, replicates, sweep_intervals, verdict


def _docs(values: dict[str, dict[float, list[float]]]) -> pd.DataFrame:
    """task → point → per-document accuracies, as a per-document sweep table."""
    rows = [
        {"task": task, "pct_heads": p, "doc_id": i, "acc": a}
        for task, points in values.items()
        for p, accs in points.items()
        for i, a in enumerate(accs)
    ]
    return pd.DataFrame(rows)


def test_hand_computed_case_one_task_three_documents() -> None:
    """Documents [0, 1, 1]: a resample's mean is 0, 1/3, 2/3 or 1 with probabilities 1/27, 6/27, 12/27,
    8/27 (enumerated by hand: the count of ones among 3 draws with p = 2/3 is binomial). So the 95%
    percentile interval is [0, 1]; the 80% one is [1/3, 1] (P(mean ≤ 0) = 0.037 < 0.1 and
    P(mean < 1) = 0.70 < 0.9); the replicates' mean is the sample mean, 2/3."""
    docs = _docs({"t": {0.0: [0, 1, 1]}})
    exact = {0.0: 1 / 27, 1 / 3: 6 / 27, 2 / 3: 12 / 27, 1.0: 8 / 27}
    assert sum(exact.values()) == pytest.approx(1)
    enumerated = [np.mean([[0, 1, 1][i] for i in draw]) for draw in itertools.product(range(3), repeat=3)]
    for value, p in exact.items():
        assert np.mean(np.isclose(enumerated, value)) == pytest.approx(p)
    points, estimate, reps = replicates(docs, "pct_heads", settings=Bootstrap(n_boot=40_000, seed=0))
    assert points == [0.0]
    assert estimate[0] == pytest.approx(2 / 3)
    for value, p in exact.items():
        assert np.mean(np.isclose(reps[0], value)) == pytest.approx(p, abs=0.01)
    low, high = interval(reps, 0.95)
    assert (low[0], high[0]) == (0.0, 1.0)
    low, high = interval(reps, 0.80)
    assert (low[0], high[0]) == (pytest.approx(1 / 3), 1.0)


def test_coverage_of_the_95_percent_interval_is_about_95_percent() -> None:
    """Simulated sweeps with a known accuracy: the interval holds the true value in about 95% of them."""
    rng = np.random.default_rng(7)
    truth, n_docs, trials = 0.7, 120, 300
    hits = 0
    for trial in range(trials):
        docs = _docs({"t": {0.0: list(rng.random(n_docs) < truth)}})
        _, _, reps = replicates(docs, "pct_heads", settings=Bootstrap(n_boot=400, seed=trial))
        low, high = interval(reps)
        hits += int(low[0] <= truth <= high[0])
    assert 0.91 <= hits / trials <= 0.99  # binomial spread of 300 trials around 0.95: ±0.025


def test_drops_are_paired_and_tasks_weigh_the_same() -> None:
    """Two points that differ on one document of 40: the paired drop's interval is narrow and excludes 0
    only where it should; a task with many documents does not outweigh one with few."""
    same = [1.0] * 20 + [0.0] * 20
    docs = _docs({"a": {0.0: same, 50.0: same}, "b": {0.0: [1.0, 1.0], 50.0: [0.0, 0.0]}})
    iv = sweep_intervals(docs, "pct_heads", settings=Bootstrap(n_boot=500, seed=1))
    row = iv[iv.pct_heads == 50.0].iloc[0]
    assert row["drop"] == pytest.approx(50.0)  # task b loses everything, a nothing: mean over tasks
    assert row.drop_low == pytest.approx(50.0)  # paired: task a's resample cancels exactly
    assert row.drop_high == pytest.approx(50.0)
    assert row.acc == pytest.approx(0.25)


def test_the_bootstrap_is_deterministic_by_seed() -> None:
    rng = np.random.default_rng(3)
    docs = _docs({t: {p: list(rng.random(30) < 0.6) for p in (0.0, 30.0, 70.0)} for t in ("a", "b")})
    one = sweep_intervals(docs, "pct_heads", settings=Bootstrap(seed=11))
    pd.testing.assert_frame_equal(one, sweep_intervals(docs, "pct_heads", settings=Bootstrap(seed=11)))
    assert not one.equals(sweep_intervals(docs, "pct_heads", settings=Bootstrap(seed=12)))


def test_removable_and_verdicts_decide_from_the_interval() -> None:
    iv = pd.DataFrame(
        {
            "pct_heads": [0, 30, 50, 70],
            "drop": [0, 1, 4, 6],
            "drop_low": [0, -1, 1, 3],
            "drop_high": [0, 3, 7, 9],
        }
    )
    assert removable(iv, "pct_heads") == 30  # the upper bound passes 5 at 50%
    assert removable(iv, "pct_heads", bound="drop") == 50
    assert removable(iv, "pct_heads", bound="drop_low") == 70
    assert verdict(1.0, 4.0, 5.0) == "reproduced"
    assert verdict(6.0, 9.0, 5.0) == "not reproduced"
    assert verdict(3.0, 7.0, 5.0) == "undecided"
    assert verdict(0.3, 0.5, 0.2, at_most=False) == "reproduced"


def test_unpaired_documents_are_refused() -> None:
    docs = _docs({"t": {0.0: [1, 0, 1], 50.0: [1, 0]}})
    with pytest.raises(ValueError, match=r"point 50\.0 lacks documents"):
        replicates(docs, "pct_heads")
    with pytest.raises(ValueError, match="lacks columns"):
        replicates(docs.drop(columns="doc_id"), "pct_heads")
