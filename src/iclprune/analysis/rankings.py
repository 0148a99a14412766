"""Head rankings beyond the paper's one-shot gradient: the single-head oracle and iterative re-scoring.

Both are scored on the **importance documents** (the training split, as the gradient scores are), never on
the documents a pruning sweep is then evaluated on: a ranking chosen on the evaluation documents would
flatter itself.

* **Oracle** (:func:`head_oracle`): every head knocked out alone; its score is the drop in mean gold
  log-likelihood (nats; positive = the model needs the head), with the drop in accuracy beside it. Each
  knock-out starts from the clean residual stream entering its layer
  (:func:`iclprune.evaluate.resume.masked_loglikelihoods`), one clean pass per batch for all of them, the
  heads of one layer ``evaluation.mask_batch`` at a time in one tiled forward: an
  ``L``-layer model with ``H`` heads runs ``L + H·L(L+1)/2`` decoder-layer forwards per batch instead of
  ``L·(L·H + 1)``, and unembeds at the continuation positions only. The responses are lm-eval's
  ``(loglik, is_greedy)``, turned into metrics by lm-eval's own ``process_results``
  (:func:`iclprune.evaluate.evaluation.score_responses`), exactly as a naive evaluation per knock-out.
* **Iterative** (:func:`iterative_head_ranking`): the paper prunes greedily from one ranking and names
  re-scoring after each removal as the fix for its under-estimate. Here each step recomputes the gradient
  importance with the heads removed so far masked out (one forward + backward per batch), then removes the
  ``step``% lowest-scoring heads still present. The removal order is a ranking, so the sweep machinery
  evaluates it like any other: at ``p``% the first ``⌊p·N/100⌋`` heads of the order are removed, which is the
  iteratively pruned model at every multiple of the step. A step of 100% is the one-shot ranking.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from iclprune.analysis.agreement import n_removed, rank_ascending
from iclprune.core.components import Mask
from iclprune.core.io import Checkpoint
from iclprune.evaluate.batching import Example
from iclprune.evaluate.evaluation import Evaluator, TaskRequests, gold_index, score_responses

log = logging.getLogger(__name__)

ORACLE_COLUMNS = [
    "variant", "layer", "head", "score", "acc_drop", "baseline_loglik", "knocked_loglik", "baseline_acc",
    "knocked_acc",
]  # fmt: skip
ORACLE_DOC_COLUMNS = ["layer", "head", "doc_id", "acc", "gold_loglik"]
ITERATIVE_COLUMNS = ["variant", "layer", "head", "score", "step", "gradient_score"]
FULL = (-1, -1)  # the (layer, head) key of the unpruned model in the oracle's per-document table


def _doc_rows(reqs: TaskRequests, resps: Sequence[tuple[float, bool]]) -> dict[str, list]:
    """Per document of ``reqs``: lm-eval's accuracy and the gold choice's log-likelihood."""
    result = score_responses(reqs, resps)
    if "acc" not in result.per_doc:
        raise ValueError(
            f"task {reqs.name!r} gives no per-document acc; the head oracle needs multiple choice"
        )
    golds = {int(doc_id): gold_index(reqs.task, doc) for doc_id, doc in reqs.docs}
    per_doc = result.per_doc
    gold_ll = [float(ll[golds[int(d)]]) for d, ll in zip(per_doc.doc_id, per_doc.loglik, strict=True)]
    return {
        "doc_id": [int(d) for d in per_doc.doc_id],
        "acc": [float(a) for a in per_doc.acc],
        "gold_loglik": gold_ll,
    }


def head_oracle(
    evaluator: Evaluator,
    reqs: TaskRequests,
    *,
    resume: bool = True,
    layers_per_pass: int | None = None,
    checkpoint: str | Path | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Knock out every head of ``evaluator.model`` alone on the documents of ``reqs``.

    Args:
        evaluator: the resident model and its lm-eval wrapper (tokenisation, ``max_length``, batching).
        reqs: the (task, shot)'s requests, normally built with ``role='importance'``; the task must be
            multiple choice (the gold choice's log-likelihood is scored).
        resume: start each knock-out from the clean residual stream entering its layer (one clean pass per
            batch for all of them). False evaluates every knock-out with a full pass of the Evaluator's
            scorer (the naive reference; equal within the scorers' 1e-4).
        layers_per_pass: with ``resume``, the knock-outs of this many layers per clean pass, each pass
            checkpointed when it ends (default: every layer in one pass).
        checkpoint: a JSONL of finished knock-outs (key ``layer, head``), skipped on a re-run.

    Returns:
        ``(table, docs)``: one row per head (columns :data:`ORACLE_COLUMNS`; ``variant = 'oracle'``,
        ``score`` = mean gold log-likelihood of the full model minus that without the head, nats,
        ``acc_drop`` in points), and the per-document rows of every knock-out (columns
        :data:`ORACLE_DOC_COLUMNS`; ``layer = head = -1`` is the full model).
    """
    from iclprune.model.sites import resolve

    n_layers, n_heads = resolve(evaluator.model).shape
    if layers_per_pass is not None and layers_per_pass < 1:
        raise ValueError(f"layers_per_pass={layers_per_pass}; expected a positive integer or None")
    ck = Checkpoint(checkpoint, ("layer", "head")) if checkpoint else None
    keys = [FULL] + [(layer, h) for layer in range(n_layers) for h in range(n_heads)]
    done: dict[tuple[int, int], dict[str, list]] = {}
    for key in keys:
        record = ck.get(layer=key[0], head=key[1]) if ck else None
        if record is not None:
            done[key] = record["docs"]
    todo = [k for k in keys if k not in done]
    if done:
        log.info("head oracle %s %d-shot: %d of %d knock-outs from the checkpoint", reqs.name, reqs.shots,
                 len(done), len(keys))  # fmt: skip

    def finish(key: tuple[int, int], resps: Sequence[tuple[float, bool]]) -> None:
        if key in done:  # checkpointed before a kill; recomputed only to tile its pass as before
            return
        done[key] = _doc_rows(reqs, resps)
        if ck:
            ck.add({"layer": key[0], "head": key[1], "docs": done[key]})

    if resume and todo:
        # passes (and the tiles within them) are fixed by the full list of knock-outs, never by what is
        # left, so a resumed oracle is bit-identical to an uninterrupted one; a pass cut by a kill is
        # run again whole
        for chunk in (c for c in _passes(keys, layers_per_pass) if any(k not in done for k in c)):
            log.info("head oracle %s %d-shot: %d knock-outs from layer %d, resumed from the clean residual "
                     "stream", reqs.name, reqs.shots, len(chunk), max(chunk[0][0], 0))  # fmt: skip
            for key, resps in zip(chunk, _resumed(evaluator, reqs, chunk, progress), strict=True):
                finish(key, resps)
    else:
        for i, key in enumerate(todo):
            mask = Mask() if key == FULL else Mask(heads=frozenset({key}))
            finish(key, evaluator.loglikelihoods(reqs, mask))
            if progress or (i + 1) % max(1, len(todo) // 10) == 0:
                log.info("head oracle %s %d-shot: %d/%d knock-outs", reqs.name, reqs.shots, i + 1, len(todo))
    return _tables(done, n_layers, n_heads)


def _passes(todo: list[tuple[int, int]], layers_per_pass: int | None) -> list[list[tuple[int, int]]]:
    """Knock-outs grouped into passes of ``layers_per_pass`` layers (the full model rides in the first)."""
    if layers_per_pass is None:
        return [todo]
    by_pass: dict[int, list[tuple[int, int]]] = {}
    for key in todo:
        by_pass.setdefault(max(key[0], 0) // layers_per_pass, []).append(key)
    return [by_pass[p] for p in sorted(by_pass)]


def _resumed(
    evaluator: Evaluator, reqs: TaskRequests, keys: Sequence[tuple[int, int]], progress: bool
) -> list[list[tuple[float, bool]]]:
    """lm-eval's responses under each knock-out of ``keys`` by residual-stream resume (batch halved on OOM)."""
    from iclprune.evaluate.resume import masked_loglikelihoods
    from iclprune.evaluate.scoring import retry_halving

    lm = evaluator.lm
    examples = evaluator.examples(reqs)
    masks = [Mask() if key == FULL else Mask(heads=frozenset({key})) for key in keys]
    resps, _ = retry_halving(
        lambda size: masked_loglikelihoods(
            evaluator.model, examples, masks, batch_size=size, max_length=lm.max_length,
            softmax_dtype=lm.softmax_dtype, autocast_dtype=lm.mixed_precision_dtype, progress=progress,
            mask_batch=evaluator.mask_batch,
        ),
        evaluator.batch_size, what="head oracle resume",
        at_one=lambda: "out of memory in the head oracle's residual resume even at batch size 1; set "
        "evaluation.layers_per_pass, use fewer importance documents, a shorter max_length or a bigger device",
    )  # fmt: skip
    return resps


def _tables(
    done: dict[tuple[int, int], dict[str, list]], n_layers: int, n_heads: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = done[FULL]
    base_ll, base_acc = float(np.mean(base["gold_loglik"])), float(np.mean(base["acc"]))
    rows, docs = [], []
    for layer in range(n_layers):
        for h in range(n_heads):
            d = done[(layer, h)]
            if d["doc_id"] != base["doc_id"]:
                raise RuntimeError(
                    f"knock-out of head {layer}:{h} scored other documents than the full model"
                )
            ll, acc = float(np.mean(d["gold_loglik"])), float(np.mean(d["acc"]))
            rows.append(
                ("oracle", layer, h, base_ll - ll, 100.0 * (base_acc - acc), base_ll, ll, base_acc, acc)
            )
    for (layer, h), d in sorted(done.items()):
        docs.append(pd.DataFrame(d).assign(layer=layer, head=h))
    docs_df = pd.concat(docs, ignore_index=True)[ORACLE_DOC_COLUMNS]
    return pd.DataFrame(rows, columns=ORACLE_COLUMNS), docs_df


def iterative_head_ranking(
    model: nn.Module,
    examples: Sequence[Example],
    *,
    step_pct: float = 10.0,
    max_pct: float = 100.0,
    variant: str = "bansal",
    batch_size: int = 8,
    normalizer: str = "paper",
    pad_token_id: int = 0,
    max_length: int | None = None,
    label: str = "",
) -> pd.DataFrame:
    """The order in which iterative re-scored pruning removes the heads of ``model``.

    Step ``s`` scores every head by gradient importance (``variant``;
    :func:`iclprune.analysis.importance.head_importance`) on ``examples`` with the heads removed so far
    masked out, then removes the ``⌊step_pct·N/100⌋`` lowest-scoring heads still present (ties in index
    order). Once ``⌊max_pct·N/100⌋`` heads are removed (the sweep goes no further), the rest follow in the
    order of the last scores, so the table always ranks every head.

    Args:
        examples: the importance documents' gold (context, continuation) token ids.
        step_pct: the share of all heads removed per step, in ``(0, 100]``; 100 gives the one-shot ranking.
        max_pct: how far the iterative sweep goes, in ``[0, 100]``.

    Returns:
        One row per head (columns :data:`ITERATIVE_COLUMNS`): ``variant = 'iterative'``, ``score`` = its
        position in the removal order (0 = removed first; ascending = least important first, as every ranking
        here), ``step`` = the re-scoring step that removed it, ``gradient_score`` = its score at that step.
    """
    from iclprune.analysis.importance import VARIANTS, head_importance
    from iclprune.model.sites import resolve
    from iclprune.model.surgery import masked

    if not 0 < step_pct <= 100:
        raise ValueError(f"step_pct={step_pct}; expected a percentage in (0, 100]")
    if not 0 <= max_pct <= 100:
        raise ValueError(f"max_pct={max_pct}; expected a percentage in [0, 100]")
    if variant not in VARIANTS:
        raise ValueError(f"unknown importance variant {variant!r}; expected one of {list(VARIANTS)}")
    n_layers, n_heads = resolve(model).shape
    total = n_layers * n_heads
    per_step = max(1, n_removed(step_pct, total))
    target = n_removed(max_pct, total)
    order: list[tuple[int, int, int, float]] = []  # (layer, head, step, gradient score)
    removed: set[tuple[int, int]] = set()
    step = 0
    while len(order) < total:
        with masked(model, Mask(heads=frozenset(removed))):
            scores = head_importance(
                model,
                examples,
                batch_size=batch_size,
                normalizer=normalizer,  # type: ignore[arg-type]
                pad_token_id=pad_token_id,
                max_length=max_length,
                label=f"{label} step {step}",
            ).scores(variant)  # type: ignore[arg-type]
        present = [int(i) for i in rank_ascending(scores) if divmod(int(i), n_heads) not in removed]
        last = len(order) + per_step >= target
        take = present if last else present[:per_step]
        for i in take:
            layer, h = divmod(i, n_heads)
            order.append((layer, h, step, float(scores[layer, h])))
            removed.add((layer, h))
        log.info("iterative ranking %s: step %d removed %d heads (%d/%d)%s", label, step, len(take),
                 len(order), total, "; the rest by these scores" if last else "")  # fmt: skip
        step += 1
    return pd.DataFrame(
        [("iterative", layer, h, float(pos), s, g) for pos, (layer, h, s, g) in enumerate(order)],
        columns=ITERATIVE_COLUMNS,
    )


__all__ = [
    "ITERATIVE_COLUMNS",
    "ORACLE_COLUMNS",
    "ORACLE_DOC_COLUMNS",
    "head_oracle",
    "iterative_head_ranking",
]
