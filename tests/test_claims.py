"""Claims are computed from result tables: check each computation on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iclprune.analysis.agreement import aggregate, cross_shot_table, cross_task_matrix, summarise_cross_shot
from iclprune.analysis.bootstrap import Bootstrap
from iclprune.analysis.importance_bootstrap import DocScores
from iclprune.core.components import head_table
from iclprune.reporting.claims import (
    NO_DOCS,
    ResultTables,
    combined_drop,
    compute_claims,
    max_fraction_within,
    quartile_shares,
)


def _sweeps(column: str, accs: dict[str, list[float]], shot: int = 0) -> pd.DataFrame:
    rows = []
    for task, values in accs.items():
        for pct, acc in zip(range(0, 10 * len(values), 10), values, strict=True):
            rows.append({"task": task, "shot": shot, "pct_heads": 0, "pct_ffns": 0, column: pct, "acc": acc})
    return pd.DataFrame(rows)


def test_largest_fraction_within_five_points_is_cumulative() -> None:
    df = _sweeps("pct_heads", {"a": [0.80, 0.79, 0.77, 0.70, 0.79], "b": [0.60, 0.60, 0.58, 0.50, 0.60]})
    # mean drops: 0, 0.5, 2.5, 10, 0.5 points -> 20% (30% breaks the budget; 40% does not count after it)
    assert max_fraction_within(df, "pct_heads", 0) == 20.0
    assert max_fraction_within(df, "pct_heads", 5) is None


def test_combined_drop_and_quartiles() -> None:
    grid = pd.DataFrame(
        [{"task": t, "shot": 0, "pct_heads": h, "pct_ffns": f, "acc": a}
         for t, h, f, a in [("a", 0, 0, 0.8), ("b", 0, 0, 0.6), ("a", 70, 20, 0.7), ("b", 70, 20, 0.6)]]
    )  # fmt: skip
    assert combined_drop(grid, 0, 70, 20) == pytest.approx(5.0)
    assert combined_drop(grid, 1, 70, 20) is None
    scores = np.zeros((8, 5))
    scores[4:6] = 1.0  # the top 10% (4 heads) all sit in layers 4-5: the third depth quartile
    assert quartile_shares(scores) == [0.0, 0.0, 1.0, 0.0]


def test_every_published_claim_is_listed_even_without_inputs() -> None:
    empty = ResultTables(*(pd.DataFrame() for _ in ResultTables.__dataclass_fields__))
    table = compute_claims(empty)
    combined = table[table.claim.str.startswith("combined")]
    assert len(combined) == 3
    assert set(combined.ours) == {"not computed"}


def test_ffn_quartiles_from_the_oracle_table() -> None:
    tables = {name: pd.DataFrame() for name in ResultTables.__dataclass_fields__}
    tables["oracle"] = pd.DataFrame(
        {"task": "a", "shot": 0, "layer": range(8), "baseline_acc": 0.5, "knocked_out_acc": 0.4,
         "score": [0, 0, 1, 1, 2, 2, 8, 8]}
    )  # fmt: skip
    table = compute_claims(ResultTables(**tables))
    row = table[table.claim.str.startswith("mean FFN oracle importance")]
    assert row.ours.iloc[0] == "0.00 / 1.00 / 2.00 / 8.00"


def _importance_tables(
    tasks: tuple[str, ...] = ("a", "b", "c"),
    shots: tuple[int, ...] = (0, 1, 5),
    n_docs: int = 16,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Importance, its per-document table and the agreement tables made from it, as the workflow makes
    them: 30 layers × 9 heads, tasks sharing part of their profile, the same documents at every shot."""
    rng = np.random.default_rng(seed)
    L, H = 30, 9
    common = rng.gamma(2.0, size=(L, H))
    scores, docs, mats = [], [], {}
    for task in tasks:
        own = common * rng.gamma(4.0, 0.25, (L, H))
        ids = rng.choice(1000, n_docs, replace=False)  # lm-eval doc ids: the same at every shot
        n_pos, n_ans = rng.integers(20, 60, n_docs), np.ones(n_docs)
        for shot in shots:
            abs_sum = (
                (own * rng.gamma(8.0, 1 / 8, (L, H)))[None]
                * n_pos[:, None, None]
                * rng.gamma(2.0, 0.5, (n_docs, L, H))
            )
            d = DocScores(
                abs_sum, abs_sum * rng.uniform(-0.5, 1, abs_sum.shape), n_pos * (shot + 1), n_ans, doc_ids=ids
            )
            docs.append(d.to_frame().assign(task=task, shot=shot))
            for variant in ("bansal", "michel"):
                mats[(task, shot, variant)] = d.scores(variant)
                scores.append(
                    head_table(score=d.scores(variant)).assign(task=task, shot=shot, variant=variant)
                )
    cross_task, agg, cross_shot = [], [], []
    for shot in shots:
        df = cross_task_matrix({t: mats[(t, shot, "bansal")] for t in tasks})
        cross_task.append(df.assign(method="spearman", shot=shot))
        for variant in ("bansal", "michel"):
            m = aggregate({t: mats[(t, shot, variant)] for t in tasks})
            agg.append(head_table(score=m).assign(task="aggregate", shot=shot, variant=variant))
    per_task = cross_shot_table({(t, s): mats[(t, s, "bansal")] for t in tasks for s in shots})
    cross_shot.append(summarise_cross_shot(per_task).assign(method="spearman"))
    prefix = aggregate({t: mats[(t, 0, "bansal")] for t in tasks}) * rng.gamma(2.0, 0.5, (L, H))
    tables = {name: pd.DataFrame() for name in ResultTables.__dataclass_fields__}
    tables.update(
        importance=pd.concat(scores, ignore_index=True), importance_docs=pd.concat(docs, ignore_index=True),
        cross_task=pd.concat(cross_task, ignore_index=True), cross_shot=pd.concat(cross_shot, ignore_index=True),
        aggregate=pd.concat(agg, ignore_index=True), induction=head_table(prefix_matching=prefix, copying=prefix),
    )  # fmt: skip
    return tables


AGREEMENT = ("pairwise cross-task", "SRCC(", "cross-shot", "top-30%")


def test_agreement_and_induction_claims_carry_intervals_and_verdicts() -> None:
    tables = _importance_tables()
    table = compute_claims(
        ResultTables(**tables), pairs=[("a", "c")], bootstrap=Bootstrap(n_boot=300, seed=2)
    )
    rows = table[table.claim.str.startswith(AGREEMENT)]
    assert len(rows) == 3 + 3 + 3 + 3 + 3  # per shot: all pairs, SRCC(a, c), aggregate; 3 shot pairs; overlap
    assert set(rows.verdict) <= {"reproduced", "not reproduced", "undecided"}
    assert (rows.low.astype(float) <= rows.high.astype(float)).all()
    positive = rows[rows.claim.str.startswith("pairwise")]
    assert set(positive.verdict) == {"reproduced"}  # the tasks share most of their profile
    assert positive.note.str.contains("3/3 pairs' intervals above 0").all()
    induction = rows[rows.claim.str.startswith("SRCC(aggregate")]
    assert set(induction.verdict) == {"reproduced"}
    assert rows[rows.claim.str.startswith("top-30%")].note.str.contains("consistency check").all()
    lowest = table[table.claim.str.startswith("task with the lowest")]
    assert set(lowest.verdict) == {"not assessed"}
    assert lowest.note.str.contains("of the bootstrap replicates").all()
    # the same seed gives the same table; the seed comes from the bootstrap argument
    again = compute_claims(
        ResultTables(**tables), pairs=[("a", "c")], bootstrap=Bootstrap(n_boot=300, seed=2)
    )
    pd.testing.assert_frame_equal(table, again)
    other = compute_claims(
        ResultTables(**tables), pairs=[("a", "c")], bootstrap=Bootstrap(n_boot=300, seed=3)
    )
    assert not table.equals(other)


def test_published_values_are_checked_against_the_interval() -> None:
    tables = _importance_tables(tasks=("a", "b"), shots=(0, 1))
    cross_task = tables["cross_task"]
    # claims read the SRCC point estimate from the table, the interval from the documents
    table = compute_claims(
        ResultTables(**tables), pairs=[("a", "b")], bootstrap=Bootstrap(n_boot=200, seed=0)
    )
    row = table[table.claim == "SRCC(a, b), 0-shot"].iloc[0]
    low, high = float(row.low), float(row.high)
    assert row.verdict == ("reproduced" if low <= 0.13 <= high else "not reproduced")
    assert float(row.ours) == pytest.approx(
        float(cross_task.query("shot == 0 and task_a == 'a' and task_b == 'b'").srcc.iloc[0]), rel=1e-3
    )
    shot_row = table[table.claim.str.startswith("cross-shot SRCC 0–1")].iloc[0]
    assert shot_row.verdict == (
        "reproduced" if float(shot_row.low) <= 0.39 <= float(shot_row.high) else "not reproduced"
    )
    assert "each shot pair resampled together" in shot_row.note


def test_without_per_document_importance_the_claims_are_not_assessed(tmp_path) -> None:
    tables = _importance_tables(tasks=("a", "b"), shots=(0, 1))
    no_docs = dict(tables, importance_docs=pd.DataFrame())
    table = compute_claims(ResultTables(**no_docs), pairs=[("a", "b")], bootstrap=Bootstrap(n_boot=50))
    rows = table[table.claim.str.startswith(AGREEMENT)]
    assert len(rows) == 2 + 2 + 1 + 2 + 2
    assert set(rows.verdict) == {"not assessed"}
    assert rows.note.str.contains(NO_DOCS).all()
    # one task lacking its documents at one shot: only the claims that need it fall back
    docs = tables["importance_docs"]
    partial = dict(tables, importance_docs=docs[~((docs.task == "b") & (docs.shot == 1))])
    table = compute_claims(ResultTables(**partial), pairs=[("a", "b")], bootstrap=Bootstrap(n_boot=50))
    assert table.set_index("claim").verdict["pairwise cross-task SRCC positive, 0-shot"] != "not assessed"
    assert table.set_index("claim").note["SRCC(a, b), 1-shot"] == f"{NO_DOCS} for b at 1-shot"
    # ResultTables.read: the per-document table beside each importance table; missing → left out
    paths = []
    for (task, shot), df in tables["importance"].groupby(["task", "shot"]):
        out = tmp_path / task / f"{shot}shot" / "heads.parquet"
        out.parent.mkdir(parents=True)
        df.to_parquet(out)
        if (task, shot) != ("b", 1):
            docs[(docs.task == task) & (docs.shot == shot)].to_parquet(out.with_name("heads.docs.parquet"))
        paths.append(out)
    read = ResultTables.read({"importance": paths})
    assert len(read.importance_docs) == len(docs) * 3 // 4
    assert ResultTables.read({"importance": paths[-1:]}).importance_docs.empty
