"""Analysis stages on synthetic importance tables (no model): aggregate, cross-task, cross-shot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from iclprune.core.io import read_json, write_table
from iclprune.workflow.summaries import aggregate_importance, cross_shot_agreement, cross_task_agreement


def _tables(tmp_path, tasks=("a", "b", "c"), shots=(0, 1)) -> dict[tuple[str, int], tuple[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    base = rng.random((4, 6))
    out = {}
    for task in tasks:
        for shot in shots:
            m = base + 0.5 * rng.random((4, 6))
            layer, head = np.divmod(np.arange(24), 6)
            df = pd.concat(
                [pd.DataFrame({"task": task, "shot": shot, "variant": v, "layer": layer, "head": head, "score": m.ravel() * k})
                 for v, k in (("bansal", 1.0), ("michel", 2.0))]
            )  # fmt: skip
            path = tmp_path / task / f"{shot}shot" / "heads.parquet"
            write_table(df, path)
            out[(task, shot)] = (str(path), m)
    return out


def test_aggregate_is_the_mean_of_raw_task_scores(tmp_path) -> None:
    tables = _tables(tmp_path)
    paths = [p for (t, s), (p, _) in tables.items() if s == 0]
    out = tmp_path / "agg.parquet"
    aggregate_importance(paths, out)
    df = pd.read_parquet(out)
    got = df[df.variant == "bansal"].score.to_numpy().reshape(4, 6)
    want = np.mean([m for (t, s), (_, m) in tables.items() if s == 0], axis=0)
    np.testing.assert_allclose(got, want)
    assert set(df.task) == {"aggregate"}
    assert read_json(tmp_path / "agg.json")["tasks"] == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"mixes shots \[0, 1\]"):
        aggregate_importance([p for p, _ in tables.values()], tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.parquet").exists()


def test_cross_task_and_cross_shot_tables(tmp_path) -> None:
    tables = _tables(tmp_path)
    out = tmp_path / "cross_task.tsv"
    cross_task_agreement([p for (t, s), (p, _) in tables.items() if s == 1], out)
    df = pd.read_csv(out, sep="\t")
    row = df.query("method == 'spearman' and task_a == 'a' and task_b == 'b'")
    want = spearmanr(tables[("a", 1)][1].ravel(), tables[("b", 1)][1].ravel()).statistic
    assert row.srcc.iloc[0] == pytest.approx(want)
    assert "aggregate" in set(df.task_a)
    assert set(df.method) == {"spearman", "paper_argsort"}
    shot_out = tmp_path / "cross_shot.tsv"
    cross_shot_agreement([p for p, _ in tables.values()], shot_out)
    summary = pd.read_csv(tmp_path / "cross_shot.summary.tsv", sep="\t")
    s = summary.query("method == 'spearman'")
    per_task = [spearmanr(tables[(t, 0)][1].ravel(), tables[(t, 1)][1].ravel()).statistic for t in "abc"]
    assert s["mean"].iloc[0] == pytest.approx(np.mean(per_task))
    assert s["n_tasks"].iloc[0] == 3
