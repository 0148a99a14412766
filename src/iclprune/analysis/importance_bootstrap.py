"""Bootstrap of gradient head importance over the documents it was scored on.

Head importance (:mod:`iclprune.analysis.importance`) is a sum over training documents, so which documents
were scored is its sampling noise. Each document's share is kept — per head its ``abs_sum`` (``Σ_t |dot|``)
and ``signed_sum`` (``Σ_t dot``), and its counts ``n_positions`` (``N_i − 1``) and ``n_answer_tokens`` (the
per-document table ``heads.docs.parquet``) — so the scores can be re-aggregated on any resample of
documents. With ``w_i`` the number of times document ``i`` is drawn:

* ``bansal = Σ w_i abs_i / Σ w_i n_positions_i`` for layers ``0..L−2`` and ``/ Σ w_i n_answer_i`` for the
  last layer (``normalizer="paper"``; ``answer_tokens``, ``examples`` = ``Σ w_i``, ``none`` likewise);
* ``michel = |Σ w_i signed_i| / Σ w_i``.

All-ones weights give the scores of the summary table (:func:`normalise` is the one formula both use).

One replicate draws, per task, ``n`` of its ``n`` documents with replacement. The draw is shared by every
shot of the task that scored the same documents (the importance documents are the same training documents
at every shot), so cross-shot correlations are paired; tasks are drawn independently, each from its own
stream seeded by ``(seed, task name)``, so adding a task leaves the others' draws unchanged. From the
replicates of every ``(task, shot)``'s ``(L, H)`` matrix, :func:`agreement_replicates` gives replicates
of the agreement statistics of the claims table: cross-task SRCC (textbook Spearman), the cross-shot SRCC
mean over tasks, the top-30% overlap and SRCC(aggregate importance, prefix matching) — the aggregate is
the mean of the resampled per-task scores (paper eq. 10); the induction scores stay fixed.

Intervals are *basic* (reverse-percentile) bootstrap intervals, ``[2θ̂ − q_high, 2θ̂ − q_low]`` with ``q`` the
percentiles of the replicates (:func:`iclprune.analysis.bootstrap.interval`), clipped to the statistic's
range. A correlation between two noisy importance estimates is pulled towards 0 by the noise, and a
resample adds as much noise again, so the replicates sit below the point estimate by about as much as the
point estimate sits below the value that infinitely many documents would give (the quantity the paper's
claims are about); the basic interval corrects that shift, the percentile interval doubles it. In
simulations (30×9 heads, 16–256 documents) the basic interval held the many-document SRCC in 73–94% of runs
and the percentile interval in 0–68%; the top-30% overlap, a step function of the ranks, is covered less
well by either (about 50%): read its interval as indicative. ``AgreementReplicates.interval(key,
"percentile")`` gives the percentile interval.

No torch: the claims table uses this.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from iclprune.analysis.bootstrap import Bootstrap, interval

Normalizer = Literal["paper", "answer_tokens", "examples", "none"]
NORMALIZERS: tuple[str, ...] = get_args(Normalizer)
DOC_COLUMNS: tuple[str, ...] = (
    "doc_id", "layer", "head", "abs_sum", "signed_sum", "n_positions", "n_answer_tokens", "normalizer",
)  # fmt: skip
CHUNK = 100  # replicates per pass: bounds memory at (tasks × shots × CHUNK × heads) floats
Key = tuple[str, int]  # (task, shot)
RANGES = {
    "cross_task": (-1.0, 1.0),
    "cross_shot": (-1.0, 1.0),
    "induction": (-1.0, 1.0),
    "overlap": (0.0, 1.0),
}


def _col(x: object) -> np.ndarray:
    """A count (scalar or one per leading index) broadcast against ``(..., layers, heads)``."""
    return np.asarray(x, dtype=np.float64)[..., None, None]


def normalise_bansal(
    abs_sum: np.ndarray, n_examples: object, n_positions: object, n_answer_tokens: object, normalizer: str
) -> np.ndarray:
    """``bansal`` from ``Σ|dot|`` of shape ``(..., L, H)`` and the counts behind it (scalars, or arrays of
    the leading shape): ``paper`` divides layers ``0..L−2`` by ``n_positions`` and the last layer by
    ``n_answer_tokens``; ``answer_tokens``, ``examples`` divide every layer; ``none`` keeps the sums."""
    if normalizer not in NORMALIZERS:
        raise ValueError(f"normalizer={normalizer!r}; expected one of {list(NORMALIZERS)}")
    bansal = np.array(abs_sum, dtype=np.float64)  # a copy
    if normalizer == "paper":
        bansal[..., :-1, :] /= _col(n_positions)
        bansal[..., -1:, :] /= _col(n_answer_tokens)
    elif normalizer == "answer_tokens":
        bansal /= _col(n_answer_tokens)
    elif normalizer == "examples":
        bansal /= _col(n_examples)
    return bansal


def normalise_michel(signed_sum: np.ndarray, n_examples: object) -> np.ndarray:
    """``michel = |Σ dot| / n_examples`` from ``Σ dot`` of shape ``(..., L, H)``."""
    return np.abs(np.asarray(signed_sum, dtype=np.float64)) / _col(n_examples)


def normalise(
    abs_sum: np.ndarray,
    signed_sum: np.ndarray,
    n_examples: object,
    n_positions: object,
    n_answer_tokens: object,
    normalizer: str,
) -> tuple[np.ndarray, np.ndarray]:
    """``(bansal, michel)`` from summed attributions and their counts (see the two functions above)."""
    bansal = normalise_bansal(abs_sum, n_examples, n_positions, n_answer_tokens, normalizer)
    return bansal, normalise_michel(signed_sum, n_examples)


@dataclass(frozen=True)
class DocScores:
    """Per-document importance sums of one ``(task, shot)``: ``abs_sum``/``signed_sum`` of shape
    ``(n_docs, L, H)`` and per-document counts, in the order of ``doc_ids``."""

    abs_sum: np.ndarray
    signed_sum: np.ndarray
    n_positions: np.ndarray
    n_answer_tokens: np.ndarray
    normalizer: str = "paper"
    doc_ids: np.ndarray = field(default=None)  # type: ignore[assignment]  # default: 0..n-1

    def __post_init__(self) -> None:
        a = np.asarray(self.abs_sum, dtype=np.float64)
        s = np.asarray(self.signed_sum, dtype=np.float64)
        if a.ndim != 3 or a.shape != s.shape or a.shape[0] == 0:
            raise ValueError(
                f"per-document sums have shapes {a.shape} and {s.shape}; expected two equal (n_docs ≥ 1, "
                "layers, heads)"
            )
        n = a.shape[0]
        ids = np.arange(n) if self.doc_ids is None else np.asarray(self.doc_ids, dtype=np.int64)
        counts = {
            name: np.asarray(getattr(self, name), dtype=np.int64)
            for name in ("n_positions", "n_answer_tokens")
        }
        for name, v in {"doc_ids": ids, **counts}.items():
            if v.shape != (n,):
                raise ValueError(f"{name} has shape {v.shape}; expected ({n},), one per document")
        if self.normalizer not in NORMALIZERS:
            raise ValueError(f"normalizer={self.normalizer!r}; expected one of {list(NORMALIZERS)}")
        for name, v in {"abs_sum": a, "signed_sum": s, "doc_ids": ids, **counts}.items():
            object.__setattr__(self, name, v)

    @property
    def n_docs(self) -> int:
        return int(self.abs_sum.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.abs_sum.shape[1]), int(self.abs_sum.shape[2])

    def weighted(self, variant: str, weights: np.ndarray) -> np.ndarray:
        """Scores of ``variant`` re-aggregated with document weights ``(R, n_docs)`` (how often each is
        drawn): ``(R, L, H)``."""
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != self.n_docs:
            raise ValueError(f"weights have shape {w.shape}; expected (replicates, {self.n_docs})")
        L, H = self.shape
        n_examples = w.sum(axis=1)
        if variant == "bansal":
            sums = (w @ self.abs_sum.reshape(self.n_docs, -1)).reshape(-1, L, H)
            return normalise_bansal(
                sums, n_examples, w @ self.n_positions, w @ self.n_answer_tokens, self.normalizer
            )
        if variant == "michel":
            return normalise_michel(
                (w @ self.signed_sum.reshape(self.n_docs, -1)).reshape(-1, L, H), n_examples
            )
        raise ValueError(f"unknown importance variant {variant!r}; expected 'bansal' or 'michel'")

    def scores(self, variant: str = "bansal", index: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """The ``(L, H)`` scores on the documents at positions ``index`` (a resample, repeats allowed;
        default every document once, which gives the summary table's scores)."""
        if index is None:
            weights = np.ones(self.n_docs)
        else:
            idx = np.asarray(index, dtype=np.int64)
            if idx.ndim != 1 or idx.size == 0 or idx.min() < 0 or idx.max() >= self.n_docs:
                raise ValueError(f"index must be positions in [0, {self.n_docs}), at least one; got {idx!r}")
            weights = np.bincount(idx, minlength=self.n_docs)
        return self.weighted(variant, weights[None, :])[0]

    def to_frame(self) -> pd.DataFrame:
        """Long table ``doc_id, layer, head, abs_sum, signed_sum, n_positions, n_answer_tokens,
        normalizer``: one row per document and head (documents in order, then layer, then head)."""
        n, (L, H) = self.n_docs, self.shape
        per_doc = L * H
        return pd.DataFrame(
            {
                "doc_id": np.repeat(self.doc_ids, per_doc),
                "layer": np.tile(np.repeat(np.arange(L), H), n),
                "head": np.tile(np.arange(H), n * L),
                "abs_sum": self.abs_sum.reshape(-1),
                "signed_sum": self.signed_sum.reshape(-1),
                "n_positions": np.repeat(self.n_positions, per_doc),
                "n_answer_tokens": np.repeat(self.n_answer_tokens, per_doc),
                "normalizer": self.normalizer,
            }
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, normalizer: str | None = None) -> DocScores:
        """From a long per-document table of ONE ``(task, shot)`` (:meth:`to_frame`'s columns; without a
        ``normalizer`` column, ``normalizer`` or else ``paper``). Documents come sorted by ``doc_id``."""
        missing = [c for c in DOC_COLUMNS[:-1] if c not in frame.columns]
        if missing:
            raise ValueError(
                f"per-document importance table lacks columns {missing}; has {list(frame.columns)}"
            )
        for col in ("task", "shot"):
            if col in frame.columns and frame[col].nunique() > 1:
                raise ValueError(f"per-document importance table mixes {col}s; expected one (task, shot)")
        if frame.empty:
            raise ValueError("per-document importance table is empty")
        if "normalizer" in frame.columns:
            found = sorted(set(frame["normalizer"]))
            if len(found) != 1 or (normalizer is not None and found[0] != normalizer):
                raise ValueError(
                    f"per-document table normalizer {found}; expected one, {normalizer or 'any'}"
                )
            normalizer = str(found[0])
        ids, doc = np.unique(frame["doc_id"].to_numpy(dtype=np.int64), return_inverse=True)
        layer = frame["layer"].to_numpy(dtype=np.int64)
        head = frame["head"].to_numpy(dtype=np.int64)
        n, L, H = ids.size, int(layer.max()) + 1, int(head.max()) + 1
        flat = (doc * L + layer) * H + head
        if len(frame) != n * L * H or np.unique(flat).size != len(frame) or layer.min() < 0 or head.min() < 0:
            raise ValueError(
                f"per-document importance table has {len(frame)} rows for {n} documents × {L} layers × {H} "
                "heads; expected exactly one row per document and head"
            )
        values = {}
        for col in ("abs_sum", "signed_sum"):
            v = np.empty(n * L * H)
            v[flat] = frame[col].to_numpy(dtype=np.float64)
            values[col] = v.reshape(n, L, H)
        counts = {}
        for col in ("n_positions", "n_answer_tokens"):
            v = frame[col].to_numpy(dtype=np.int64)
            c = np.zeros(n, dtype=np.int64)
            c[doc] = v
            if not np.array_equal(c[doc], v):
                raise ValueError(f"per-document importance table: {col} differs between rows of one document")
            counts[col] = c
        return cls(**values, **counts, normalizer=normalizer or "paper", doc_ids=ids)


def reaggregate(
    frame: pd.DataFrame,
    index: Sequence[int] | np.ndarray | None = None,
    *,
    variant: str = "bansal",
    normalizer: str | None = None,
) -> np.ndarray:
    """The ``(L, H)`` scores of ``variant`` from a long per-document table of one ``(task, shot)``, on the
    documents at positions ``index`` of the ``doc_id``-sorted documents (default: the identity resample,
    which gives the scores of the summary table)."""
    return DocScores.from_frame(frame, normalizer).scores(variant, index)


def docs_by_key(frame: pd.DataFrame) -> dict[Key, DocScores]:
    """``(task, shot) → DocScores`` of a concatenated per-document table (columns ``task, shot`` + the
    per-document columns)."""
    if frame.empty:
        return {}
    missing = [c for c in ("task", "shot") if c not in frame.columns]
    if missing:
        raise ValueError(f"per-document importance table lacks columns {missing}")
    return {
        (str(task), int(shot)): DocScores.from_frame(df)
        for (task, shot), df in frame.groupby(["task", "shot"], sort=True)
    }


class ImportanceBootstrap:
    """Seeded bootstrap replicates of every ``(task, shot)``'s ``(L, H)`` scores, resampling documents.

    ``counts[key]`` (``(n_boot, n_docs)``) says how often each document is drawn in each replicate; shots
    of a task with the same ``doc_ids`` share it (paired), tasks are drawn independently.
    """

    def __init__(
        self,
        docs: Mapping[Key, DocScores],
        *,
        variant: str = "bansal",
        settings: Bootstrap = Bootstrap(),
        chunk: int = CHUNK,
    ) -> None:
        if not docs:
            raise ValueError("no per-document importance to bootstrap")
        if chunk < 1:
            raise ValueError(f"chunk={chunk}; expected a positive number of replicates per pass")
        self.docs = {key: docs[key] for key in sorted(docs)}
        self.variant, self.settings, self.chunk = variant, settings, chunk
        self.estimates = {key: d.scores(variant) for key, d in self.docs.items()}
        self.counts = self._draw()

    def _draw(self) -> dict[Key, np.ndarray]:
        R = self.settings.n_boot
        out: dict[Key, np.ndarray] = {}
        for task in sorted({task for task, _ in self.docs}):
            rng = np.random.default_rng([self.settings.seed, zlib.crc32(task.encode())])
            drawn: dict[bytes, np.ndarray] = {}
            for key in (k for k in self.docs if k[0] == task):  # sorted by shot
                ids = self.docs[key].doc_ids
                if ids.tobytes() not in drawn:
                    n = ids.size
                    draw = rng.integers(0, n, size=(R, n)) + n * np.arange(R)[:, None]
                    drawn[ids.tobytes()] = (
                        np.bincount(draw.ravel(), minlength=R * n).reshape(R, n).astype(np.int32)
                    )
                out[key] = drawn[ids.tobytes()]
        return out

    def paired(self, task: str) -> bool:
        """Whether every shot of ``task`` shares one draw (they scored the same documents)."""
        keys = [k for k in self.docs if k[0] == task]
        return all(self.counts[k] is self.counts[keys[0]] for k in keys)

    def chunks(self) -> Iterator[dict[Key, np.ndarray]]:
        """Replicates, ``chunk`` at a time: ``(task, shot) → (r, L, H)``, in replicate order."""
        for start in range(0, self.settings.n_boot, self.chunk):
            stop = start + self.chunk
            yield {
                key: d.weighted(self.variant, self.counts[key][start:stop]) for key, d in self.docs.items()
            }

    def replicates(self, key: Key) -> np.ndarray:
        """All ``(n_boot, L, H)`` replicates of one ``(task, shot)``."""
        return self.docs[key].weighted(self.variant, self.counts[key])


def _standard_ranks(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` (``(r, K)``) as centred average ranks of unit norm (NaN rows where constant), so the
    textbook Spearman of two rows is their dot product."""
    ranks = stats.rankdata(x, axis=-1)
    ranks -= ranks.mean(axis=-1, keepdims=True)
    norm = np.sqrt((ranks**2).sum(axis=-1, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, ranks / np.where(norm > 0, norm, 1.0), np.nan)


def _top_mask(x: np.ndarray, k: int) -> np.ndarray:
    """``(r, K)`` mask of each row's top ``k`` (ties: the lower index first, as ``topk_overlap``)."""
    order = np.argsort(-x, axis=-1, kind="stable")[:, :k]
    mask = np.zeros(x.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return mask


def _statistics(
    mats: Mapping[Key, np.ndarray], pairs: Sequence[Sequence[str]], frac: float, prefix: np.ndarray | None
) -> dict[tuple, np.ndarray]:
    """The agreement statistics of ``r`` replicates (``(task, shot) → (r, L, H)``), each ``(r, ...)``."""
    flat = {key: m.reshape(m.shape[0], -1) for key, m in mats.items()}
    z = {key: _standard_ranks(v) for key, v in flat.items()}
    out: dict[tuple, np.ndarray] = {}
    shots = sorted({shot for _, shot in mats})
    for shot in shots:
        tasks = sorted(task for task, s in mats if s == shot)
        Z = np.stack([z[(task, shot)] for task in tasks], axis=1)  # (r, T, K)
        out[("cross_task", shot)] = np.clip(Z @ Z.transpose(0, 2, 1), -1.0, 1.0)  # (r, T, T)
        if prefix is not None:
            agg = np.mean([flat[(task, shot)] for task in tasks], axis=0)  # paper eq. 10, per replicate
            out[("induction", shot)] = np.clip(_standard_ranks(agg) @ _standard_ranks(prefix[None])[0], -1, 1)
        for a, b in pairs:
            if (a, shot) in flat and (b, shot) in flat:
                n = flat[(a, shot)].shape[1]
                k = math.floor(Fraction(repr(float(frac))) * n)
                both = _top_mask(flat[(a, shot)], k) & _top_mask(flat[(b, shot)], k)
                out[("overlap", a, b, shot)] = both.sum(axis=-1) / k
    for sa, sb in itertools.combinations(shots, 2):
        tasks = sorted(task for task, s in mats if s == sa and (task, sb) in mats)
        if tasks:
            per_task = [np.clip((z[(t, sa)] * z[(t, sb)]).sum(axis=-1), -1, 1) for t in tasks]
            out[("cross_shot", sa, sb)] = np.mean(per_task, axis=0)
    return out


@dataclass(frozen=True)
class AgreementReplicates:
    """Point estimates (every document once) and ``(n_boot, ...)`` replicates of the agreement statistics.

    Keys: ``("cross_task", shot)`` → ``(T, T)`` SRCC between the tasks of ``tasks[shot]``;
    ``("cross_shot", shot_a, shot_b)`` → mean over ``cross_shot_tasks[(shot_a, shot_b)]`` of each task's
    SRCC between the two shots; ``("overlap", a, b, shot)`` → top-``frac`` overlap share;
    ``("induction", shot)`` → SRCC(aggregate importance, prefix matching).
    """

    estimate: dict[tuple, np.ndarray]
    reps: dict[tuple, np.ndarray]
    tasks: dict[int, list[str]]
    cross_shot_tasks: dict[tuple[int, int], list[str]]
    level: float
    paired: dict[str, bool]

    def interval(
        self, key: tuple, kind: Literal["basic", "percentile"] = "basic"
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` interval of a statistic (arrays of the statistic's shape): the basic bootstrap
        interval ``[2θ̂ − q_high, 2θ̂ − q_low]`` clipped to the statistic's range (module docstring), or the
        percentile interval ``[q_low, q_high]``."""
        q_low, q_high = interval(np.moveaxis(self.reps[key], 0, -1), self.level)
        if kind == "percentile":
            return q_low, q_high
        if kind != "basic":
            raise ValueError(f"kind={kind!r}; expected 'basic' or 'percentile'")
        est = self.estimate[key]
        lo, hi = RANGES[key[0]]
        return np.clip(2 * est - q_high, lo, hi), np.clip(2 * est - q_low, lo, hi)

    def srcc(self, shot: int, a: str, b: str) -> tuple[float, float, float]:
        """``(estimate, low, high)`` of the cross-task SRCC of tasks ``a`` and ``b`` at ``shot``."""
        i, j = self.tasks[shot].index(a), self.tasks[shot].index(b)
        low, high = self.interval(("cross_task", shot))
        return float(self.estimate[("cross_task", shot)][i, j]), float(low[i, j]), float(high[i, j])

    def lowest_share(self, shot: int, task: str) -> float:
        """Share of replicates in which ``task`` has the lowest mean SRCC to the other tasks at ``shot``."""
        reps = self.reps[("cross_task", shot)].copy()  # (n_boot, T, T)
        T = reps.shape[1]
        if T < 2:
            return math.nan
        reps[:, np.arange(T), np.arange(T)] = 0.0
        mean = reps.sum(axis=2) / (T - 1)
        return float(np.mean(np.argmin(mean, axis=1) == self.tasks[shot].index(task)))


def agreement_replicates(
    docs: Mapping[Key, DocScores],
    *,
    variant: str = "bansal",
    settings: Bootstrap = Bootstrap(),
    pairs: Sequence[Sequence[str]] = (),
    frac: float = 0.3,
    prefix_matching: np.ndarray | None = None,
    chunk: int = CHUNK,
) -> AgreementReplicates:
    """Bootstrap the agreement statistics of importance over documents (module docstring).

    Args:
        docs: ``(task, shot) → DocScores`` (every shot's matrices of one shape).
        variant: ``bansal`` or ``michel``.
        settings: replicates, seed and level.
        pairs: task pairs whose top-``frac`` overlap is wanted.
        prefix_matching: the fixed ``(L, H)`` induction score for SRCC(aggregate, prefix matching), or None.
    """
    boot = ImportanceBootstrap(docs, variant=variant, settings=settings, chunk=chunk)
    prefix = None if prefix_matching is None else np.asarray(prefix_matching, dtype=np.float64).reshape(-1)
    shapes = {d.shape for d in boot.docs.values()}
    if len(shapes) != 1:
        raise ValueError(f"per-document importance of several shapes {sorted(shapes)}; expected one model")
    if prefix is not None and prefix.size != math.prod(shapes.pop()):
        raise ValueError(f"prefix-matching scores have {prefix.size} heads; the importance has another count")
    pairs = [tuple(p) for p in pairs]
    estimate = {
        k: v[0]
        for k, v in _statistics({k: m[None] for k, m in boot.estimates.items()}, pairs, frac, prefix).items()
    }
    parts: dict[tuple, list[np.ndarray]] = {}
    for mats in boot.chunks():
        for k, v in _statistics(mats, pairs, frac, prefix).items():
            parts.setdefault(k, []).append(v)
    keys = list(boot.docs)
    shots = sorted({shot for _, shot in keys})
    return AgreementReplicates(
        estimate=estimate,
        reps={k: np.concatenate(v, axis=0) for k, v in parts.items()},
        tasks={shot: sorted(t for t, s in keys if s == shot) for shot in shots},
        cross_shot_tasks={
            (sa, sb): sorted(t for t, s in keys if s == sa and (t, sb) in boot.docs)
            for sa, sb in itertools.combinations(shots, 2)
        },
        level=settings.level,
        paired={task: boot.paired(task) for task in sorted({t for t, _ in keys})},
    )


__all__ = [
    "DOC_COLUMNS",
    "AgreementReplicates",
    "DocScores",
    "ImportanceBootstrap",
    "agreement_replicates",
    "docs_by_key",
    "normalise",
    "normalise_bansal",
    "normalise_michel",
    "reaggregate",
]
