"""How good is a head ranking? Agreement of gradient importance with the oracle, and accuracy under pruning.

Two questions a reviewer asks of the paper's ranking, answered from tables the workflow writes:

* **Does the gradient score measure what a head does?** :func:`gradient_vs_oracle` gives the Spearman
  correlation, per ``(task, shot)`` and importance variant, between the gradient scores (``bansal``,
  ``michel``) and the oracle: the drop in mean gold log-likelihood when the head alone is knocked out
  (:func:`iclprune.analysis.rankings.head_oracle`). Both are scored on the same importance documents, so a
  bootstrap replicate draws those documents once and re-aggregates both from their per-document tables
  (``heads.docs.parquet`` of the importance and of the oracle stage). The interval is the basic bootstrap
  interval, as for the other correlations of the claims table (:mod:`iclprune.analysis.importance_bootstrap`).
* **How many heads can go?** :func:`ranking_curves` gives, per ranking (the one-shot gradient ranking, the
  iterative re-scored one, the oracle's, the random control) and shot, the mean-over-tasks accuracy at every
  % of heads removed with its paired bootstrap interval over evaluation documents
  (:func:`iclprune.analysis.bootstrap.sweep_intervals`), and :func:`removable_by_ranking` the largest % of
  heads removable with the drop's upper 95% bound within 5 points. The random control enters as one
  ranking: per document, its accuracy averaged over the seeded draws (the expected accuracy of a random
  ranking on that document), so the draws are held fixed and the documents resampled.

No torch: the claims table and the figures use this.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from iclprune.analysis.bootstrap import Bootstrap, interval, removable, sweep_intervals
from iclprune.analysis.importance_bootstrap import DocScores, Key, _standard_ranks

ORACLE_DOC_COLUMNS = ("doc_id", "layer", "head", "gold_loglik")
AGREEMENT_COLUMNS = ["task", "shot", "variant", "srcc", "low", "high", "n_docs"]
CURVE_COLUMNS = [
    "ranking",
    "shot",
    "pct_heads",
    "acc",
    "acc_low",
    "acc_high",
    "drop",
    "drop_low",
    "drop_high",
]
REMOVABLE_COLUMNS = ["ranking", "shot", "removable", "removable_if_low", "removable_point"]
#: Rankings in drawing order; any other name is drawn after them.
RANKING_ORDER = ("gradient", "iterative", "oracle", "random")
MAX_DROP = 5.0


@dataclass(frozen=True)
class OracleDocs:
    """Per-document single-head knock-outs of one ``(task, shot)``: ``drop[i, l, h]`` = the full model's gold
    log-likelihood of document ``doc_ids[i]`` minus the one with head ``(l, h)`` knocked out (nats; positive
    = the document needs the head). The mean over documents is the oracle's score."""

    drop: np.ndarray
    doc_ids: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> OracleDocs:
        """From the oracle's per-document table of ONE ``(task, shot)`` (columns ``doc_id, layer, head,
        gold_loglik``; the full model's rows have ``layer = head = -1``). Documents come sorted by id."""
        missing = [c for c in ORACLE_DOC_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"per-document oracle table lacks columns {missing}; has {list(frame.columns)}")
        for col in ("task", "shot"):
            if col in frame.columns and frame[col].nunique() > 1:
                raise ValueError(f"per-document oracle table mixes {col}s; expected one (task, shot)")
        full = frame[(frame["layer"] == -1) & (frame["head"] == -1)]
        knocked = frame[frame.layer >= 0]
        if full.empty or knocked.empty:
            raise ValueError(
                "per-document oracle table needs the full model's rows (layer = head = -1) and knock-outs"
            )
        base = full.set_index("doc_id").gold_loglik.sort_index()
        ids = base.index.to_numpy(dtype=np.int64)
        L, H = int(knocked["layer"].max()) + 1, int(knocked["head"].max()) + 1
        cube = knocked.pivot_table(
            index="doc_id", columns=["layer", "head"], values="gold_loglik", aggfunc="first"
        )
        cube = cube.reindex(index=ids, columns=pd.MultiIndex.from_product([range(L), range(H)]))
        if len(knocked) != ids.size * L * H or cube.isna().any().any():
            raise ValueError(
                f"per-document oracle table has {len(knocked)} knock-out rows for {ids.size} documents × {L} "
                f"layers × {H} heads; expected one row per document and head"
            )
        drop = base.to_numpy(dtype=np.float64)[:, None] - cube.to_numpy(dtype=np.float64)
        return cls(drop=drop.reshape(ids.size, L, H), doc_ids=ids)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.drop.shape[1]), int(self.drop.shape[2])

    def weighted(self, weights: np.ndarray) -> np.ndarray:
        """Oracle scores re-aggregated with document weights ``(R, n_docs)``: ``(R, L, H)``."""
        w = np.asarray(weights, dtype=np.float64)
        n, (L, H) = self.drop.shape[0], self.shape
        return ((w @ self.drop.reshape(n, -1)) / w.sum(axis=1, keepdims=True)).reshape(-1, L, H)


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Textbook Spearman of matching rows of ``a`` and ``b`` (``(R, K)`` each): ``(R,)``."""
    return np.clip((_standard_ranks(a) * _standard_ranks(b)).sum(axis=-1), -1.0, 1.0)


def _basic(est: float, reps: np.ndarray, level: float) -> tuple[float, float]:
    """Basic bootstrap interval of a correlation from its finite replicates, clipped to [-1, 1]."""
    reps = reps[np.isfinite(reps)]
    if not reps.size or not np.isfinite(est):
        return np.nan, np.nan
    q_low, q_high = interval(reps, level)
    return float(np.clip(2 * est - q_high, -1, 1)), float(np.clip(2 * est - q_low, -1, 1))


def gradient_vs_oracle(
    gradient: Mapping[Key, DocScores],
    oracle: Mapping[Key, OracleDocs],
    *,
    variants: Sequence[str] = ("bansal", "michel"),
    settings: Bootstrap = Bootstrap(),
) -> pd.DataFrame:
    """Spearman(gradient score, oracle score) over heads per ``(task, shot)`` and variant, with its basic
    bootstrap interval over the importance documents (both re-aggregated from one draw per replicate, seeded
    by ``(seed, task)``, the same draw at every shot of a task), and per shot and variant the mean over tasks
    (``task = "mean"``; its replicates are the mean of the tasks' replicates, tasks drawn independently).

    Returns columns :data:`AGREEMENT_COLUMNS`, one row per ``(task, shot)`` present in both and variant,
    then the means.

    Raises:
        ValueError: no ``(task, shot)`` in both, or a pair scored on different documents or head shapes.
    """
    keys = sorted(set(gradient) & set(oracle))
    if not keys:
        raise ValueError(
            f"no (task, shot) has both gradient and oracle per-document scores (gradient: {sorted(gradient)}, "
            f"oracle: {sorted(oracle)})"
        )
    rows, reps_of = [], {}
    draws: dict[tuple[str, bytes], np.ndarray] = {}
    for task, shot in keys:
        g, o = gradient[(task, shot)], oracle[(task, shot)]
        if not np.array_equal(g.doc_ids, o.doc_ids):
            raise ValueError(
                f"{task} {shot}-shot: gradient scores on documents {g.doc_ids.tolist()[:8]}…, oracle on "
                f"{o.doc_ids.tolist()[:8]}…; expected the same importance documents"
            )
        if g.shape != o.shape:
            raise ValueError(
                f"{task} {shot}-shot: gradient heads {g.shape}, oracle heads {o.shape}; expected one model"
            )
        n, R = g.n_docs, settings.n_boot
        key = (task, g.doc_ids.tobytes())
        if key not in draws:  # the same documents at every shot of a task: one draw (paired)
            rng = np.random.default_rng([settings.seed, zlib.crc32(task.encode())])
            draw = rng.integers(0, n, size=(R, n)) + n * np.arange(R)[:, None]
            draws[key] = np.bincount(draw.ravel(), minlength=R * n).reshape(R, n)
        counts, ones = draws[key], np.ones((1, n))
        ora, ora_reps = o.weighted(ones).reshape(1, -1), o.weighted(counts).reshape(R, -1)
        for variant in variants:
            est = float(_spearman_rows(g.weighted(variant, ones).reshape(1, -1), ora)[0])
            reps = _spearman_rows(g.weighted(variant, counts).reshape(R, -1), ora_reps)
            reps_of[(task, int(shot), variant)] = (est, reps)
            low, high = _basic(est, reps, settings.level)
            rows.append({"task": task, "shot": int(shot), "variant": variant, "srcc": est, "low": low,
                         "high": high, "n_docs": n})  # fmt: skip
    for shot in sorted({s for _, s in keys}):
        for variant in variants:
            got = [v for (t, s, var), v in reps_of.items() if s == shot and var == variant]
            est = float(np.mean([e for e, _ in got]))
            with np.errstate(invalid="ignore"):
                reps = np.mean([r for _, r in got], axis=0)
            low, high = _basic(est, reps, settings.level)
            n = int(min(gradient[k].n_docs for k in keys if k[1] == shot))
            rows.append({"task": "mean", "shot": int(shot), "variant": variant, "srcc": est, "low": low,
                         "high": high, "n_docs": n})  # fmt: skip
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def oracle_docs_by_key(frame: pd.DataFrame) -> dict[Key, OracleDocs]:
    """``(task, shot) → OracleDocs`` of a concatenated per-document oracle table (columns ``task, shot`` +
    :data:`ORACLE_DOC_COLUMNS`)."""
    if frame.empty:
        return {}
    missing = [c for c in ("task", "shot") if c not in frame.columns]
    if missing:
        raise ValueError(f"per-document oracle table lacks columns {missing}")
    return {
        (str(t), int(s)): OracleDocs.from_frame(df)
        for (t, s), df in frame.groupby(["task", "shot"], sort=True)
    }


def random_mean_docs(random: pd.DataFrame) -> pd.DataFrame:
    """The random control as one ranking: per ``(task, shot, pct_heads, doc_id)`` the accuracy averaged over
    the draws (column ``ranking_seed``), with ``ranking = "random"``. Points some draw lacks are dropped."""
    need = {"task", "shot", "pct_heads", "doc_id", "acc", "ranking_seed"}
    missing = sorted(need - set(random.columns))
    if missing:
        raise ValueError(f"random-control per-document table lacks columns {missing}")
    draws = random.ranking_seed.nunique()
    keys = ["task", "shot", "pct_heads", "doc_id"]
    grouped = (
        random.groupby(keys, sort=True).agg(acc=("acc", "mean"), n=("ranking_seed", "nunique")).reset_index()
    )
    out = grouped[grouped.n == draws].drop(columns="n")
    return out.assign(ranking="random")


def other_metric_tasks(docs: pd.DataFrame, summary: pd.DataFrame, column: str = "pct_heads") -> list[str]:
    """The tasks of a sweep whose summary ``acc`` is not the mean of their documents' ``acc`` at some point
    (sorted): tasks scored by another metric (ReCoRD's ``em``, MultiRC's ``acc_all``) or whose documents
    lack ``acc``. A bootstrap of document ``acc`` says nothing about them."""
    keys = ["task", "shot", column]
    summary = (
        summary[summary.pct_ffns == 0] if "pct_ffns" in summary.columns and column != "pct_ffns" else summary
    )
    points = summary.astype({column: float}).groupby(keys).acc.mean()
    if "acc" not in docs.columns:
        return sorted({str(t) for t in points.index.get_level_values("task")})
    means = docs.astype({column: float}).groupby(keys).acc.mean().reindex(points.index)
    bad = ~np.isclose(means.to_numpy(dtype=float), points.to_numpy(dtype=float), rtol=0, atol=1e-6)
    return sorted({str(k[0]) for k in points.index[bad]})


def ranking_docs(
    gradient: pd.DataFrame,
    others: Mapping[str, pd.DataFrame],
    random: pd.DataFrame | None = None,
    *,
    exclude: Sequence[str] = (),
) -> pd.DataFrame:
    """Per-document rows of the head sweeps under every ranking, labelled ``ranking``: ``gradient`` (each
    task's own sweep), one per entry of ``others`` (``iterative``, ``oracle``: their sweeps' per-document
    tables) and ``random`` (:func:`random_mean_docs`, at the gradient sweep's points). Rows with FFNs
    removed are dropped, and so are the tasks in ``exclude`` (e.g. :func:`other_metric_tasks`). Columns
    ``ranking, task, shot, pct_heads, doc_id, acc``."""
    keep = ["task", "shot", "pct_heads", "doc_id", "acc"]
    drop = set(exclude)

    def heads_only(df: pd.DataFrame, name: str) -> pd.DataFrame:
        df = df[~df.task.isin(drop)]
        missing = sorted(set(keep) - set(df.columns))
        if missing:
            raise ValueError(f"per-document table of the {name} ranking lacks columns {missing}")
        d = df[df.pct_ffns == 0] if "pct_ffns" in df.columns else df
        return d[keep].assign(ranking=name)

    parts = [heads_only(gradient, "gradient")]
    parts += [heads_only(df, name) for name, df in others.items() if not df.empty]
    if random is not None and not random.empty:
        rnd = random_mean_docs(heads_only(random, "random").assign(ranking_seed=random.ranking_seed))
        parts.append(rnd[rnd.pct_heads.isin(set(parts[0].pct_heads))][[*keep, "ranking"]])
    return pd.concat(parts, ignore_index=True)[["ranking", *keep]]


def _order(names: Sequence[str]) -> list[str]:
    known = [r for r in RANKING_ORDER if r in names]
    return known + sorted(set(names) - set(known))


def ranking_curves(docs: pd.DataFrame, *, settings: Bootstrap = Bootstrap()) -> pd.DataFrame:
    """Mean-over-tasks accuracy and drop (from the unpruned point) per ranking, shot and % of heads, with
    paired bootstrap intervals over documents (each ranking's sweep resampled on its own).

    Args:
        docs: per-document rows ``ranking, task, shot, pct_heads, doc_id, acc`` (acc in [0, 1]); every
            ranking of a shot must cover the same tasks (a mean over other tasks is another quantity).

    Returns:
        Columns :data:`CURVE_COLUMNS` (acc as shares, drops in points), rankings in :data:`RANKING_ORDER`.
    """
    missing = sorted({"ranking", "task", "shot", "pct_heads", "doc_id", "acc"} - set(docs.columns))
    if missing:
        raise ValueError(f"per-document sweep table lacks columns {missing}")
    if docs.empty:
        raise ValueError("no per-document sweep rows")
    parts = []
    for shot, at_shot in docs.groupby("shot", sort=True):
        tasks = {r: sorted(set(df.task)) for r, df in at_shot.groupby("ranking")}
        if len({tuple(t) for t in tasks.values()}) > 1:
            raise ValueError(
                f"{shot}-shot: the rankings cover different tasks {tasks}; expected the same tasks"
            )
        for ranking in _order(list(tasks)):
            iv = sweep_intervals(at_shot[at_shot.ranking == ranking], "pct_heads", settings=settings)
            parts.append(iv.assign(ranking=ranking, shot=int(shot)))
    return pd.concat(parts, ignore_index=True)[CURVE_COLUMNS]


def removable_by_ranking(curves: pd.DataFrame, max_drop: float = MAX_DROP) -> pd.DataFrame:
    """Per ranking and shot of :func:`ranking_curves`' table: the largest % of heads removable with the
    drop's upper bound within ``max_drop`` points (``removable``, every smaller point within it too), the
    same from the lower bound (``removable_if_low``: what the documents cannot rule out) and from the point
    estimate (``removable_point``). Columns :data:`REMOVABLE_COLUMNS`."""
    rows = []
    for (ranking, shot), iv in curves.groupby(["ranking", "shot"], sort=False):
        iv = iv.sort_values("pct_heads")
        rows.append({
            "ranking": ranking, "shot": int(shot), "removable": removable(iv, "pct_heads", max_drop),
            "removable_if_low": removable(iv, "pct_heads", max_drop, bound="drop_low"),
            "removable_point": removable(iv, "pct_heads", max_drop, bound="drop"),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=REMOVABLE_COLUMNS)


__all__ = [
    "AGREEMENT_COLUMNS",
    "CURVE_COLUMNS",
    "RANKING_ORDER",
    "REMOVABLE_COLUMNS",
    "OracleDocs",
    "gradient_vs_oracle",
    "oracle_docs_by_key",
    "other_metric_tasks",
    "random_mean_docs",
    "ranking_curves",
    "ranking_docs",
    "removable_by_ranking",
]
