"""FFN oracle importance, rankings and iterative pruning evaluation (method.md, "FFN importance" and
"Iterative pruning"). Rankings are fixed: at p% the first ⌊p·N/100⌋ components of the ascending
ranking are removed, and scores are never recomputed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from iclprune.agreement import n_removed, rank_ascending
from iclprune.components import Mask
from iclprune.evaluation import Evaluator, TaskRequests
from iclprune.io import Checkpoint

log = logging.getLogger(__name__)

ORACLE_COLUMNS = ["layer", "baseline_acc", "knocked_out_acc", "score"]
SWEEP_COLUMNS = ["pct_heads", "pct_ffns", "n_heads_removed", "n_ffns_removed", "acc"]


def ffn_oracle(
    evaluator: Evaluator,
    reqs: TaskRequests,
    *,
    metric: str = "acc",
    checkpoint: str | Path | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Oracle importance of every FFN: ``score = 100·(acc(full) − acc(without FFN l))`` in points.

    Returns one row per layer (columns :data:`ORACLE_COLUMNS`). With ``checkpoint``, finished
    knock-outs are kept in a JSONL file and skipped on a re-run.
    """
    from iclprune.sites import resolve

    n_layers = resolve(evaluator.model).n_layers
    ck = Checkpoint(checkpoint, ("layer",)) if checkpoint else None

    def run(layer: int) -> float:
        done = ck.get(layer=layer) if ck else None
        if done is not None:
            return float(done[metric])
        mask = Mask() if layer < 0 else Mask(ffns=frozenset({layer}))
        value = evaluator.evaluate(reqs, mask).metrics[metric]
        if ck:
            ck.add({"layer": layer, metric: value})
        return value

    baseline = run(-1)
    rows = []
    for layer in tqdm(
        range(n_layers), desc=f"FFN oracle {reqs.name} {reqs.shots}-shot", disable=not progress
    ):
        knocked = run(layer)
        rows.append((layer, baseline, knocked, 100.0 * (baseline - knocked)))
    return pd.DataFrame(rows, columns=ORACLE_COLUMNS)


def head_ranking(scores: np.ndarray) -> list[tuple[int, int]]:
    """Heads of a ``(layers, heads)`` score matrix, least important first (ties in index order)."""
    n_heads = scores.shape[1]
    return [(int(i) // n_heads, int(i) % n_heads) for i in rank_ascending(scores)]


def ffn_ranking(scores: np.ndarray) -> list[int]:
    """Layers of a ``(layers,)`` FFN score vector, least important first (ties keep layer order)."""
    return [int(i) for i in rank_ascending(scores)]


def pruning_mask(
    heads: Sequence[tuple[int, int]] | None, pct_heads: float, ffns: Sequence[int] | None, pct_ffns: float
) -> Mask:
    """Remove the first ⌊p·N/100⌋ heads and FFNs of the ascending rankings."""
    k_h = n_removed(pct_heads, len(heads)) if heads else 0
    k_f = n_removed(pct_ffns, len(ffns)) if ffns else 0
    if pct_heads and not heads:
        raise ValueError(f"pct_heads={pct_heads} but no head ranking was given")
    if pct_ffns and not ffns:
        raise ValueError(f"pct_ffns={pct_ffns} but no FFN ranking was given")
    return Mask(frozenset(heads[:k_h] if heads else ()), frozenset(ffns[:k_f] if ffns else ()))


def pruning_sweep(
    evaluator: Evaluator,
    reqs: TaskRequests,
    grid: Sequence[tuple[float, float]],
    *,
    heads: Sequence[tuple[int, int]] | None = None,
    ffns: Sequence[int] | None = None,
    metric: str = "acc",
    checkpoint: str | Path | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Evaluate ``reqs`` at every ``(pct_heads, pct_ffns)`` of ``grid`` under fixed rankings.

    Returns one row per grid point (columns :data:`SWEEP_COLUMNS`); resumable through ``checkpoint``.
    """
    ck = Checkpoint(checkpoint, ("pct_heads", "pct_ffns")) if checkpoint else None
    rows = []
    for pct_h, pct_f in tqdm(grid, desc=f"pruning {reqs.name} {reqs.shots}-shot", disable=not progress):
        mask = pruning_mask(heads, pct_h, ffns, pct_f)
        done = ck.get(pct_heads=pct_h, pct_ffns=pct_f) if ck else None
        if done is None:
            value = evaluator.evaluate(reqs, mask).metrics[metric]
            if ck:
                ck.add({"pct_heads": pct_h, "pct_ffns": pct_f, metric: value})
        else:
            value = float(done[metric])
        rows.append((pct_h, pct_f, len(mask.heads), len(mask.ffns), value))
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS)
