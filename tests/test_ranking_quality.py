"""Ranking quality (Figs 20, 21 and their claims): gradient vs oracle SRCC with bootstrap intervals over the
importance documents, accuracy under each ranking with intervals over the evaluation documents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from iclprune.analysis.bootstrap import Bootstrap, removable, sweep_intervals
from iclprune.analysis.importance_bootstrap import DocScores
from iclprune.analysis.ranking_quality import (
    AGREEMENT_COLUMNS,
    CURVE_COLUMNS,
    OracleDocs,
    gradient_vs_oracle,
    oracle_docs_by_key,
    random_mean_docs,
    ranking_curves,
    ranking_docs,
    removable_by_ranking,
)
from iclprune.core.io import write_table
from iclprune.reporting import plotting as P
from iclprune.reporting.claims import ResultTables, compute_claims, ranking_claims
from iclprune.reporting.figures import make_figure

L, H, N = 3, 4, 12
FAST = Bootstrap(n_boot=300, seed=7)


def _grad_docs(rng: np.random.Generator, n: int = N) -> DocScores:
    abs_sum = rng.gamma(2.0, 1.0, size=(n, L, H))
    return DocScores(
        abs_sum=abs_sum, signed_sum=abs_sum * rng.choice([-1, 1], size=abs_sum.shape),
        n_positions=rng.integers(5, 9, size=n), n_answer_tokens=rng.integers(1, 3, size=n),
        normalizer="examples", doc_ids=np.arange(100, 100 + n),
    )  # fmt: skip


def _oracle_frame(drop: np.ndarray, doc_ids: np.ndarray, task: str = "t", shot: int = 0) -> pd.DataFrame:
    """The oracle stage's per-document table for per-document drops ``(n, L, H)`` (full model at -1, -1)."""
    rows = []
    for i, d in enumerate(doc_ids):
        base = -1.0 - 0.1 * i
        rows.append((task, shot, -1, -1, int(d), 1.0, base))
        rows += [(task, shot, la, h, int(d), 1.0, base - drop[i, la, h]) for la in range(L) for h in range(H)]
    return pd.DataFrame(rows, columns=["task", "shot", "layer", "head", "doc_id", "acc", "gold_loglik"])


def test_oracle_docs_give_back_the_drops_and_the_mean_is_the_oracle_score() -> None:
    rng = np.random.default_rng(0)
    drop, ids = rng.normal(size=(N, L, H)), np.arange(N)[::-1].copy()  # documents out of order
    o = OracleDocs.from_frame(_oracle_frame(drop, ids))
    np.testing.assert_array_equal(o.doc_ids, np.arange(N))
    np.testing.assert_allclose(o.drop, drop[::-1], atol=1e-12)  # sorted by document id
    np.testing.assert_allclose(o.weighted(np.ones((1, N)))[0], drop.mean(axis=0), atol=1e-12)
    w = np.zeros((1, N))
    w[0, 0], w[0, 3] = 2, 1  # document 0 twice, document 3 once: a hand-computed resample
    np.testing.assert_allclose(o.weighted(w)[0], (2 * drop[::-1][0] + drop[::-1][3]) / 3, atol=1e-12)
    frame = _oracle_frame(drop, ids)
    with pytest.raises(ValueError, match="one row per document and head"):
        OracleDocs.from_frame(frame.drop(index=5))
    with pytest.raises(ValueError, match="full model"):
        OracleDocs.from_frame(frame[frame.layer >= 0])


def test_gradient_vs_oracle_is_the_spearman_of_the_summary_scores_with_a_seeded_interval() -> None:
    rng = np.random.default_rng(1)
    g = _grad_docs(rng)
    same = g.abs_sum / 1.0  # an oracle that ranks heads exactly as bansal does (examples normaliser)
    noisy = rng.normal(size=(N, L, H))
    grads = {("a", 0): g, ("b", 0): g}
    oracles = {("a", 0): OracleDocs(same, g.doc_ids), ("b", 0): OracleDocs(noisy, g.doc_ids)}
    out = gradient_vs_oracle(grads, oracles, settings=FAST)
    assert list(out.columns) == AGREEMENT_COLUMNS
    assert sorted(zip(out.task, out.variant, strict=True)) == sorted(
        (t, v) for t in ("a", "b", "mean") for v in ("bansal", "michel")
    )
    row = out.set_index(["task", "variant"])
    assert row.loc[("a", "bansal"), "srcc"] == pytest.approx(1.0)
    assert row.loc[("a", "bansal"), "low"] == pytest.approx(1.0)  # every resample ranks them alike
    want = stats.spearmanr(g.scores("michel").ravel(), noisy.mean(axis=0).ravel()).statistic
    assert row.loc[("b", "michel"), "srcc"] == pytest.approx(want)
    lo, hi = row.loc[("b", "michel"), ["low", "high"]]
    assert -1 <= lo <= hi <= 1
    mean = row.loc[("mean", "bansal"), "srcc"]
    assert mean == pytest.approx((row.loc[("a", "bansal"), "srcc"] + row.loc[("b", "bansal"), "srcc"]) / 2)
    assert (out.n_docs == N).all()
    again = gradient_vs_oracle(grads, oracles, settings=FAST)
    pd.testing.assert_frame_equal(out, again)  # deterministic by seed
    other = gradient_vs_oracle(grads, oracles, settings=Bootstrap(n_boot=300, seed=8))
    assert not np.allclose(out.low.to_numpy(), other.low.to_numpy())
    with pytest.raises(ValueError, match="same importance documents"):
        gradient_vs_oracle(grads, {("a", 0): OracleDocs(same, g.doc_ids + 1)}, settings=FAST)
    with pytest.raises(ValueError, match="no \\(task, shot\\)"):
        gradient_vs_oracle(grads, {("c", 0): OracleDocs(same, g.doc_ids)}, settings=FAST)


def test_gradient_vs_oracle_interval_covers_the_many_document_value() -> None:
    """Known-coverage check: per-document drops = a fixed per-head effect + document noise; the gradient
    scores are that effect plus noise of their own. The basic interval from 24 documents should hold the
    SRCC of the per-head means of a very large document sample in most runs."""
    rng = np.random.default_rng(3)
    effect = rng.normal(size=(L, H))
    grad_effect = effect + 0.6 * rng.normal(size=(L, H))

    def draw(n: int) -> tuple[DocScores, OracleDocs]:
        ids = np.arange(n)
        ab = np.abs(grad_effect + 3.0)[None] + 1.5 * rng.normal(size=(n, L, H))
        docs = DocScores(ab, ab, np.full(n, 5), np.full(n, 1), "examples", ids)
        return docs, OracleDocs(effect[None] + 2.0 * rng.normal(size=(n, L, H)), ids)

    g_big, o_big = draw(20000)
    truth = stats.spearmanr(g_big.scores("bansal").ravel(), o_big.drop.mean(axis=0).ravel()).statistic
    hits = 0
    runs = 40
    for _ in range(runs):
        g, o = draw(24)
        row = gradient_vs_oracle({("t", 0): g}, {("t", 0): o}, variants=["bansal"], settings=FAST).iloc[0]
        hits += row.low <= truth <= row.high
    assert hits / runs >= 0.7, hits


def _docs_table(rankings: dict[str, dict[float, float]], tasks=("a", "b"), shot=1, n=20) -> pd.DataFrame:
    """Per-document rows: under ``ranking``, accuracy ``p_correct[pct]`` per document (deterministic
    0/1 pattern whose mean is that share)."""
    rows = []
    for ranking, curve in rankings.items():
        for task in tasks:
            for pct, share in curve.items():
                k = round(share * n)
                rows += [(ranking, task, shot, pct, 0.0, d, float(d < k)) for d in range(n)]
    cols = ["ranking", "task", "shot", "pct_heads", "pct_ffns", "doc_id", "acc"]
    return pd.DataFrame(rows, columns=cols)


def test_ranking_curves_and_removable_fractions_follow_each_ranking() -> None:
    docs = _docs_table({
        "gradient": {0: 1.0, 30: 0.7, 50: 0.5, 70: 0.3},
        "oracle": {0: 1.0, 30: 1.0, 50: 1.0, 70: 0.6},
        "iterative": {0: 1.0, 30: 1.0, 50: 0.8, 70: 0.5},
    })  # fmt: skip
    curves = ranking_curves(docs.drop(columns="pct_ffns"), settings=FAST)
    assert list(curves.columns) == CURVE_COLUMNS
    assert list(dict.fromkeys(curves.ranking)) == ["gradient", "iterative", "oracle"]  # drawing order
    rem = removable_by_ranking(curves).set_index("ranking")
    assert rem.loc["oracle", "removable"] == 50.0  # no loss up to 50%: an interval of width 0
    assert rem.loc["iterative", "removable"] == 30.0
    assert rem.loc["gradient", "removable"] == 0.0
    # the same rule as the claims' removable fraction, ranking by ranking
    for ranking in ("gradient", "iterative", "oracle"):
        iv = sweep_intervals(docs[docs.ranking == ranking], "pct_heads", settings=FAST)
        assert rem.loc[ranking, "removable"] == removable(iv, "pct_heads", 5.0)
    with pytest.raises(ValueError, match="different tasks"):
        ranking_curves(pd.concat([docs, _docs_table({"random": {0: 1.0}}, tasks=("c",))]), settings=FAST)


def test_random_control_is_averaged_per_document_over_its_draws() -> None:
    rows = [("a", 1, 50.0, 0.0, d, draw, float((d + draw) % 2 == 0)) for d in range(4) for draw in range(2)]
    rows += [("a", 1, 0.0, 0.0, d, draw, 1.0) for d in range(4) for draw in range(2)]
    rows += [("a", 1, 30.0, 0.0, 0, 0, 1.0)]  # a point only one draw has: dropped
    random = pd.DataFrame(
        rows, columns=["task", "shot", "pct_heads", "pct_ffns", "doc_id", "ranking_seed", "acc"]
    )
    mean = random_mean_docs(random)
    assert set(mean.pct_heads) == {0.0, 50.0}
    assert (mean[mean.pct_heads == 50].acc == 0.5).all()
    gradient = _docs_table({"gradient": {0: 1.0, 50: 0.5}}, tasks=("a",), n=4).drop(columns="ranking")
    every = ranking_docs(gradient, {}, random)
    assert sorted(set(every.ranking)) == ["gradient", "random"]
    assert set(every[every.ranking == "random"].pct_heads) == {0.0, 50.0}


def test_fig20_and_fig21_draw_from_the_tables(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    g = _grad_docs(rng)
    agree = gradient_vs_oracle({("a", 0): g, ("a", 1): g}, {("a", 0): OracleDocs(rng.normal(size=(N, L, H)),
                               g.doc_ids), ("a", 1): OracleDocs(g.abs_sum, g.doc_ids)}, settings=FAST)  # fmt: skip
    pdf, png = P.fig20_gradient_vs_oracle(agree, tmp_path / "fig20")
    assert pdf.stat().st_size > 1000
    assert png.stat().st_size > 1000
    curves = ranking_curves(
        _docs_table({"gradient": {0: 1.0, 50: 0.5}, "oracle": {0: 1.0, 50: 0.9}}).drop(columns="pct_ffns"),
        settings=FAST,
    )
    pdf, png = P.fig21_ranking_quality(curves, tmp_path / "fig21", n_docs="20")
    assert pdf.stat().st_size > 1000
    assert png.stat().st_size > 1000
    with pytest.raises(ValueError, match="unknown importance variant"):
        P.fig20_gradient_vs_oracle(agree.assign(variant="other"), tmp_path / "x")
    with pytest.raises(ValueError, match="acc_low"):
        P.fig21_ranking_quality(curves.drop(columns="acc_low"), tmp_path / "x")


def _write_sweep(path: Path, docs: pd.DataFrame, **extra: object) -> None:
    """A sweep table and its per-document companion, as the workflow writes them."""
    docs = docs.assign(**extra)
    keys = [c for c in ("task", "shot", "pct_heads", "pct_ffns", *extra) if c in docs.columns]
    write_table(docs, path.with_name(path.stem + ".docs.parquet"))
    write_table(docs.groupby(keys, as_index=False).acc.mean(), path)


def test_the_workflow_files_make_fig21_and_the_ranking_claims(tmp_path: Path) -> None:
    docs = _docs_table({
        "gradient": {0: 1.0, 50: 0.5, 90: 0.2},
        "oracle": {0: 1.0, 50: 1.0, 90: 0.4},
        "iterative": {0: 1.0, 50: 0.9, 90: 0.3},
    })  # fmt: skip
    inputs: dict[str, list[Path]] = {"gradient": [], "oracle": [], "iterative": [], "random": []}
    for (ranking, task), d in docs.groupby(["ranking", "task"]):
        path = tmp_path / task / ("heads.parquet" if ranking == "gradient" else f"ranked/{ranking}.parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_sweep(path, d.drop(columns="ranking"))
        inputs[str(ranking)].append(path)
        for draw in range(2):
            rnd = tmp_path / task / f"random/heads_{draw}.parquet"
            rnd.parent.mkdir(parents=True, exist_ok=True)
            shares = {0: 1.0, 50: 0.3 + 0.1 * draw, 90: 0.1}
            _write_sweep(
                rnd, _docs_table({"r": shares}, tasks=(task,)).drop(columns="ranking"), ranking_seed=draw
            )
            if ranking == "gradient":
                inputs["random"].append(rnd)
    pdf, png = make_figure("fig21", inputs, tmp_path / "fig21_ranking_quality", seed=1)
    assert pdf.is_file()
    assert png.is_file()
    tables = ResultTables.read({
        "head_sweeps": inputs["gradient"], "ranked_oracle": inputs["oracle"],
        "ranked_iterative": inputs["iterative"], "random_heads": inputs["random"],
    })  # fmt: skip
    assert sorted(set(tables.ranked_docs.ranking)) == ["iterative", "oracle", "random"]
    rows = pd.DataFrame(ranking_claims(tables, "bansal", FAST)).set_index("claim")
    oracle = rows.loc["heads removable with ≤5 points mean drop under the oracle knock-out ranking, 1-shot"]
    assert oracle.ours == "50"
    assert oracle.verdict == "not reproduced"
    assert rows.loc[
        "heads removable with ≤5 points mean drop under a random ranking, 1-shot", "ours"
    ] == "0"  # fmt: skip
    table = compute_claims(tables, bootstrap=FAST)
    assert {"fig21"} <= set(table.figure)


def test_the_claims_table_has_the_gradient_vs_oracle_srcc(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    g = _grad_docs(rng)
    imp = g.to_frame().assign(task="t", shot=0)
    oracle = _oracle_frame(g.abs_sum, g.doc_ids, task="t", shot=0)  # ranks exactly as the gradient
    tables = ResultTables(*[pd.DataFrame()] * 10, importance_docs=imp, head_oracle_docs=oracle)
    (row,) = ranking_claims(tables, "bansal", FAST)
    assert row["figure"] == "fig20"
    assert row["verdict"] == "reproduced"
    assert float(row["ours"]) == pytest.approx(1.0)
    assert set(oracle_docs_by_key(oracle)) == {("t", 0)}


def test_a_claims_table_renders_into_a_readme_block(tmp_path: Path) -> None:
    from iclprune.workflow.cli import main

    table = pd.DataFrame([
        {"claim": "heads removable, 0-shot", "paper": "~70", "ours": "30", "low": "30", "high": "50",
         "verdict": "undecided", "unit": "% of heads", "figure": "fig05", "note": "a|b", "config": "x"},
        {"claim": "top-10% heads per quartile", "paper": "middle", "ours": "0.1 / 0.2", "low": "", "high": "",
         "verdict": "not assessed", "unit": "share", "figure": "fig03", "note": "", "config": "x"},
    ])  # fmt: skip
    claims = tmp_path / "claims.tsv"
    table.to_csv(claims, sep="\t", index=False)
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- big:start -->\nold\n<!-- big:end -->\nrest\n")
    assert main(["claims-table", str(claims), "--readme", str(readme), "--block", "big"]) == 0
    text = readme.read_text()
    assert "old" not in text
    assert "| heads removable, 0-shot | ~70 | 30 | [30, 50] | undecided | fig05 |" in text
    assert "| top-10% heads per quartile | middle | 0.1 / 0.2 |  | not assessed | fig03 |" in text
    assert text.startswith("intro\n")
    assert text.endswith("rest\n")
    assert main(["claims-table", str(tmp_path / "nonesuch.tsv")]) == 2


def test_tasks_scored_by_another_metric_get_no_interval_and_are_named() -> None:
    from iclprune.analysis.ranking_quality import other_metric_tasks
    from iclprune.reporting.claims import removable_claim

    docs = _docs_table({"gradient": {0: 1.0, 50: 0.9, 90: 0.3}}).drop(columns="ranking")
    summary = docs.groupby(["task", "shot", "pct_heads", "pct_ffns"], as_index=False).acc.mean()
    assert other_metric_tasks(docs, summary) == []
    em = summary.assign(acc=np.where(summary.task == "b", summary.acc * 0.5, summary.acc))  # b: ReCoRD-like
    assert other_metric_tasks(docs, em) == ["b"]
    assert other_metric_tasks(docs.drop(columns="acc"), em) == ["a", "b"]
    got = removable_claim(docs, em, "pct_heads", 1, 70.0, FAST)
    assert "verdict" not in got  # not assessed: a bootstrap of acc says nothing about b's metric
    assert "b scored by another metric" in got["note"]
    decided = removable_claim(docs, summary, "pct_heads", 1, 70.0, FAST)
    assert decided["verdict"] in {"reproduced", "not reproduced", "undecided"}
    every = ranking_docs(docs, {"oracle": docs}, exclude=["b"])
    assert set(every.task) == {"a"}
