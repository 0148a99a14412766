"""Paired bootstrap over documents: intervals for accuracies, accuracy drops and their mean over tasks.

A pruning sweep scores the same documents at every grid point, so the points are paired: one bootstrap
replicate draws, per task, ``n`` of its ``n`` documents with replacement, and uses that same draw at every
point. The accuracy of a point is then the mean over tasks of each task's mean over its drawn documents
(documents are resampled within each task, so every task keeps its weight). A drop is the reference
point's accuracy minus the point's, in the same replicate. Intervals are the 2.5th and 97.5th percentiles
of ``n_boot`` replicates (the percentile bootstrap). With a fixed ``seed`` the replicates, and therefore
the intervals, are the same on every run.

Head importance is bootstrapped over its documents in :mod:`iclprune.analysis.importance_bootstrap`;
:func:`sign_verdict` and :func:`consistency_verdict` decide its claims.

No torch: the claims table and the figures use this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

N_BOOT = 2000
SEED = 1234
LEVEL = 0.95


@dataclass(frozen=True)
class Bootstrap:
    """How intervals are drawn: ``n_boot`` replicates from ``seed``, a central ``level`` interval."""

    n_boot: int = N_BOOT
    seed: int = SEED
    level: float = LEVEL

    def __post_init__(self) -> None:
        if self.n_boot < 1:
            raise ValueError(f"n_boot={self.n_boot}; expected at least 1 replicate")
        if not 0 < self.level < 1:
            raise ValueError(f"level={self.level}; expected a probability in (0, 1)")


def _task_matrix(df: pd.DataFrame, point: str, value: str, task: str) -> tuple[list, np.ndarray]:
    """Points (sorted) and the ``(points, documents)`` matrix of one task; every point must hold the same
    documents (a sweep evaluates one document set at every point)."""
    table = df.pivot_table(index=point, columns="doc_id", values=value, aggfunc="first").sort_index()
    if table.isna().any().any():
        bad = table.index[table.isna().any(axis=1)][0]
        bad = bad.item() if hasattr(bad, "item") else bad  # a numpy scalar, shown as a plain number
        raise ValueError(
            f"task {task!r}: point {bad!r} lacks documents that other points have; a paired bootstrap needs "
            "the same documents at every point"
        )
    return list(table.index), table.to_numpy(dtype=float)


def replicates(
    docs: pd.DataFrame, point: str, *, value: str = "acc", settings: Bootstrap = Bootstrap()
) -> tuple[list, np.ndarray, np.ndarray]:
    """Bootstrap replicates of the mean-over-tasks accuracy at every point.

    Args:
        docs: per-document rows with columns ``task, doc_id, <point>, <value>`` (one shot).
        point: the column naming a grid point (e.g. ``pct_heads``).

    Returns:
        ``(points, estimate, reps)``: the sorted points common to every task, the point estimates
        ``(P,)`` (mean over tasks of each task's document mean) and the replicates ``(P, n_boot)``.
    """
    missing = {"task", "doc_id", point, value} - set(docs.columns)
    if missing:
        raise ValueError(
            f"per-document table lacks columns {sorted(missing)}; expected task, doc_id, {point}, {value}"
        )
    if docs.empty:
        raise ValueError("no per-document rows to bootstrap")
    rng = np.random.default_rng(settings.seed)
    per_task = {task: _task_matrix(df, point, value, task) for task, df in sorted(docs.groupby("task"))}
    common = sorted(set.intersection(*(set(p) for p, _ in per_task.values())))
    if not common:
        raise ValueError(f"the tasks share no {point} value; expected the same grid for every task")
    estimate = np.zeros(len(common))
    reps = np.zeros((len(common), settings.n_boot))
    for points, matrix in per_task.values():
        rows = matrix[[points.index(p) for p in common]]  # (P, N)
        n = rows.shape[1]
        draw = rng.integers(0, n, size=(settings.n_boot, n))  # one draw per replicate, shared by every point
        estimate += rows.mean(axis=1)
        reps += rows[:, draw].mean(axis=2)  # (P, n_boot)
    k = len(per_task)
    return common, estimate / k, reps / k


def interval(reps: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of replicates along the last axis: ``(low, high)``."""
    tail = 100 * (1 - level) / 2
    return np.percentile(reps, tail, axis=-1), np.percentile(reps, 100 - tail, axis=-1)


def sweep_intervals(
    docs: pd.DataFrame,
    point: str,
    *,
    value: str = "acc",
    reference: float | None = None,
    settings: Bootstrap = Bootstrap(),
) -> pd.DataFrame:
    """Mean-over-tasks accuracy at every point of a sweep with its interval, and the drop from the
    ``reference`` point (default: the smallest, i.e. the unpruned model) with its paired interval.

    Returns columns ``<point>, acc, acc_low, acc_high, drop, drop_low, drop_high`` (accuracies as shares,
    drops in points, i.e. ×100), one row per point.
    """
    points, estimate, reps = replicates(docs, point, value=value, settings=settings)
    ref = points.index(points[0] if reference is None else reference)
    low, high = interval(reps, settings.level)
    drops = 100 * (reps[ref] - reps)
    d_low, d_high = interval(drops, settings.level)
    return pd.DataFrame(
        {
            point: points,
            "acc": estimate,
            "acc_low": low,
            "acc_high": high,
            "drop": 100 * (estimate[ref] - estimate),
            "drop_low": d_low,
            "drop_high": d_high,
        }
    )


def removable(
    intervals: pd.DataFrame, point: str, max_drop: float = 5.0, *, bound: str = "drop_high"
) -> float:
    """The largest point (e.g. % of heads removed) whose drop's ``bound`` column stays within ``max_drop``
    points, with every smaller point within it too (the first point is the reference: always removable)."""
    out = float(intervals[point].iloc[0])
    for p, d in zip(intervals[point], intervals[bound], strict=True):
        if d > max_drop:
            break
        out = float(p)
    return out


def verdict(low: float, high: float, threshold: float, *, at_most: bool = True) -> str:
    """``reproduced`` when the interval lies on the claim's side of ``threshold`` (≤ it with ``at_most``),
    ``not reproduced`` when it lies wholly on the other side, ``undecided`` when it straddles it."""
    if at_most:
        return "reproduced" if high <= threshold else "not reproduced" if low > threshold else "undecided"
    return "reproduced" if low >= threshold else "not reproduced" if high < threshold else "undecided"


def sign_verdict(lows: object, highs: object) -> str:
    """A "positive" claim over one or more intervals (e.g. every task pair's SRCC): ``reproduced`` when
    every interval lies above 0, ``not reproduced`` when some interval lies below 0, else ``undecided``
    (NaN bounds count as neither)."""
    lo = np.atleast_1d(np.asarray(lows, dtype=float))
    hi = np.atleast_1d(np.asarray(highs, dtype=float))
    if lo.size == 0 or lo.shape != hi.shape:
        raise ValueError(f"{lo.size} lower and {hi.size} upper bounds; expected one of each per interval")
    return "reproduced" if (lo > 0).all() else "not reproduced" if (hi < 0).any() else "undecided"


def consistency_verdict(
    low: float, high: float, published: float, published_high: float | None = None
) -> str:
    """A published value (or range ``[published, published_high]``) checked against an interval:
    ``reproduced`` when they overlap (the interval holds the value), ``not reproduced`` otherwise (a NaN
    bound too)."""
    top = published if published_high is None else published_high
    return "reproduced" if low <= top and published <= high else "not reproduced"


__all__ = [
    "Bootstrap",
    "consistency_verdict",
    "interval",
    "removable",
    "replicates",
    "sign_verdict",
    "sweep_intervals",
    "verdict",
]
