"""The claims table: every published number of Bansal et al. (2023) beside the value this run computed.

Each row is computed from result tables by a function here (never typed in); a claim whose inputs the
run did not produce (e.g. a task pair absent from the config) is reported as ``not computed`` with the
reason, so the table always lists every published claim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclprune.core.io import read_table

CLAIM_COLUMNS = ["claim", "paper", "ours", "unit", "figure", "note"]


@dataclass
class ResultTables:
    """The concatenated result tables a claims computation reads (any may be empty)."""

    importance: pd.DataFrame
    head_sweeps: pd.DataFrame
    ffn_sweeps: pd.DataFrame
    combined: pd.DataFrame
    aggregate: pd.DataFrame
    oracle: pd.DataFrame
    cross_task: pd.DataFrame
    cross_shot: pd.DataFrame
    induction: pd.DataFrame
    retained: pd.DataFrame

    @classmethod
    def read(cls, paths: Mapping[str, Sequence[str | Path]]) -> ResultTables:
        def cat(key: str) -> pd.DataFrame:
            files = list(paths.get(key, []))
            return pd.concat([read_table(p) for p in files], ignore_index=True) if files else pd.DataFrame()

        return cls(**{name: cat(name) for name in cls.__dataclass_fields__})


def _row(claim: str, paper: str, ours: Any, unit: str, figure: str, note: str = "") -> dict[str, Any]:
    if isinstance(ours, float):
        ours = f"{ours:.3g}"
    return {"claim": claim, "paper": paper, "ours": ours, "unit": unit, "figure": figure, "note": note}


def max_fraction_within(sweeps: pd.DataFrame, column: str, shot: int, max_drop: float = 5.0) -> float | None:
    """Largest % pruned whose mean accuracy over tasks is within ``max_drop`` points of the unpruned mean."""
    df = sweeps[sweeps.shot == shot]
    if df.empty:
        return None
    mean = df.groupby(column).acc.mean() * 100
    if 0 not in mean.index:
        return None
    ok = mean.index[(mean[0] - mean) <= max_drop]
    # the fraction is removable only if every smaller fraction also stays within the budget
    removable = 0.0
    for pct in sorted(mean.index):
        if pct not in ok:
            break
        removable = float(pct)
    return removable


def combined_drop(grid: pd.DataFrame, shot: int, heads: float, ffns: float) -> float | None:
    """Mean accuracy drop (points) over tasks at ``heads``% heads + ``ffns``% FFNs pruned."""
    df = grid[grid.shot == shot]
    full = df[(df.pct_heads == 0) & (df.pct_ffns == 0)]
    point = df[(df.pct_heads == heads) & (df.pct_ffns == ffns)]
    if full.empty or point.empty:
        return None
    return float(100 * (full.acc.mean() - point.acc.mean()))


def quartile_shares(scores: np.ndarray, top_frac: float = 0.1) -> list[float]:
    """Share of the top ``top_frac`` heads of a ``(layers, heads)`` matrix in each depth quartile."""
    n_layers = scores.shape[0]
    k = max(1, int(top_frac * scores.size))
    top = np.argsort(-scores.ravel(), kind="stable")[:k] // scores.shape[1]
    quartile = np.minimum(4 * top // n_layers, 3)
    return [float(np.mean(quartile == q)) for q in range(4)]


def compute_claims(
    t: ResultTables, *, variant: str = "bansal", pairs: Sequence[Sequence[str]] = ()
) -> pd.DataFrame:
    """Every published claim with this run's value (see method.md, "Published numbers")."""
    from iclprune.analysis.agreement import spearman, topk_overlap

    rows = []
    shots = sorted(set(t.head_sweeps.shot)) if not t.head_sweeps.empty else []
    for shot in shots:
        pct = max_fraction_within(t.head_sweeps, "pct_heads", shot)
        rows.append(
            _row(f"heads removable with ≤5 points mean drop, {shot}-shot", "~70", pct, "% of heads", "fig05")
        )
    for shot in sorted(set(t.ffn_sweeps.shot)) if not t.ffn_sweeps.empty else []:
        pct = max_fraction_within(t.ffn_sweeps, "pct_ffns", shot)
        paper = "~20" if shot == 0 else "~10"
        rows.append(
            _row(f"FFNs removable with ≤5 points mean drop, {shot}-shot", paper, pct, "% of FFNs", "fig06")
        )
    for shot, heads, ffns, paper in ((0, 70, 20, "5"), (1, 70, 10, "6"), (5, 60, 20, "4")):
        drop = combined_drop(t.combined, shot, heads, ffns) if not t.combined.empty else None
        rows.append(_row(
            f"combined {heads}% heads + {ffns}% FFNs: mean accuracy drop, {shot}-shot", paper,
            drop if drop is not None else "not computed", "points", "fig07",
            "" if drop is not None else "shot or grid point not in this config",
        ))  # fmt: skip
    if not t.aggregate.empty:
        for shot, df in t.aggregate[t.aggregate.variant == variant].groupby("shot"):
            m = df.pivot(index="layer", columns="head", values="score").sort_index().to_numpy()
            shares = quartile_shares(m)
            rows.append(_row(
                f"top-10% aggregate heads per depth quartile (Q1..Q4), {shot}-shot", "most in intermediate layers",
                " / ".join(f"{s:.2f}" for s in shares), "share", "fig03",
            ))  # fmt: skip
    if not t.oracle.empty:
        for shot, df in t.oracle.groupby("shot"):
            per_layer = df.groupby("layer").score.mean()
            n = len(per_layer)
            quartile = np.minimum(4 * per_layer.index.to_numpy() // n, 3)
            q = [float(per_layer.to_numpy()[quartile == i].mean()) for i in range(4)]
            rows.append(_row(
                f"mean FFN oracle importance per depth quartile (Q1..Q4), {shot}-shot", "mostly later layers",
                " / ".join(f"{v:.2f}" for v in q), "points", "fig04",
            ))  # fmt: skip
    if not t.cross_task.empty:
        tt = t.cross_task[(t.cross_task.method == "spearman") & (t.cross_task.task_a != t.cross_task.task_b)]
        tt = tt[(tt.task_a != "aggregate") & (tt.task_b != "aggregate")]
        for shot, df in tt.groupby("shot"):
            if df.empty:
                continue
            positive = f"{int((df.srcc > 0).sum())}/{len(df)} positive, {int((df.p_value < 0.01).sum())}/{len(df)} p<0.01"
            rows.append(
                _row(
                    f"pairwise cross-task SRCC positive, {shot}-shot",
                    "all positive (p<0.01)",
                    positive,
                    "pairs",
                    "fig08",
                )
            )
            lowest = df.groupby("task_a").srcc.mean().idxmin()
            rows.append(
                _row(f"task with the lowest mean SRCC, {shot}-shot", "ReCoRD", lowest, "task", "fig08")
            )
        for a, b in pairs:
            for shot, df in tt.groupby("shot"):
                hit = df[(df.task_a == a) & (df.task_b == b)]
                if not hit.empty:
                    rows.append(
                        _row(f"SRCC({a}, {b}), {shot}-shot", "0.13", float(hit.srcc.iloc[0]), "rho", "fig08")
                    )
    if not t.cross_shot.empty:
        s = t.cross_shot[t.cross_shot.method == "spearman"]
        published = {(0, 1): "0.39", (0, 5): "0.37", (1, 5): "0.41"}
        for _, r in s.iterrows():
            key = (int(r.shot_a), int(r.shot_b))
            rows.append(_row(
                f"cross-shot SRCC {key[0]}–{key[1]} shot, mean (variance) over tasks",
                f"{published.get(key, 'n/a')} (0.001)", f"{r['mean']:.3g} ({r['variance']:.2g})", "rho", "table1",
            ))  # fmt: skip
    if not t.induction.empty and not t.aggregate.empty:
        ind = t.induction.sort_values(["layer", "head"])
        for shot, df in t.aggregate[t.aggregate.variant == variant].groupby("shot"):
            imp = df.sort_values(["layer", "head"]).score.to_numpy()
            rho, p = spearman(imp, ind.prefix_matching.to_numpy())
            rows.append(_row(
                f"SRCC(aggregate importance, prefix matching), {shot}-shot", "positive (important heads are induction heads)",
                rho, "rho", "fig10", f"p={p:.2g}",
            ))  # fmt: skip
    if not t.retained.empty:
        r = t.retained[t.retained.ranking_task == "aggregate"]
        for (shot, kind), df in r.groupby(["shot", "score_kind"]):
            at = {x: float(np.interp(x, df.pct_pruned, df.pct_retained)) for x in (20, 40)}
            rows.append(_row(
                f"{kind} capacity retained after pruning 20% / 40% of heads, {shot}-shot",
                "most survives 20%, faster decline past 40%" if kind == "prefix_matching" else "n/a",
                f"{at[20]:.1f} / {at[40]:.1f}", "% retained", "fig11",
            ))  # fmt: skip
    if not t.importance.empty:
        imp = t.importance[t.importance.variant == variant]
        for a, b in pairs:
            for shot, df in imp.groupby("shot"):
                ma, mb = (
                    df[df.task == x].pivot(index="layer", columns="head", values="score").to_numpy()
                    for x in (a, b)
                )
                if ma.size and mb.size:
                    overlap = topk_overlap(ma, mb, 0.3)
                    rows.append(
                        _row(
                            f"top-30% head overlap({a}, {b}), {shot}-shot",
                            "71–76",
                            100 * overlap,
                            "%",
                            "fig08",
                        )
                    )
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)
