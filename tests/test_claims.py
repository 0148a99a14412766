"""Claims are computed from result tables: check each computation on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iclprune.reporting.claims import (
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
