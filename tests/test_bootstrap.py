"""Paired bootstrap over documents (iclprune.analysis.bootstrap): a hand-computed case, coverage, pairing,
determinism, and the verdicts of the claims table; the bootstrap of head importance over its documents
(iclprune.analysis.importance_bootstrap)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from iclprune.analysis.agreement import spearman
from iclprune.analysis.bootstrap import (
    Bootstrap,
    consistency_verdict,
    interval,
    removable,
    replicates,
    sign_verdict,
    sweep_intervals,
    verdict,
)
from iclprune.analysis.importance_bootstrap import (
    DocScores,
    ImportanceBootstrap,
    agreement_replicates,
    docs_by_key,
)


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


def test_sign_and_consistency_verdicts_on_hand_made_intervals() -> None:
    assert sign_verdict([0.1, 0.2], [0.5, 0.6]) == "reproduced"  # every interval above 0
    assert sign_verdict([0.1, -0.3], [0.5, -0.1]) == "not reproduced"  # one pair wholly below 0
    assert sign_verdict([0.1, -0.2], [0.5, 0.3]) == "undecided"  # one pair straddles 0
    assert sign_verdict(0.0, 0.4) == "undecided"  # a bound at 0 is not above it
    assert sign_verdict([np.nan], [np.nan]) == "undecided"
    assert consistency_verdict(0.05, 0.20, 0.13) == "reproduced"
    assert consistency_verdict(0.20, 0.30, 0.13) == "not reproduced"
    assert consistency_verdict(65.0, 72.0, 71.0, 76.0) == "reproduced"  # overlaps the published range
    assert consistency_verdict(50.0, 70.9, 71.0, 76.0) == "not reproduced"
    assert consistency_verdict(77.0, 80.0, 71.0, 76.0) == "not reproduced"
    assert consistency_verdict(np.nan, np.nan, 0.13) == "not reproduced"
    with pytest.raises(ValueError, match="one of each"):
        sign_verdict([], [])


def _task_docs(
    profile: np.ndarray,
    n_docs: int,
    rng: np.random.Generator,
    noise: float = 2.0,
    ids: np.ndarray | None = None,
) -> DocScores:
    """Per-document sums scattered around ``profile`` (gamma noise of shape ``noise`` per document and
    head), with random lengths; signed sums of mixed sign."""
    n_pos = rng.integers(20, 60, n_docs)
    abs_sum = profile[None] * n_pos[:, None, None] * rng.gamma(noise, 1 / noise, (n_docs, *profile.shape))
    signed = abs_sum * rng.uniform(-0.5, 1.0, abs_sum.shape)
    return DocScores(abs_sum, signed, n_pos, rng.integers(1, 4, n_docs), doc_ids=ids)


def _profiles(rng: np.random.Generator, shape: tuple[int, int] = (12, 6)) -> tuple[np.ndarray, np.ndarray]:
    """Two tasks' importance profiles with a shared part: positively rank-correlated."""
    common = rng.gamma(2.0, size=shape)
    return common * rng.gamma(4.0, 0.25, shape), common * rng.gamma(4.0, 0.25, shape)


def test_the_srcc_interval_is_deterministic_and_holds_the_estimate() -> None:
    rng = np.random.default_rng(5)
    a, b = _profiles(rng)
    docs = {("a", 0): _task_docs(a, 200, rng, noise=8.0), ("b", 0): _task_docs(b, 200, rng, noise=8.0)}
    one = agreement_replicates(docs, settings=Bootstrap(n_boot=400, seed=3))
    two = agreement_replicates(docs, settings=Bootstrap(n_boot=400, seed=3))
    other = agreement_replicates(docs, settings=Bootstrap(n_boot=400, seed=4))
    est, low, high = one.srcc(0, "a", "b")
    assert (est, low, high) == two.srcc(0, "a", "b")
    assert (low, high) != other.srcc(0, "a", "b")[1:]
    # the estimate is the textbook Spearman of the full scores, inside its interval with many documents
    assert est == pytest.approx(spearman(docs[("a", 0)].scores(), docs[("b", 0)].scores())[0], abs=1e-12)
    assert low < est < high
    assert low > 0
    assert one.reps[("cross_task", 0)].shape == (400, 2, 2)
    p_low, p_high = one.interval(("cross_task", 0), "percentile")
    assert p_low[0, 1] <= p_high[0, 1]


def test_the_srcc_interval_narrows_with_more_documents() -> None:
    rng = np.random.default_rng(6)
    a, b = _profiles(rng)
    widths = []
    for n in (8, 32, 128):
        docs = {("a", 0): _task_docs(a, n, rng), ("b", 0): _task_docs(b, n, rng)}
        _, low, high = agreement_replicates(docs, settings=Bootstrap(n_boot=300, seed=1)).srcc(0, "a", "b")
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] < widths[0] / 2  # roughly 1/sqrt(n): a factor 4 at 16 times the documents


def test_shots_with_the_same_documents_share_one_draw_and_tasks_do_not() -> None:
    rng = np.random.default_rng(7)
    a, b = _profiles(rng)
    ids = np.arange(100, 120)
    docs = {
        ("a", 0): _task_docs(a, 20, rng, ids=ids),
        ("a", 1): _task_docs(a, 20, rng, ids=ids),
        ("b", 0): _task_docs(b, 20, rng, ids=ids),
        ("b", 1): _task_docs(b, 20, rng, ids=ids + 1),  # other documents: drawn on its own
    }
    boot = ImportanceBootstrap(docs, settings=Bootstrap(n_boot=50, seed=2))
    assert boot.counts[("a", 0)] is boot.counts[("a", 1)]
    assert boot.paired("a")
    assert not boot.paired("b")
    assert not np.array_equal(boot.counts[("a", 0)], boot.counts[("b", 0)])
    assert (boot.counts[("a", 0)].sum(axis=1) == 20).all()  # n of n documents per replicate
    # a task's draw does not depend on which other tasks are bootstrapped with it
    alone = ImportanceBootstrap({("a", 0): docs[("a", 0)]}, settings=Bootstrap(n_boot=50, seed=2))
    np.testing.assert_array_equal(alone.counts[("a", 0)], boot.counts[("a", 0)])
    reps = boot.replicates(("a", 1))
    assert reps.shape == (50, *a.shape)
    np.testing.assert_allclose(
        reps[0], docs[("a", 1)].weighted("bansal", boot.counts[("a", 1)][:1])[0], rtol=1e-12
    )
    # chunks and the cross-shot statistic cover every replicate
    agree = agreement_replicates(docs, settings=Bootstrap(n_boot=50, seed=2), pairs=[("a", "b")], chunk=7)
    assert agree.reps[("cross_shot", 0, 1)].shape == (50,)
    assert agree.cross_shot_tasks[(0, 1)] == ["a", "b"]
    assert 0 <= agree.reps[("overlap", "a", "b", 0)].min() <= agree.reps[("overlap", "a", "b", 0)].max() <= 1


def test_the_induction_statistic_uses_the_aggregate_of_the_resampled_tasks() -> None:
    rng = np.random.default_rng(8)
    a, b = _profiles(rng)
    docs = {("a", 0): _task_docs(a, 30, rng), ("b", 0): _task_docs(b, 30, rng)}
    prefix = (a + b) * rng.gamma(4.0, 0.25, a.shape)
    agree = agreement_replicates(docs, settings=Bootstrap(n_boot=200, seed=0), prefix_matching=prefix)
    full = (docs[("a", 0)].scores() + docs[("b", 0)].scores()) / 2
    assert agree.estimate[("induction", 0)] == pytest.approx(spearman(full, prefix)[0], abs=1e-12)
    low, high = agree.interval(("induction", 0))
    assert 0 < low <= high <= 1
    with pytest.raises(ValueError, match="prefix-matching scores have 3 heads"):
        agreement_replicates(docs, prefix_matching=np.ones(3))


def test_docs_by_key_reads_the_long_table() -> None:
    rng = np.random.default_rng(9)
    a, b = _profiles(rng)
    frames = []
    for task, profile in (("a", a), ("b", b)):
        for shot in (0, 5):
            frame = _task_docs(profile, 4, rng, ids=np.array([7, 3, 9, 1])).to_frame()
            frames.append(frame.assign(task=task, shot=shot))
    docs = docs_by_key(pd.concat(frames, ignore_index=True))
    assert sorted(docs) == [("a", 0), ("a", 5), ("b", 0), ("b", 5)]
    assert docs[("a", 0)].doc_ids.tolist() == [1, 3, 7, 9]  # sorted by doc_id
    assert docs[("b", 5)].shape == a.shape
    assert docs_by_key(pd.DataFrame()) == {}
