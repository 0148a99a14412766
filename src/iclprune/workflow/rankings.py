"""Ranking stages beyond the paper's gradient scores: the single-head oracle and iterative re-scoring.

Both read the importance documents of a (task, shot) (the first ``importance.n_docs`` training documents,
few-shot seed ``importance.seed``: the documents the gradient scores use) and write a head table with
columns ``variant, layer, head, score`` (ascending = pruned first) that the pruning jobs rank by, plus a
provenance sidecar (:mod:`iclprune.analysis.rankings`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iclprune.core.io import check_table_path, write_with_provenance
from iclprune.core.settings import EvaluationSettings, ImportanceSettings, PruningSettings
from iclprune.workflow.stages import (
    _checkpoint_path,
    _evaluator,
    _requests,
    _spec,
    _with_data,
    _write_pair,
    load_spec,
)

log = logging.getLogger(__name__)


def head_oracle(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    out: str | Path,
    *,
    importance: ImportanceSettings = ImportanceSettings(),
    evaluation: EvaluationSettings = EvaluationSettings(),
    data: str | Path | None = None,
) -> None:
    """Oracle importance of every head of ``task`` at ``shots``: each knocked out alone on the importance
    documents, scored as the drop in mean gold log-likelihood (and in accuracy). Resumable
    (``<out>.partial.jsonl``); writes the per-document knock-outs beside ``out`` (``x.docs.parquet``).

    ``evaluation.resume`` starts each knock-out from the clean residual stream entering its layer (False:
    one full evaluation per knock-out, the reference); ``evaluation.layers_per_pass`` bounds the layers per
    clean pass; ``evaluation.batch_size`` is the batch.
    """
    from iclprune.analysis.rankings import head_oracle as oracle

    check_table_path(out)
    seed, n_docs = importance.seed, importance.n_docs
    reqs = _requests(task, shots, seed, n_docs, "importance", data)  # bad data fails before the model loads
    params = {
        "model": _spec(model),
        "task": task,
        "shots": shots,
        "n_docs": n_docs,
        "documents": "importance",
    }
    params = _with_data(params, data)
    ck = _checkpoint_path(out, dict(params, seed=seed))
    table, docs = oracle(
        _evaluator(model, evaluation), reqs, resume=evaluation.resume, layers_per_pass=evaluation.layers_per_pass,
        checkpoint=ck, progress=True,
    )  # fmt: skip
    _write_pair(table, docs, out, params, task, shots, seed=seed, n_docs=reqs.n_docs, checkpoint=ck)


def iterative_ranking(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    out: str | Path,
    *,
    importance: ImportanceSettings = ImportanceSettings(),
    pruning: PruningSettings = PruningSettings(),
    data: str | Path | None = None,
) -> None:
    """The iterative re-scored head ranking of ``task`` at ``shots``: every ``pruning.iterative_step``% of
    heads, the gradient importance (``importance.variant``) is recomputed on the importance documents with
    the heads removed so far masked out, up to the largest point of ``pruning.head_grid``."""
    from iclprune.analysis.rankings import iterative_head_ranking
    from iclprune.evaluate.evaluation import Evaluator

    check_table_path(out)
    settings = importance
    reqs = _requests(task, shots, settings.seed, settings.n_docs, "importance", data)
    max_pct = max(p for p, _ in pruning.head_grid)
    net, tok = load_spec(model)
    examples = Evaluator(net, tok).importance_examples(reqs)
    table = iterative_head_ranking(
        net, examples, step_pct=pruning.iterative_step, max_pct=max_pct, variant=settings.variant,
        batch_size=settings.batch_size, normalizer=settings.normalizer, pad_token_id=tok.pad_token_id or 0,
        label=f"task {task!r}, {shots}-shot",
    )  # fmt: skip
    table.insert(0, "shot", shots)
    table.insert(0, "task", task)
    params = {
        "model": _spec(model), "task": task, "shots": shots, "n_docs": settings.n_docs,
        "normalizer": settings.normalizer, "variant": settings.variant, "step_pct": pruning.iterative_step,
        "max_pct": max_pct,
    }  # fmt: skip
    params = _with_data(params, data)
    write_with_provenance(table, out, params, seeds={"fewshot": settings.seed}, n_docs=reqs.n_docs)


__all__ = ["head_oracle", "iterative_ranking"]
