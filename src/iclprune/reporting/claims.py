"""The claims table: every published number of Bansal et al. (2023) beside the value this run computed.

Each row is computed from result tables by a function here (never typed in); a claim whose inputs the
run did not produce (e.g. a task pair absent from the config) is reported as ``not computed`` with the
reason, so the table always lists every published claim.

The pruning claims carry a 95% interval from a paired bootstrap over documents (resampled within each
task, :mod:`iclprune.analysis.bootstrap`; seeded, so the table is the same on every run) and a verdict:
``reproduced``, ``not reproduced``, or ``undecided`` when the interval straddles the paper's threshold.
A fraction counts as removable only while the upper end of the drop's interval stays within 5 points.
Claims without a document-level interval yet (rankings, agreement, induction) say ``not assessed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclprune.analysis.bootstrap import Bootstrap, removable, sweep_intervals, verdict
from iclprune.core.io import read_table

CLAIM_COLUMNS = ["claim", "paper", "ours", "low", "high", "verdict", "unit", "figure", "note"]
MAX_DROP = 5.0  # points: the paper's "little loss" budget
NOT_ASSESSED = "not assessed"


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
    head_docs: pd.DataFrame = field(default_factory=pd.DataFrame)  # per-document rows of the sweeps
    ffn_docs: pd.DataFrame = field(default_factory=pd.DataFrame)
    combined_docs: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def read(cls, paths: Mapping[str, Sequence[str | Path]]) -> ResultTables:
        """The tables of ``paths`` (name → files); each sweep's per-document table is read from beside it
        (``x/heads.parquet`` → ``x/heads.docs.parquet``, written before the sweep's summary)."""

        def cat(files: Sequence[str | Path]) -> pd.DataFrame:
            return pd.concat([read_table(p) for p in files], ignore_index=True) if files else pd.DataFrame()

        def docs(key: str) -> pd.DataFrame:
            return cat([Path(p).with_name(Path(p).stem + ".docs.parquet") for p in paths.get(key, [])])

        tables = {
            name: cat(list(paths.get(name, []))) for name in cls.__dataclass_fields__ if "docs" not in name
        }
        sweeps = {"head_docs": "head_sweeps", "ffn_docs": "ffn_sweeps", "combined_docs": "combined"}
        return cls(**tables, **{name: docs(key) for name, key in sweeps.items()})


def _row(
    claim: str,
    paper: str,
    ours: Any,
    unit: str,
    figure: str,
    note: str = "",
    *,
    low: float | str = "",
    high: float | str = "",
    verdict: str = NOT_ASSESSED,
) -> dict[str, Any]:
    def text(v: Any) -> Any:
        return f"{v:.3g}" if isinstance(v, float) else v

    return {"claim": claim, "paper": paper, "ours": text(ours), "low": text(low), "high": text(high),
            "verdict": verdict, "unit": unit, "figure": figure, "note": note}  # fmt: skip


def removable_claim(
    docs: pd.DataFrame, sweeps: pd.DataFrame, column: str, shot: int, paper_pct: float, settings: Bootstrap
) -> dict[str, Any]:
    """The removable fraction of one shot's sweeps, decided from the interval of the mean drop: ``ours``
    uses the drop's upper 95% bound (conservative), ``low``/``high`` the fractions that the upper and
    lower bound allow; ``reproduced`` when even the upper bound allows ``paper_pct``."""
    df = docs[docs.shot == shot] if not docs.empty else docs
    if df.empty:  # no per-document tables (an older run): the point estimate only
        return {"ours": max_fraction_within(sweeps, column, shot, MAX_DROP), "note": "no per-document tables"}
    iv = sweep_intervals(df, column, settings=settings)
    sure, maybe = removable(iv, column, MAX_DROP), removable(iv, column, MAX_DROP, bound="drop_low")
    at = iv[iv[column] == paper_pct]
    note = f"point estimate {removable(iv, column, MAX_DROP, bound='drop'):.3g}"
    if not at.empty:
        note += f"; drop at {paper_pct:g}%: {at['drop'].iloc[0]:.1f} [{at.drop_low.iloc[0]:.1f}, {at.drop_high.iloc[0]:.1f}]"
    return {
        "ours": sure, "low": sure, "high": maybe, "note": note,
        "verdict": "reproduced" if sure >= paper_pct else "not reproduced" if maybe < paper_pct else "undecided",
    }  # fmt: skip


def combined_claim(
    docs: pd.DataFrame, shot: int, heads: float, ffns: float, settings: Bootstrap
) -> dict[str, Any]:
    """The mean drop at ``heads``% + ``ffns``% pruned with its paired interval (None fields when absent)."""
    df = docs[docs.shot == shot] if not docs.empty else docs
    if df.empty:
        return {}
    df = df.assign(point=list(zip(df.pct_heads.astype(float), df.pct_ffns.astype(float), strict=True)))
    iv = sweep_intervals(df, "point", reference=(0.0, 0.0), settings=settings)
    at = iv[iv.point == (float(heads), float(ffns))]
    if at.empty:
        return {}
    return {
        "ours": float(at["drop"].iloc[0]),
        "low": float(at.drop_low.iloc[0]),
        "high": float(at.drop_high.iloc[0]),
    }


def max_fraction_within(sweeps: pd.DataFrame, column: str, shot: int, max_drop: float = 5.0) -> float | None:
    """Largest % pruned whose mean accuracy over tasks is within ``max_drop`` points of the unpruned mean."""
    df = sweeps[sweeps.shot == shot]
    if df.empty:
        return None
    mean = df.groupby(column).acc.mean() * 100
    if 0 not in mean.index:
        return None
    # the fraction is removable only if every smaller fraction also stays within the budget
    drops = pd.DataFrame({column: mean.index, "drop": (mean[0] - mean).to_numpy()}).sort_values(column)
    return removable(drops, column, max_drop, bound="drop")


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
    t: ResultTables,
    *,
    variant: str = "bansal",
    pairs: Sequence[Sequence[str]] = (),
    bootstrap: Bootstrap = Bootstrap(),
) -> pd.DataFrame:
    """Every published claim with this run's value (see method.md, "Published numbers"); the pruning
    claims with their 95% interval and verdict (``bootstrap``: replicates and seed)."""
    from iclprune.analysis.agreement import spearman, topk_overlap

    rows = []
    shots = sorted(set(t.head_sweeps.shot)) if not t.head_sweeps.empty else []
    for shot in shots:
        got = removable_claim(t.head_docs, t.head_sweeps, "pct_heads", shot, 70.0, bootstrap)
        rows.append(_row(
            f"heads removable with ≤5 points mean drop, {shot}-shot", "~70", got.pop("ours"), "% of heads",
            "fig05", **got,
        ))  # fmt: skip
    for shot in sorted(set(t.ffn_sweeps.shot)) if not t.ffn_sweeps.empty else []:
        paper = 20.0 if shot == 0 else 10.0
        got = removable_claim(t.ffn_docs, t.ffn_sweeps, "pct_ffns", shot, paper, bootstrap)
        rows.append(_row(
            f"FFNs removable with ≤5 points mean drop, {shot}-shot", f"~{paper:g}", got.pop("ours"), "% of FFNs",
            "fig06", **got,
        ))  # fmt: skip
    for shot, heads, ffns, paper in ((0, 70, 20, 5.0), (1, 70, 10, 6.0), (5, 60, 20, 4.0)):
        got = combined_claim(t.combined_docs, shot, heads, ffns, bootstrap)
        drop = combined_drop(t.combined, shot, heads, ffns) if not t.combined.empty else None
        claim = f"combined {heads}% heads + {ffns}% FFNs: mean accuracy drop, {shot}-shot"
        if got:
            rows.append(_row(
                claim, f"{paper:g}", got["ours"], "points", "fig07", f"reproduced: the drop's upper bound ≤ {paper:g}",
                low=got["low"], high=got["high"], verdict=verdict(got["low"], got["high"], paper),
            ))  # fmt: skip
        else:
            rows.append(_row(
                claim, f"{paper:g}", drop if drop is not None else "not computed", "points", "fig07",
                "no per-document tables" if drop is not None else "shot or grid point not in this config",
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
