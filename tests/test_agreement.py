"""Tests for iclprune.analysis.agreement (pure numerics, fast, deterministic)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from iclprune.analysis.agreement import (
    aggregate,
    correlate,
    cross_shot_table,
    cross_task_matrix,
    n_removed,
    paper_argsort_spearman,
    partner_tasks,
    rank_ascending,
    retained_capacity,
    spearman,
    summarise_cross_shot,
    to_square,
    topk_overlap,
)

L, H = 6, 8  # small (layers, heads)


# --------------------------------------------------------------------------------------------------
# rank_ascending / n_removed
# --------------------------------------------------------------------------------------------------


def test_rank_ascending_stable_ties_and_row_major():
    s = np.array([[3.0, 1.0, 2.0], [1.0, 0.0, 3.0]])
    # flat: [3,1,2,1,0,3] -> ascending, ties by index
    np.testing.assert_array_equal(rank_ascending(s), [4, 1, 3, 2, 0, 5])
    np.testing.assert_array_equal(rank_ascending(np.zeros(5)), np.arange(5))
    np.testing.assert_array_equal(rank_ascending(np.array([2.0, 1.0, 1.0])), [1, 2, 0])


def test_rank_ascending_ffn_vector():
    rng = np.random.default_rng(0)
    v = rng.normal(size=30)
    np.testing.assert_array_equal(rank_ascending(v), np.argsort(v, kind="stable"))


def test_rank_ascending_nan_reports_count_and_index():
    s = np.zeros((3, 4))
    s[1, 2] = np.nan
    s[2, 0] = np.inf
    with pytest.raises(ValueError, match=r"2 non-finite") as ei:
        rank_ascending(s)
    assert "(1, 2)" in str(ei.value)
    assert "flat index 6" in str(ei.value)


@pytest.mark.parametrize("bad", [np.zeros((2, 2, 2)), np.zeros(0), np.float64(1.0)])
def test_rank_ascending_bad_shape(bad):
    with pytest.raises(ValueError, match="shape"):
        rank_ascending(bad)


@pytest.mark.parametrize(
    ("p", "n", "expected"),
    [
        (70, 4608, 3225),
        (70.0, 4608, 3225),
        (10, 64, 6),
        (20, 64, 12),
        (0, 64, 0),
        (0.0, 4608, 0),
        (90, 30, 27),
        (100, 30, 30),
        (10.0, 30, 3),
        (np.float64(70.0), 4608, 3225),
        (60, 5, 3),
        (33.3, 1000, 333),
    ],
)
def test_n_removed_exact(p, n, expected):
    assert n_removed(p, n) == expected


def test_n_removed_float_trap():
    # 0.1 + 0.2 = 0.30000000000000004 -> exact decimal, floor is still the mathematically right one
    assert n_removed(0.1 + 0.2, 1000) == 3
    # integer percentages given as floats must give the exact integer floor for every n
    for p in range(0, 101):
        for n in (30, 64, 144, 4608):
            assert n_removed(float(p), n) == (p * n) // 100


@pytest.mark.parametrize("p", [-1, 100.5, 101, float("nan"), float("inf")])
def test_n_removed_bad_p(p):
    with pytest.raises(ValueError, match=r"p must") as ei:
        n_removed(p, 10)
    assert repr(p) in str(ei.value) or str(p) in str(ei.value)


@pytest.mark.parametrize("n", [-3, 2.5, "10"])
def test_n_removed_bad_n(n):
    with pytest.raises(ValueError, match="n must") as ei:
        n_removed(10, n)
    assert repr(n) in str(ei.value) or str(n) in str(ei.value)


# --------------------------------------------------------------------------------------------------
# spearman / paper variant
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_spearman_matches_scipy_continuous(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(L, H))
    b = 0.5 * a + rng.normal(size=(L, H))
    rho, p = spearman(a, b)
    ref = stats.spearmanr(a.ravel(), b.ravel())
    assert rho == pytest.approx(float(ref.statistic), abs=1e-12)
    assert p == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("seed", range(5))
def test_spearman_matches_scipy_with_ties(seed):
    rng = np.random.default_rng(100 + seed)
    a = rng.integers(0, 4, size=(L, H)).astype(float)
    b = rng.integers(0, 3, size=(L, H)).astype(float) + 0.3 * a
    rho, p = spearman(a, b)
    ref = stats.spearmanr(a.ravel(), b.ravel())
    assert rho == pytest.approx(float(ref.statistic), abs=1e-12)
    assert p == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-300)


def test_spearman_perfect_and_constant():
    a = np.arange(12.0).reshape(3, 4)
    rho, p = spearman(a, a**3)
    assert rho == pytest.approx(1.0)
    assert p == pytest.approx(0.0, abs=1e-12)
    rho, p = spearman(a, -a)
    assert rho == pytest.approx(-1.0)
    rho, p = spearman(a, np.ones_like(a))
    assert math.isnan(rho)
    assert math.isnan(p)


def test_spearman_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(4, 3\)"):
        spearman(np.zeros((3, 4)), np.zeros((4, 3)))


def test_spearman_nan_rejected():
    a = np.ones((3, 4))
    b = np.arange(12.0).reshape(3, 4)
    b[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"b contains 1 non-finite.*\(0, 1\)"):
        spearman(a, b)


def test_spearman_too_few():
    with pytest.raises(ValueError, match="at least 3"):
        spearman(np.array([1.0, 2.0]), np.array([2.0, 1.0]))


@pytest.mark.parametrize("seed", range(3))
def test_paper_argsort_equals_spearman_of_argsorts(seed):
    rng = np.random.default_rng(200 + seed)
    a = rng.normal(size=(L, H))
    b = a + rng.normal(size=(L, H))
    rho, p = paper_argsort_spearman(a, b)
    ref = stats.spearmanr(np.argsort(a.ravel()), np.argsort(b.ravel()))
    assert rho == pytest.approx(float(ref.statistic), abs=1e-12)
    assert p == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_paper_argsort_constructed_case_differs_hugely():
    # Component ranks under a: rank 0 -> index 0, rank 1 -> index N-1, rank 2 -> index 1, ...
    # b swaps each pair of neighbouring ranks. Rankings almost agree (textbook rho ~ +1), but the
    # indices at each rank position are anti-correlated (argsort variant ~ -1).
    n = 40
    interleaved = np.empty(n, dtype=int)
    interleaved[0::2] = np.arange(n // 2)
    interleaved[1::2] = np.arange(n - 1, n // 2 - 1, -1)
    a = np.empty(n)
    a[interleaved] = np.arange(n)  # argsort(a) == interleaved
    swapped = interleaved.reshape(-1, 2)[:, ::-1].ravel()
    b = np.empty(n)
    b[swapped] = np.arange(n)  # argsort(b) == swapped
    np.testing.assert_array_equal(np.argsort(a), interleaved)
    rho_text, _ = spearman(a, b)
    rho_paper, _ = paper_argsort_spearman(a, b)
    assert rho_text > 0.99
    assert rho_paper < -0.99
    assert rho_text - rho_paper > 1.9


def test_paper_argsort_noisy_copies_simulation():
    # Two noisy measurements of one random score vector over 4608 heads (OPT-66B: 64 layers x 72
    # heads): the rankings agree strongly, but the argsort variant is close to zero.
    rng = np.random.default_rng(7)
    truth = rng.normal(size=(64, 72))
    a = truth + 0.3 * rng.normal(size=truth.shape)
    b = truth + 0.3 * rng.normal(size=truth.shape)
    rho_text, p_text = spearman(a, b)
    rho_paper, _ = paper_argsort_spearman(a, b)
    assert rho_text > 0.8
    assert p_text < 1e-100
    assert abs(rho_paper) < 0.1


def test_paper_argsort_depends_on_labelling_textbook_does_not():
    rng = np.random.default_rng(11)
    a = rng.normal(size=200)
    b = a + rng.normal(size=200)
    perm = rng.permutation(200)
    assert spearman(a[perm], b[perm])[0] == pytest.approx(spearman(a, b)[0], abs=1e-12)
    assert abs(paper_argsort_spearman(a[perm], b[perm])[0] - paper_argsort_spearman(a, b)[0]) > 1e-3


def test_paper_argsort_equals_textbook_when_one_input_sorted():
    rng = np.random.default_rng(12)
    a = np.arange(50.0)
    b = rng.normal(size=50)
    assert paper_argsort_spearman(a, b)[0] == pytest.approx(spearman(a, b)[0], abs=1e-12)


def test_correlate_dispatch_and_bad_method():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, L, H))
    assert correlate(a, b, "spearman") == spearman(a, b)
    assert correlate(a, b, "paper_argsort") == paper_argsort_spearman(a, b)
    with pytest.raises(ValueError, match="'pearson'"):
        correlate(a, b, "pearson")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# aggregate / cross-task
# --------------------------------------------------------------------------------------------------


def _task_scores(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(L, H))
    return {
        "close1": base + 0.1 * rng.normal(size=(L, H)),
        "close2": base + 0.1 * rng.normal(size=(L, H)),
        "far": rng.normal(size=(L, H)),
        "anti": -base + 0.1 * rng.normal(size=(L, H)),
    }


def test_aggregate_is_elementwise_mean():
    s = {"a": np.array([[1.0, 2.0]]), "b": np.array([[3.0, 6.0]])}
    np.testing.assert_allclose(aggregate(s), [[2.0, 4.0]])


def test_aggregate_errors():
    with pytest.raises(ValueError, match="empty"):
        aggregate({})
    with pytest.raises(ValueError, match=r"'b'.*\(2, 3\).*\(2, 2\)"):
        aggregate({"a": np.zeros((2, 2)), "b": np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"scores\['a'\] contains 1 non-finite"):
        aggregate({"a": np.array([np.nan, 1.0])})


def test_cross_task_matrix_structure():
    scores = _task_scores()
    df = cross_task_matrix(scores)
    assert list(df.columns) == ["task_a", "task_b", "srcc", "p_value"]
    tasks = [*scores, "aggregate"]
    assert len(df) == len(tasks) ** 2
    sq = to_square(df)
    assert list(sq.index) == tasks
    assert list(sq.columns) == tasks
    np.testing.assert_allclose(np.diag(sq.to_numpy()), 1.0, atol=1e-12)
    np.testing.assert_allclose(sq.to_numpy(), sq.to_numpy().T, atol=1e-12)
    agg = aggregate(scores)
    assert sq.loc["far", "aggregate"] == pytest.approx(stats.spearmanr(scores["far"].ravel(), agg.ravel())[0])
    assert sq.loc["close1", "close2"] > 0.9
    assert sq.loc["close1", "anti"] < -0.9
    sq_p = to_square(df, value="p_value")
    assert sq_p.loc["close1", "close2"] < 1e-10


def test_cross_task_matrix_paper_method_and_errors():
    scores = _task_scores()
    df = cross_task_matrix(scores, method="paper_argsort", aggregate_name="AGG")
    assert "AGG" in set(df["task_a"])
    sq = to_square(df)
    np.testing.assert_allclose(np.diag(sq.to_numpy()), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="'close1'"):
        cross_task_matrix(scores, aggregate_name="close1")
    with pytest.raises(ValueError, match="'kendall'"):
        cross_task_matrix(scores, method="kendall")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'b'.*\(8, 6\).*\(6, 8\)"):
        cross_task_matrix({"a": np.zeros((6, 8)), "b": np.zeros((8, 6))})


def test_to_square_errors():
    with pytest.raises(ValueError, match="srcc"):
        to_square(pd.DataFrame({"task_a": ["x"], "task_b": ["x"]}))
    dup = pd.DataFrame({"task_a": ["x", "x"], "task_b": ["y", "y"], "srcc": [1.0, 2.0]})
    with pytest.raises(ValueError, match="duplicate"):
        to_square(dup)


def test_partner_tasks_constructed():
    tasks = ["t1", "t2", "t3", "t4", "aggregate"]
    vals = {
        ("t1", "t2"): 0.2,
        ("t1", "t3"): 0.9,
        ("t1", "t4"): -0.4,
        ("t1", "aggregate"): 0.99,  # must be ignored
    }
    rows = []
    for ta in tasks:
        for tb in tasks:
            v = 1.0 if ta == tb else vals.get((ta, tb), vals.get((tb, ta), 0.0))
            rows.append((ta, tb, v, 0.01))
    df = pd.DataFrame(rows, columns=["task_a", "task_b", "srcc", "p_value"])
    assert partner_tasks(df, "t1") == ("t3", "t4")
    assert partner_tasks(df, "t1", candidates=["t2", "t4"]) == ("t2", "t4")
    assert partner_tasks(df, "t2") == ("t1", "t3")  # t2: t1=0.2, t3=0, t4=0 -> lowest first in order
    with pytest.raises(ValueError, match=r"'nope'.*available tasks.*'t1'"):
        partner_tasks(df, "nope")
    with pytest.raises(ValueError, match="'zzz'"):
        partner_tasks(df, "t1", candidates=["zzz"])
    with pytest.raises(ValueError, match="no candidate"):
        partner_tasks(df, "t1", candidates=["t1", "aggregate"])


def test_partner_tasks_on_real_matrix():
    df = cross_task_matrix(_task_scores())
    assert partner_tasks(df, "close1") == ("close2", "anti")


# --------------------------------------------------------------------------------------------------
# cross-shot
# --------------------------------------------------------------------------------------------------


def test_cross_shot_table_pairs_and_values():
    rng = np.random.default_rng(5)
    scores = {}
    for t in ("a", "b"):
        for k in (5, 0, 1):
            scores[(t, k)] = rng.normal(size=(L, H))
    scores[("c", 0)] = rng.normal(size=(L, H))  # single shot -> no rows
    df = cross_shot_table(scores)
    assert list(df.columns) == ["task", "shot_a", "shot_b", "srcc", "p_value"]
    assert df["task"].tolist() == ["a"] * 3 + ["b"] * 3
    assert list(zip(df["shot_a"], df["shot_b"], strict=True))[:3] == [(0, 1), (0, 5), (1, 5)]
    row = df[(df["task"] == "b") & (df["shot_a"] == 1) & (df["shot_b"] == 5)].iloc[0]
    ref = stats.spearmanr(scores[("b", 1)].ravel(), scores[("b", 5)].ravel())
    assert row["srcc"] == pytest.approx(float(ref.statistic), abs=1e-12)
    df_p = cross_shot_table(scores, method="paper_argsort")
    assert len(df_p) == 6


def test_summarise_cross_shot_known_mean_variance():
    df = pd.DataFrame(
        {
            "task": ["a", "b", "c", "a", "b", "c", "a"],
            "shot_a": [0, 0, 0, 1, 1, 1, 0],
            "shot_b": [1, 1, 1, 5, 5, 5, 5],
            "srcc": [0.2, 0.4, 0.9, 0.5, 0.5, 0.5, 0.3],
            "p_value": [0.0] * 7,
        }
    )
    out = summarise_cross_shot(df)
    assert list(out.columns) == ["shot_a", "shot_b", "mean", "variance", "n_tasks"]
    assert list(zip(out["shot_a"], out["shot_b"], strict=True)) == [(0, 1), (0, 5), (1, 5)]
    r01 = out.iloc[0]
    assert r01["mean"] == pytest.approx(0.5)
    # sample variance (ddof=1): ((-.3)^2 + (-.1)^2 + .4^2) / 2 = 0.13
    assert r01["variance"] == pytest.approx(0.13)
    assert r01["n_tasks"] == 3
    r05 = out.iloc[1]
    assert (r05["mean"], r05["variance"], r05["n_tasks"]) == (pytest.approx(0.3), 0.0, 1)
    assert out.iloc[2]["variance"] == pytest.approx(0.0)


def test_cross_shot_end_to_end_summary():
    # shot 0 and shot 1 scores are identical per task -> mean 1, variance 0 for (0, 1)
    rng = np.random.default_rng(9)
    scores = {}
    for t in ("x", "y", "z"):
        s = rng.normal(size=(L, H))
        scores[(t, 0)] = s
        scores[(t, 1)] = 2 * s + 1
    out = summarise_cross_shot(cross_shot_table(scores))
    assert len(out) == 1
    assert out.iloc[0]["mean"] == pytest.approx(1.0)
    assert out.iloc[0]["variance"] == pytest.approx(0.0, abs=1e-20)
    assert out.iloc[0]["n_tasks"] == 3


def test_cross_shot_errors():
    with pytest.raises(ValueError, match="'bad'"):
        cross_shot_table({"bad": np.zeros(4)})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="-1"):
        cross_shot_table({("a", -1): np.zeros(4)})
    with pytest.raises(ValueError, match=r"'a'.*\(4,\).*\(5,\)"):
        cross_shot_table({("a", 0): np.arange(4.0), ("a", 1): np.arange(5.0)})
    with pytest.raises(ValueError, match="missing column"):
        summarise_cross_shot(pd.DataFrame({"task": []}))


# --------------------------------------------------------------------------------------------------
# topk_overlap
# --------------------------------------------------------------------------------------------------


def test_topk_overlap_hand_cases():
    a = np.arange(10.0)
    assert topk_overlap(a, a, 0.3) == 1.0
    assert topk_overlap(a, -a, 0.3) == 0.0
    # top-3 of a = {9, 8, 7}; b top-3 = {9, 0, 1}
    b = np.zeros(10)
    b[[9, 0, 1]] = [5.0, 4.0, 3.0]
    assert topk_overlap(a, b, 0.3) == pytest.approx(1 / 3)
    # k = floor(0.5 * 10) = 5: top a = {5..9}, top b = {9, 0, 1, 2, 3} (ties at 0 -> lower index)
    assert topk_overlap(a, b, 0.5) == pytest.approx(1 / 5)
    assert topk_overlap(a.reshape(2, 5), b.reshape(2, 5), 1.0) == 1.0


def test_topk_overlap_ties_by_index_and_exact_k():
    # all equal -> top-k are the k lowest indices for both -> full overlap
    assert topk_overlap(np.ones(7), np.ones(7), 0.3) == 1.0
    # k = floor(0.3 * 10) = 3 exactly (not 2 from float error)
    a = np.arange(10.0)
    b = np.zeros(10)
    b[[7, 8, 9]] = 1.0
    assert topk_overlap(a, b, 0.3) == 1.0


@pytest.mark.parametrize("frac", [0.0, -0.1, 1.5, float("nan")])
def test_topk_overlap_bad_frac(frac):
    with pytest.raises(ValueError, match="frac") as ei:
        topk_overlap(np.arange(10.0), np.arange(10.0), frac)
    assert str(frac) in str(ei.value)


def test_topk_overlap_errors():
    with pytest.raises(ValueError, match=r"selects.*= 0"):
        topk_overlap(np.arange(3.0), np.arange(3.0), 0.1)
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        topk_overlap(np.arange(3.0), np.arange(4.0), 0.5)


# --------------------------------------------------------------------------------------------------
# retained_capacity
# --------------------------------------------------------------------------------------------------


def _naive_retained(ranking: np.ndarray, capacity: np.ndarray) -> tuple[list[float], list[float]]:
    r = ranking.ravel().tolist()
    c = capacity.ravel().tolist()
    n = len(r)
    order = sorted(range(n), key=lambda i: (r[i], i))
    total = sum(c)
    xs, ys = [], []
    for i in range(n):
        xs.append(100 * i / n)
        ys.append(100 * sum(c[j] for j in order[i:]) / total)
    return xs, ys


@pytest.mark.parametrize("seed", range(3))
def test_retained_capacity_matches_naive(seed):
    rng = np.random.default_rng(300 + seed)
    ranking = rng.normal(size=(L, H))
    ranking[0, :3] = ranking[1, 0]  # some ties
    capacity = rng.random(size=(L, H))
    df = retained_capacity(ranking, capacity)
    assert list(df.columns) == ["pct_pruned", "pct_retained"]
    assert len(df) == L * H
    xs, ys = _naive_retained(ranking, capacity)
    np.testing.assert_allclose(df["pct_pruned"], xs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(df["pct_retained"], ys, rtol=1e-12, atol=1e-10)
    assert df["pct_retained"].iloc[0] == 100.0
    assert np.all(np.diff(df["pct_retained"].to_numpy()) <= 1e-12)
    top = int(np.argsort(ranking.ravel(), kind="stable")[-1])
    assert df["pct_retained"].iloc[-1] == pytest.approx(100 * capacity.ravel()[top] / capacity.sum())


def test_retained_capacity_hand_case():
    ranking = np.array([3.0, 1.0, 2.0, 0.0])
    capacity = np.array([4.0, 3.0, 2.0, 1.0])  # total 10; prune order: 3, 1, 2, 0
    df = retained_capacity(ranking, capacity)
    np.testing.assert_allclose(df["pct_pruned"], [0, 25, 50, 75])
    np.testing.assert_allclose(df["pct_retained"], [100, 90, 60, 40])


def test_retained_capacity_errors():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        retained_capacity(np.zeros((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"total capacity.*0"):
        retained_capacity(np.arange(4.0), np.zeros(4))
    with pytest.raises(ValueError, match="capacity_scores contains 1 non-finite"):
        retained_capacity(np.arange(3.0), np.array([1.0, np.inf, 2.0]))
