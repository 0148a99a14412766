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

from iclprune.analysis.agreement import n_removed, rank_ascending
from iclprune.core.components import Mask
from iclprune.core.io import Checkpoint
from iclprune.evaluate.evaluation import EvalResult, Evaluator, TaskRequests, score_responses

log = logging.getLogger(__name__)

ORACLE_COLUMNS = ["layer", "baseline_acc", "knocked_out_acc", "score"]
SWEEP_COLUMNS = ["pct_heads", "pct_ffns", "n_heads_removed", "n_ffns_removed", "acc"]
DOC_COLUMNS = ["doc_id", "acc", "loglik", "is_greedy"]


def _point(
    evaluator: Evaluator,
    reqs: TaskRequests,
    mask: Mask,
    metric: str,
    ck: Checkpoint | None,
    key: dict,
    responses: Sequence[tuple[float, bool]] | None = None,
    memo: dict[Mask, EvalResult] | None = None,
) -> tuple[float, pd.DataFrame]:
    """The metric and per-document rows (``doc_id, acc, loglik``) of one mask; checkpointed by ``key``.
    ``responses`` (lm-eval's ``(loglik, is_greedy)`` per request, computed elsewhere) skip evaluation;
    ``memo`` (mask → result, for one ``reqs``) returns a mask already evaluated by another sweep."""
    done = ck.get(**key) if ck else None
    if done is not None and memo is not None and mask not in memo:
        # what the sweep before a kill evaluated counts as evaluated for the sweeps after it too
        memo[mask] = EvalResult(metrics={metric: done["value"]}, per_doc=pd.DataFrame(done["docs"]))
    if done is None:
        if responses is not None:
            result = score_responses(reqs, responses)
        elif memo is not None and mask in memo:
            result = memo[mask]
        else:
            result = evaluator.evaluate(reqs, mask)
            if memo is not None:
                memo[mask] = result
        if metric not in result.metrics:
            raise ValueError(
                f"metric {metric!r} not produced by task {reqs.name!r}; it has {sorted(result.metrics)}"
            )
        cols = [c for c in DOC_COLUMNS if c in result.per_doc]
        done = dict(key, value=result.metrics[metric], docs=result.per_doc[cols].to_dict(orient="list"))
        if ck:
            ck.add(done)
    docs = pd.DataFrame(done["docs"])
    for name, value in reversed(list(key.items())):
        docs.insert(0, name, value)
    return float(done["value"]), docs


def ffn_oracle(
    evaluator: Evaluator,
    reqs: TaskRequests,
    *,
    metric: str = "acc",
    checkpoint: str | Path | None = None,
    progress: bool = False,
    resume: bool = True,
    layers_per_pass: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Oracle importance of every FFN: ``score = 100·(acc(full) − acc(without FFN l))`` in points.

    Returns one row per layer (columns :data:`ORACLE_COLUMNS`) and the per-document results of every
    knock-out (``layer`` −1 is the full model). With ``checkpoint``, finished knock-outs are kept in a
    JSONL file and skipped on a re-run.

    With ``resume`` (the default) the requests are tokenised once and every knock-out starts from the
    clean residual stream entering its layer (:mod:`iclprune.evaluate.resume`), one clean pass per batch; the
    responses go through the same :func:`~iclprune.evaluate.evaluation.score_responses` as the naive path
    (``resume=False``: one full lm-eval evaluation per knock-out). ``layers_per_pass`` splits the
    knock-outs into passes of that many layers, each checkpointed when it ends (default: one pass).
    """
    from iclprune.model.sites import resolve

    n_layers = resolve(evaluator.model).n_layers
    ck = Checkpoint(checkpoint, ("layer",)) if checkpoint else None
    responses: dict[int, list[tuple[float, bool]]] = {}
    if resume:
        responses = _resumed_responses(evaluator, reqs, n_layers, metric, ck, layers_per_pass, progress)
    baseline, base_docs = _point(evaluator, reqs, Mask(), metric, ck, {"layer": -1}, responses.get(-1))
    rows, docs = [], [base_docs]
    for layer in tqdm(
        range(n_layers), desc=f"FFN oracle {reqs.name} {reqs.shots}-shot", disable=not progress or resume
    ):
        knocked, layer_docs = _point(
            evaluator, reqs, Mask(ffns=frozenset({layer})), metric, ck, {"layer": layer},
            responses.get(layer),
        )  # fmt: skip
        rows.append((layer, baseline, knocked, 100.0 * (baseline - knocked)))
        docs.append(layer_docs)
    return pd.DataFrame(rows, columns=ORACLE_COLUMNS), pd.concat(docs, ignore_index=True)


def _resumed_responses(
    evaluator: Evaluator,
    reqs: TaskRequests,
    n_layers: int,
    metric: str,
    ck: Checkpoint | None,
    layers_per_pass: int | None,
    progress: bool,
) -> dict[int, list[tuple[float, bool]]]:
    """Responses of the full model (key −1) and of every FFN knock-out not yet in ``ck``, computed by
    residual-stream resume; each pass's knock-outs are checkpointed as soon as the pass ends."""
    from iclprune.evaluate.resume import masked_loglikelihoods
    from iclprune.evaluate.scoring import retry_halving

    todo = [layer for layer in range(-1, n_layers) if not (ck and ck.get(layer=layer))]
    if not todo:
        return {}
    if layers_per_pass is not None and layers_per_pass < 1:
        raise ValueError(f"layers_per_pass={layers_per_pass}; expected a positive integer or None")
    lm = evaluator.lm
    examples = evaluator.examples(reqs)  # tokenised once per (task, shot), as HFLM does
    step = layers_per_pass or len(todo)
    out: dict[int, list[tuple[float, bool]]] = {}
    for p0 in range(0, len(todo), step):
        keys = todo[p0 : p0 + step]
        masks = [Mask() if k < 0 else Mask(ffns=frozenset({k})) for k in keys]
        # out of memory: halve the batch (the cached residuals are L × B × T × d)
        resps, _ = retry_halving(
            lambda size, masks=masks: masked_loglikelihoods(
                evaluator.model, examples, masks, batch_size=size, max_length=lm.max_length,
                softmax_dtype=lm.softmax_dtype, autocast_dtype=lm.mixed_precision_dtype, progress=progress,
            ),
            evaluator.batch_size, what="FFN oracle resume",
            at_one=lambda: "out of memory in the FFN oracle's residual resume even at batch size 1; set "
            "evaluation.layers_per_pass, use fewer documents per batch, a shorter max_length or a bigger device",
        )  # fmt: skip
        for k, r in zip(keys, resps, strict=True):
            out[k] = r
            if ck:  # checkpoint every finished knock-out of this pass now
                _point(evaluator, reqs, Mask(), metric, ck, {"layer": k}, r)
    return out


def head_ranking(scores: np.ndarray) -> list[tuple[int, int]]:
    """Heads of a ``(layers, heads)`` score matrix, least important first (ties in index order)."""
    n_heads = scores.shape[1]
    return [(int(i) // n_heads, int(i) % n_heads) for i in rank_ascending(scores)]


def ffn_ranking(scores: np.ndarray) -> list[int]:
    """Layers of a ``(layers,)`` FFN score vector, least important first (ties keep layer order)."""
    return [int(i) for i in rank_ascending(scores)]


def check_rankings(
    model: object, heads: Sequence[tuple[int, int]] | None, ffns: Sequence[int] | None
) -> None:
    """A head ranking must be a permutation of all ``layers × heads`` heads and an FFN ranking of all
    layers of ``model``; otherwise a ValueError naming both shapes."""
    from iclprune.model.sites import resolve

    sites = resolve(model)
    L, H = sites.shape
    if heads is not None and sorted(heads) != [(layer, h) for layer in range(L) for h in range(H)]:
        n_layers = 1 + max((layer for layer, _ in heads), default=-1)
        n_heads = 1 + max((h for _, h in heads), default=-1)
        raise ValueError(
            f"head ranking covers {len(heads)} heads (up to {n_layers} layers × {n_heads} heads); "
            f"expected every head of the model's ({L} layers, {H} heads)"
        )
    if ffns is not None and sorted(ffns) != list(range(L)):
        raise ValueError(
            f"FFN ranking covers {len(ffns)} layers; expected every one of the model's {L} layers"
        )


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
    memo: dict[Mask, EvalResult] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate ``reqs`` at every ``(pct_heads, pct_ffns)`` of ``grid`` under fixed rankings.

    Returns one row per grid point (columns :data:`SWEEP_COLUMNS`) and the per-document results of
    every point (``pct_heads, pct_ffns, doc_id, acc, loglik``); resumable through ``checkpoint``.
    Sweeps of the same ``reqs`` that share a ``memo`` evaluate each distinct mask once (e.g. the FFN
    sweep's points are the combined grid's ``pct_heads = 0`` column); the masks still to evaluate go
    ``evaluator.mask_batch`` at a time through :meth:`~iclprune.evaluate.evaluation.Evaluator.evaluate_many`,
    each chunk checkpointed when it ends.
    """
    check_rankings(evaluator.model, heads, ffns)
    ck = Checkpoint(checkpoint, ("pct_heads", "pct_ffns")) if checkpoint else None
    memo = {} if memo is None else memo  # a mask repeated in the grid is evaluated once
    points = [
        ({"pct_heads": pct_h, "pct_ffns": pct_f}, pruning_mask(heads, pct_h, ffns, pct_f))
        for pct_h, pct_f in grid
    ]
    # The chunks are fixed by grid position (distinct masks not evaluated by another sweep, in grid
    # order), never by what is left: a resumed sweep tiles each mask with the same neighbours as an
    # uninterrupted one, so its float results are bit-identical. A chunk is skipped only when all its
    # points are checkpointed; one cut by a kill is evaluated again whole.
    distinct = list(dict.fromkeys(m for _, m in points if m not in memo))
    step = evaluator.mask_batch if evaluator.shared_context else 1
    pending = {m for key, m in points if not (ck and ck.get(**key))}
    done = {m for _, m in points} - pending  # every point of the mask checkpointed
    chunks = [distinct[c : c + step] for c in range(0, len(distinct), step)]
    chunks = [chunk for chunk in chunks if not set(chunk) <= done]
    for chunk in tqdm(chunks, desc=f"pruning {reqs.name} {reqs.shots}-shot", disable=not progress):
        memo.update(zip(chunk, evaluator.evaluate_many(reqs, chunk), strict=True))
        for key, mask in points:  # checkpoint this chunk's points now
            if mask in chunk:
                _point(evaluator, reqs, mask, metric, ck, key, memo=memo)
    rows, docs = [], []
    for key, mask in points:
        value, point_docs = _point(evaluator, reqs, mask, metric, ck, key, memo=memo)
        rows.append((key["pct_heads"], key["pct_ffns"], len(mask.heads), len(mask.ffns), value))
        docs.append(point_docs)
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS), pd.concat(docs, ignore_index=True)
