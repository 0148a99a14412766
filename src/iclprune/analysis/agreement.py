"""Agreement and ranking analysis of component importance scores.

Everything here is pure numerics (numpy / pandas / scipy) on importance-score arrays:

* attention-head scores have shape ``(layers, heads)``; they are flattened row-major, so the flat
  index of head ``h`` in layer ``l`` is ``l * heads + h``;
* FFN scores have shape ``(layers,)``.

Higher score = more important. Pruning removes the *least* important components first
(:func:`rank_ascending`, :func:`n_removed`).

Correlations follow Bansal et al. (2023), "Rethinking the Role of Scale for In-Context Learning",
which compares importance rankings across tasks (cross-task SRCC, their Fig. 5), across numbers of
in-context examples (cross-shot SRCC, their Table 1) and against an aggregate ranking (their eq. 10).
Two Spearman variants are offered:

* ``"spearman"`` — textbook Spearman's rank correlation of the two score vectors
  (identical to :func:`scipy.stats.spearmanr`);
* ``"paper_argsort"`` — what the original code computed: Spearman of the two *argsort* vectors.
  It is kept only to reproduce the published numbers; see :func:`paper_argsort_spearman` for why it
  does not measure ranking agreement.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "Method",
    "aggregate",
    "correlate",
    "cross_shot_table",
    "cross_task_matrix",
    "n_removed",
    "paper_argsort_spearman",
    "partner_tasks",
    "rank_ascending",
    "retained_capacity",
    "spearman",
    "summarise_cross_shot",
    "to_square",
    "topk_overlap",
]

Method = Literal["spearman", "paper_argsort"]
"""Correlation used to compare two score arrays: textbook Spearman or the original code's variant."""

_METHODS: tuple[str, ...] = get_args(Method)

CROSS_TASK_COLUMNS: tuple[str, ...] = ("task_a", "task_b", "srcc", "p_value")
CROSS_SHOT_COLUMNS: tuple[str, ...] = ("task", "shot_a", "shot_b", "srcc", "p_value")
SUMMARY_COLUMNS: tuple[str, ...] = ("shot_a", "shot_b", "mean", "variance", "n_tasks")
CAPACITY_COLUMNS: tuple[str, ...] = ("pct_pruned", "pct_retained")


# --------------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------------


def _as_scores(x: object, name: str = "scores") -> np.ndarray:
    """Validate a score array of shape ``(layers, heads)`` or ``(layers,)`` and return it as float64.

    Raises ValueError for a wrong number of dimensions, an empty array, a non-numeric array or
    any NaN/Inf entry (the message names how many and where the first one is).
    """
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__}: {exc}") from exc
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape (layers, heads) or (layers,), got ndim={arr.ndim} shape={arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one component")
    bad = ~np.isfinite(arr)
    n_bad = int(bad.sum())
    if n_bad:
        flat_first = int(np.flatnonzero(bad.ravel())[0])
        where = tuple(int(i) for i in np.unravel_index(flat_first, arr.shape))
        raise ValueError(
            f"{name} contains {n_bad} non-finite value(s) (NaN/Inf) out of {arr.size}; first at index "
            f"{where} (flat index {flat_first}), value {arr.ravel()[flat_first]}"
        )
    return arr


def _check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str = "a", name_b: str = "b") -> None:
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {name_a} has shape {a.shape} but {name_b} has shape {b.shape}")


def _exact_fraction(x: float, name: str) -> Fraction:
    """Exact decimal value of ``x`` as written (``0.3`` -> ``3/10``, not the binary float)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating, Fraction)):
        raise ValueError(f"{name} must be a real number, got {x!r} ({type(x).__name__})")
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    xf = float(x)
    if not math.isfinite(xf):
        raise ValueError(f"{name} must be finite, got {x!r}")
    # repr of a Python float is the shortest string that round-trips, i.e. the number as typed.
    return Fraction(repr(xf))


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise ValueError(f"unknown correlation method {method!r}; expected one of {list(_METHODS)}")


# --------------------------------------------------------------------------------------------------
# ranking / pruning counts
# --------------------------------------------------------------------------------------------------


def rank_ascending(scores: np.ndarray) -> np.ndarray:
    """Flat component indices ordered from least to most important.

    Args:
        scores: importance scores of shape ``(layers, heads)`` (flattened row-major, so flat index
            ``= layer * heads + head``) or ``(layers,)`` for FFNs. Higher = more important.

    Returns:
        int64 array of shape ``(layers * heads,)`` (resp. ``(layers,)``): ``out[r]`` is the flat
        index of the component at rank ``r`` (rank 0 = lowest score = pruned first). Ties keep index
        order (stable sort): among equal scores the lower flat index comes first.

    Raises:
        ValueError: wrong number of dimensions, empty input, or any NaN/Inf (count and first index
            are reported).
    """
    arr = _as_scores(scores, "scores")
    return np.argsort(arr.ravel(), kind="stable").astype(np.int64, copy=False)


def n_removed(p: float, n: int) -> int:
    """Number of components removed when pruning ``p`` percent of ``n``: ``floor(p * n / 100)``.

    Computed with exact rational arithmetic on the decimal value of ``p`` (``Fraction(repr(p))``), so
    float artefacts cannot shift the floor: ``n_removed(70, 4608) == 3225``, ``n_removed(10, 64) == 6``.

    Args:
        p: percentage in ``[0, 100]``.
        n: total number of components, a non-negative integer.

    Raises:
        ValueError: ``p`` outside ``[0, 100]`` or not finite, or ``n`` negative / not an integer.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"n must be a non-negative integer, got {n!r} ({type(n).__name__})")
    if n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n}")
    frac = _exact_fraction(p, "p")
    if not 0 <= frac <= 100:
        raise ValueError(f"p must be a percentage in [0, 100], got {p!r}")
    return math.floor(frac * int(n) / 100)


# --------------------------------------------------------------------------------------------------
# correlations
# --------------------------------------------------------------------------------------------------


def _spearman_flat(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman rho and two-sided p-value of two finite 1-D vectors of equal length ``n >= 3``.

    Mirrors :func:`scipy.stats.spearmanr`: average ranks for ties, Pearson correlation of the ranks,
    p-value from Student's t with ``n - 2`` degrees of freedom. Returns ``(nan, nan)`` if either
    vector is constant (the correlation is undefined).
    """
    rx = stats.rankdata(x)
    ry = stats.rankdata(y)
    rx = rx - rx.mean()
    ry = ry - ry.mean()
    sxx = float(np.dot(rx, rx))
    syy = float(np.dot(ry, ry))
    if sxx == 0.0 or syy == 0.0:
        return math.nan, math.nan
    rho = float(np.dot(rx, ry) / math.sqrt(sxx * syy))
    rho = min(1.0, max(-1.0, rho))
    dof = x.size - 2
    denom = (1.0 + rho) * (1.0 - rho)
    if denom <= 0.0:
        return rho, 0.0
    t = rho * math.sqrt(dof / denom)
    p = float(2.0 * stats.t.sf(abs(t), dof))
    return rho, min(1.0, p)


def _flat_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    aa = _as_scores(a, "a")
    bb = _as_scores(b, "b")
    _check_same_shape(aa, bb)
    if aa.size < 3:
        raise ValueError(
            f"need at least 3 components to compute a Spearman p-value, got {aa.size} (shape {aa.shape})"
        )
    return aa.ravel(), bb.ravel()


def spearman(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Textbook Spearman rank correlation between two score arrays.

    Args:
        a, b: score arrays of identical shape, ``(layers, heads)`` or ``(layers,)``; they are
            flattened (row-major) and compared component by component.

    Returns:
        ``(rho, p_value)``: Spearman's rho (Pearson correlation of the average ranks, so ties get
        their mean rank) and the two-sided p-value from a t-distribution with ``N - 2`` degrees of
        freedom — the same numbers as ``scipy.stats.spearmanr(a.ravel(), b.ravel())``.
        If either input is constant the correlation is undefined and ``(nan, nan)`` is returned
        (scipy likewise returns NaN), so tables can still be built; callers should check.

    Raises:
        ValueError: shapes differ (both are named), fewer than 3 components, or NaN/Inf present.
    """
    x, y = _flat_pair(a, b)
    return _spearman_flat(x, y)


def paper_argsort_spearman(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """The original code's "SRCC": Spearman correlation of the two *argsort* vectors.

    Computes ``spearman(np.argsort(a.ravel()), np.argsort(b.ravel()))``. Here ``argsort(a)[r]`` is the
    flat index (``layer * heads + head``) of the component at rank ``r``, so the statistic asks
    "are the *index numbers* found at each rank position correlated?" instead of "do the two score
    vectors rank each component similarly?".

    Why it is wrong (kept only to reproduce published numbers):

    * It depends on the arbitrary numbering of components. Relabelling components (applying the
      same permutation to both ``a`` and ``b``) leaves the textbook rho unchanged but changes this
      value arbitrarily.
    * Two nearly identical rankings can score near zero or even negative: if ``b`` is ``a`` with a
      small amount of noise, components swap places with *neighbouring ranks*, and the indices at
      neighbouring ranks are unrelated numbers, so the correlation of the argsort vectors collapses
      towards the fraction of ranks that match exactly (e.g. two noisy copies of a random
      4608-vector: textbook rho ~0.9, this variant ~0).
    * It only coincides with the textbook rho in special cases, e.g. when one of the inputs is
      already sorted (then the two argsorts are a permutation and its inverse, which give the same
      set of rank pairs).

    Ties: a stable argsort is used so the result is deterministic; numpy's default (quicksort)
    argsort used by the original code orders tied entries arbitrarily. Without ties the two agree.

    Args:
        a, b: score arrays of identical shape, ``(layers, heads)`` or ``(layers,)``.

    Returns:
        ``(rho, p_value)`` of the argsort vectors (never NaN: argsorts are permutations).

    Raises:
        ValueError: shapes differ, fewer than 3 components, or NaN/Inf present.
    """
    x, y = _flat_pair(a, b)
    sx = np.argsort(x, kind="stable").astype(np.float64)
    sy = np.argsort(y, kind="stable").astype(np.float64)
    return _spearman_flat(sx, sy)


def correlate(a: np.ndarray, b: np.ndarray, method: Method = "spearman") -> tuple[float, float]:
    """Dispatch to :func:`spearman` (``"spearman"``) or :func:`paper_argsort_spearman` (``"paper_argsort"``).

    Args:
        a, b: score arrays of identical shape, ``(layers, heads)`` or ``(layers,)``.
        method: which correlation to compute.

    Returns:
        ``(rho, p_value)``.

    Raises:
        ValueError: unknown ``method``, or any input error of the chosen function.
    """
    _check_method(method)
    if method == "spearman":
        return spearman(a, b)
    return paper_argsort_spearman(a, b)


# --------------------------------------------------------------------------------------------------
# aggregate and cross-task / cross-shot tables
# --------------------------------------------------------------------------------------------------


def aggregate(scores: Mapping[str, np.ndarray]) -> np.ndarray:
    """Element-wise mean of the raw per-task score arrays (paper eq. 10).

    Args:
        scores: task name -> scores of shape ``(layers, heads)`` (or ``(layers,)``); all the same shape.

    Returns:
        float64 array of the common shape: the mean over tasks of the raw (unnormalised) scores.

    Raises:
        ValueError: empty mapping, shapes that disagree (the offending task and both shapes are
            named), or NaN/Inf in a task's scores.
    """
    if len(scores) == 0:
        raise ValueError("aggregate needs at least one task's scores, got an empty mapping")
    arrays: list[np.ndarray] = []
    first_name: str | None = None
    for name, s in scores.items():
        arr = _as_scores(s, f"scores[{name!r}]")
        if arrays and arr.shape != arrays[0].shape:
            raise ValueError(
                f"shape mismatch: scores[{name!r}] has shape {arr.shape} but "
                f"scores[{first_name!r}] has shape {arrays[0].shape}"
            )
        if first_name is None:
            first_name = name
        arrays.append(arr)
    return np.mean(np.stack(arrays, axis=0), axis=0)


def cross_task_matrix(
    scores: Mapping[str, np.ndarray],
    method: Method = "spearman",
    aggregate_name: str = "aggregate",
) -> pd.DataFrame:
    """Rank correlation between every ordered pair of tasks, plus the aggregate as an extra task.

    Args:
        scores: task name -> scores of shape ``(layers, heads)`` (or ``(layers,)``), all the same shape,
            for one fixed number of shots.
        method: ``"spearman"`` (textbook) or ``"paper_argsort"`` (original code).
        aggregate_name: task name given to :func:`aggregate` of all tasks in ``scores``; it is
            appended after the given tasks. Must not collide with a task name.

    Returns:
        Long DataFrame with columns ``task_a, task_b, srcc, p_value`` and one row per ordered pair
        ``(task_a, task_b)`` over ``tasks + [aggregate_name]``, diagonal included, in row-major order
        of that task list (``T = len(scores) + 1`` tasks give ``T * T`` rows). The textbook method is
        symmetric with diagonal 1 (up to float rounding); a task with constant scores gives NaN.

    Raises:
        ValueError: empty mapping, ``aggregate_name`` already a task, unknown ``method``, shape
            mismatch or NaN/Inf.
    """
    _check_method(method)
    if len(scores) == 0:
        raise ValueError("cross_task_matrix needs at least one task's scores, got an empty mapping")
    if aggregate_name in scores:
        raise ValueError(
            f"aggregate_name {aggregate_name!r} collides with a task name; choose another aggregate_name"
        )
    arrays: dict[str, np.ndarray] = {str(k): _as_scores(v, f"scores[{k!r}]") for k, v in scores.items()}
    arrays[aggregate_name] = aggregate(arrays)
    names = list(arrays)
    rows: list[tuple[str, str, float, float]] = []
    cache: dict[tuple[str, str], tuple[float, float]] = {}
    for ta in names:
        for tb in names:
            key = (tb, ta)
            if method == "spearman" and key in cache:
                rho, p = cache[key]  # textbook Spearman is symmetric
            else:
                rho, p = correlate(arrays[ta], arrays[tb], method)
                cache[(ta, tb)] = (rho, p)
            rows.append((ta, tb, rho, p))
    return pd.DataFrame(rows, columns=list(CROSS_TASK_COLUMNS))


def to_square(df: pd.DataFrame, value: str = "srcc") -> pd.DataFrame:
    """Pivot a long cross-task frame (from :func:`cross_task_matrix`) into a square matrix.

    Args:
        df: long frame with columns ``task_a, task_b`` and ``value``.
        value: column to place in the cells (``"srcc"`` or ``"p_value"``).

    Returns:
        DataFrame indexed by ``task_a`` with columns ``task_b``, both in order of first appearance
        in ``df`` (so the aggregate, appended last by :func:`cross_task_matrix`, stays last).
        Missing pairs are NaN.

    Raises:
        ValueError: required columns missing or duplicate ``(task_a, task_b)`` pairs.
    """
    missing = [c for c in ("task_a", "task_b", value) if c not in df.columns]
    if missing:
        raise ValueError(f"to_square: missing column(s) {missing}; got columns {list(df.columns)}")
    dup = df.duplicated(subset=["task_a", "task_b"])
    if dup.any():
        first = df.loc[dup, ["task_a", "task_b"]].iloc[0].tolist()
        raise ValueError(f"to_square: duplicate (task_a, task_b) pair {tuple(first)}")
    order_a = list(dict.fromkeys(df["task_a"]))
    order_b = list(dict.fromkeys(df["task_b"]))
    sq = df.pivot(index="task_a", columns="task_b", values=value)
    sq = sq.reindex(index=order_a, columns=order_b)
    sq.index.name = "task_a"
    sq.columns.name = "task_b"
    return sq


def cross_shot_table(
    scores: Mapping[tuple[str, int], np.ndarray],
    method: Method = "spearman",
) -> pd.DataFrame:
    """Per task, the rank correlation between its scores at each pair of shot counts present.

    Args:
        scores: ``(task, shots)`` -> scores of shape ``(layers, heads)`` (or ``(layers,)``). Shapes must
            agree within a task. A task with a single shot count contributes no rows.
        method: ``"spearman"`` or ``"paper_argsort"``.

    Returns:
        Long DataFrame with columns ``task, shot_a, shot_b, srcc, p_value``: for each task (in order of
        first appearance) one row per pair ``shot_a < shot_b`` of its shot counts, e.g. ``(0, 1),
        (0, 5), (1, 5)``.

    Raises:
        ValueError: malformed keys (not ``(str, int)`` with shots >= 0), unknown method, shape mismatch
            within a task, or NaN/Inf.
    """
    _check_method(method)
    per_task: dict[str, dict[int, np.ndarray]] = {}
    for key, s in scores.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"cross_shot_table keys must be (task, shots) tuples, got {key!r}")
        task, shots = key
        if not isinstance(task, str):
            raise ValueError(f"task in key {key!r} must be a str, got {type(task).__name__}")
        if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 0:
            raise ValueError(f"shots in key {key!r} must be a non-negative int, got {shots!r}")
        per_task.setdefault(task, {})[int(shots)] = _as_scores(s, f"scores[{key!r}]")
    rows: list[tuple[str, int, int, float, float]] = []
    for task, by_shot in per_task.items():
        for sa, sb in itertools.combinations(sorted(by_shot), 2):
            a, b = by_shot[sa], by_shot[sb]
            if a.shape != b.shape:
                raise ValueError(
                    f"shape mismatch for task {task!r}: shots={sa} has shape {a.shape} but "
                    f"shots={sb} has shape {b.shape}"
                )
            rho, p = correlate(a, b, method)
            rows.append((task, sa, sb, rho, p))
    df = pd.DataFrame(rows, columns=list(CROSS_SHOT_COLUMNS))
    return df.astype({"shot_a": "int64", "shot_b": "int64", "srcc": "float64", "p_value": "float64"})


def summarise_cross_shot(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and variance over tasks of the cross-shot SRCC, per shot pair (paper Table 1).

    Variance convention: sample variance (``ddof=1``) when a shot pair has more than one task; with
    a single task the variance is reported as ``0.0`` (``ddof=0``) rather than undefined.
    NaN correlations (constant scores) are *not* skipped: they propagate into ``mean``/``variance``
    so a degenerate task is visible; ``n_tasks`` counts all rows of the pair.

    Args:
        df: long frame from :func:`cross_shot_table` (columns ``task, shot_a, shot_b, srcc``).

    Returns:
        DataFrame with columns ``shot_a, shot_b, mean, variance, n_tasks``, one row per shot pair,
        sorted by ``(shot_a, shot_b)``.

    Raises:
        ValueError: required columns missing.
    """
    missing = [c for c in ("task", "shot_a", "shot_b", "srcc") if c not in df.columns]
    if missing:
        raise ValueError(f"summarise_cross_shot: missing column(s) {missing}; got columns {list(df.columns)}")
    rows: list[tuple[int, int, float, float, int]] = []
    for (sa, sb), grp in df.groupby(["shot_a", "shot_b"], sort=True):
        vals = grp["srcc"].to_numpy(dtype=np.float64)
        n = int(vals.size)
        mean = float(np.mean(vals))
        var = float(np.var(vals, ddof=1)) if n > 1 else float(np.var(vals, ddof=0))
        rows.append((int(sa), int(sb), mean, var, n))
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return out.astype({"shot_a": "int64", "shot_b": "int64", "n_tasks": "int64"})


# --------------------------------------------------------------------------------------------------
# overlaps, partner tasks, retained capacity
# --------------------------------------------------------------------------------------------------


def _top_k_set(x: np.ndarray, k: int) -> np.ndarray:
    # Descending by score; among ties the lower flat index ranks higher (stable sort on -x).
    order = np.argsort(-x, kind="stable")
    return order[:k]


def topk_overlap(a: np.ndarray, b: np.ndarray, frac: float = 0.3) -> float:
    """Fraction of the top-``frac`` components of ``a`` that are also top-``frac`` in ``b``.

    ``k = floor(frac * N)`` computed exactly (decimal value of ``frac``, as in :func:`n_removed`);
    top = highest scores; among tied scores the lower flat index is preferred (stable). Returns
    ``|top_k(a) ∩ top_k(b)| / k``, in ``[0, 1]``.

    Args:
        a, b: score arrays of identical shape, ``(layers, heads)`` or ``(layers,)`` (``N`` entries).
        frac: fraction in ``(0, 1]``.

    Raises:
        ValueError: ``frac`` outside ``(0, 1]``, ``floor(frac * N) == 0``, shapes differ, or NaN/Inf.
    """
    fr = _exact_fraction(frac, "frac")
    if not 0 < fr <= 1:
        raise ValueError(f"frac must be in (0, 1], got {frac!r}")
    aa = _as_scores(a, "a")
    bb = _as_scores(b, "b")
    _check_same_shape(aa, bb)
    n = aa.size
    k = math.floor(fr * n)
    if k == 0:
        raise ValueError(
            f"frac={frac!r} of N={n} components selects floor({frac!r}*{n}) = 0; use a larger frac"
        )
    top_a = _top_k_set(aa.ravel(), k)
    top_b = _top_k_set(bb.ravel(), k)
    return float(np.intersect1d(top_a, top_b, assume_unique=True).size / k)


def partner_tasks(
    srcc: pd.DataFrame,
    target: str,
    candidates: Sequence[str] | None = None,
    aggregate_name: str = "aggregate",
) -> tuple[str, str]:
    """Tasks most and least similar to ``target`` by cross-task SRCC.

    Args:
        srcc: long frame from :func:`cross_task_matrix` (columns ``task_a, task_b, srcc``).
        target: task whose partners are sought (looked up in ``task_a``).
        candidates: tasks to choose from (default: every ``task_b`` paired with ``target``). The
            target itself and ``aggregate_name`` are always excluded.
        aggregate_name: name of the aggregate pseudo-task to exclude.

    Returns:
        ``(highest, lowest)``: the candidate with the highest SRCC to ``target`` and the one with the
        lowest. Rows with NaN SRCC are ignored; ties go to the first in frame order.

    Raises:
        ValueError: missing columns, unknown ``target`` (available tasks are listed), a candidate not
            paired with ``target``, or no candidate left.
    """
    missing = [c for c in ("task_a", "task_b", "srcc") if c not in srcc.columns]
    if missing:
        raise ValueError(f"partner_tasks: missing column(s) {missing}; got columns {list(srcc.columns)}")
    available = list(dict.fromkeys(srcc["task_a"]))
    if target not in available:
        raise ValueError(f"unknown target task {target!r}; available tasks: {available}")
    rows = srcc[srcc["task_a"] == target]
    paired = list(dict.fromkeys(rows["task_b"]))
    if candidates is not None:
        if isinstance(candidates, str):
            raise ValueError(f"candidates must be a sequence of task names, not the string {candidates!r}")
        unknown = [c for c in candidates if c not in paired]
        if unknown:
            raise ValueError(f"unknown candidate task(s) {unknown}; tasks paired with {target!r}: {paired}")
        rows = rows[rows["task_b"].isin(list(candidates))]
    rows = rows[(rows["task_b"] != target) & (rows["task_b"] != aggregate_name)]
    rows = rows[rows["srcc"].notna()]
    if rows.empty:
        raise ValueError(
            f"no candidate partner tasks for {target!r} (after excluding the target, {aggregate_name!r} "
            f"and NaN correlations); tasks paired with it: {paired}"
        )
    vals = rows["srcc"].to_numpy(dtype=np.float64)
    tasks = rows["task_b"].tolist()
    return str(tasks[int(np.argmax(vals))]), str(tasks[int(np.argmin(vals))])


def retained_capacity(ranking_scores: np.ndarray, capacity_scores: np.ndarray) -> pd.DataFrame:
    """Share of a capacity score kept as components are pruned in order of ``ranking_scores``.

    Components are ordered by :func:`rank_ascending` of ``ranking_scores`` (least important first,
    ties by index). For ``i = 0 .. N-1`` (``i`` components removed)::

        pct_pruned[i]   = 100 * i / N
        pct_retained[i] = 100 * sum(capacity[order[i:]]) / sum(capacity)

    so the curve starts at 100 and its last point is 100 * capacity of the single most important
    component / total. For non-negative capacities it is non-increasing; negative entries are
    allowed (e.g. copying scores) but then the curve may rise or exceed 100.

    Args:
        ranking_scores: importance scores, shape ``(layers, heads)`` or ``(layers,)``.
        capacity_scores: per-component capacity (e.g. prefix-matching score), same shape.

    Returns:
        DataFrame with columns ``pct_pruned, pct_retained`` and ``N`` rows.

    Raises:
        ValueError: shapes differ, NaN/Inf, or total capacity <= 0 (the share is undefined).
    """
    rank = _as_scores(ranking_scores, "ranking_scores")
    cap = _as_scores(capacity_scores, "capacity_scores")
    _check_same_shape(rank, cap, "ranking_scores", "capacity_scores")
    order = rank_ascending(rank)
    cap_sorted = cap.ravel()[order]
    # suffix sums: kept[i] = sum(cap_sorted[i:]); summed from the end for accuracy of the tail.
    kept = np.cumsum(cap_sorted[::-1])[::-1]
    total = float(kept[0])
    if not total > 0:
        raise ValueError(f"total capacity must be > 0 to express a retained share, got {total}")
    n = cap_sorted.size
    pct_pruned = 100.0 * np.arange(n, dtype=np.float64) / n
    pct_retained = 100.0 * kept / total
    return pd.DataFrame({"pct_pruned": pct_pruned, "pct_retained": pct_retained})
