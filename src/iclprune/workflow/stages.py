"""Workflow stages: each reads plain-data inputs, computes with the package, writes plain data atomically.

Scripts under ``scripts/`` (Snakemake) and the ``iclprune`` CLI both call these, one function a stage.
A stage's ``model`` argument is a model spec mapping (``source``, ``dtype``, ``revision``, ...) as in
``config/config.yaml``; its settings come as one object per config block (:mod:`iclprune.core.settings`).
The config hash in every sidecar covers the spec and the stage's parameters. This module holds the stages
that load a model outside the pruning sweeps (:mod:`iclprune.workflow.sweeps`); the model-free tables
from other stages' outputs are in :mod:`iclprune.workflow.summaries`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclprune.core.io import (
    Checkpoint,
    check_table_path,
    prepare_checkpoint,
    sidecar_path,
    write_json,
    write_table,
    write_with_provenance,
)
from iclprune.core.settings import EvaluationSettings, ImportanceSettings, InductionSettings

log = logging.getLogger(__name__)


def _spec(model: Mapping[str, Any] | str) -> dict[str, Any]:
    return {"source": model} if isinstance(model, str) else dict(model)


@lru_cache(maxsize=2)
def _load(spec_json: str):
    from iclprune.model.models import (
        load_from_spec,  # placement (device_map, max_memory, offload) from the spec
    )

    return load_from_spec(json.loads(spec_json))


def _check_architecture(source: str) -> None:
    """Fail before any weights are read when a local model directory's ``config.json`` is unreadable or
    names an architecture without a site map; the error names the directory and the supported types."""
    from iclprune.model.models import ModelLoadError, ModelRef
    from iclprune.model.sites import UnsupportedArchitectureError, site_map_for

    config = Path(source).expanduser() / "config.json"
    if ModelRef.parse(source).kind != "pretrained" or not config.is_file():
        return  # models.load_model names a missing directory, a missing config.json or an uncached hub id
    try:
        model_type = json.loads(config.read_text()).get("model_type", "<missing>")
    except (json.JSONDecodeError, AttributeError) as err:
        raise ModelLoadError(
            f"model config {config} is not a JSON object: {err}; expected a HF config.json"
        ) from err
    try:
        site_map_for(model_type)
    except UnsupportedArchitectureError as err:
        raise UnsupportedArchitectureError(f"model {source!r}: {err}") from None


def load_spec(model: Mapping[str, Any] | str):
    """``(model, tokenizer)`` of a model spec; one resident copy per process."""
    spec = _spec(model)
    _check_architecture(spec["source"])
    return _load(json.dumps(spec, sort_keys=True))


def cache_model(
    model: Mapping[str, Any] | str, out: str | Path, *, manifest: str | Path | None = None
) -> None:
    """Make the model loadable offline and write a JSON card: geometry, parameter count, source.

    With ``manifest`` (a hub model's download manifest), the snapshot is re-hashed against it first, so
    a file changed since the download stops the workflow here, before any GPU job reads it.
    """
    from iclprune.model.models import ModelRef, cache_embedded
    from iclprune.model.sites import resolve
    from iclprune.model.surgery import n_parameters

    spec = _spec(model)
    if manifest is not None:
        from iclprune.model.download import verify_snapshot

        verify_snapshot(manifest)
    if ModelRef.parse(spec["source"]).kind in ("embedded", "tiny"):
        cache_embedded()
    net, _ = load_spec(spec)
    sites = resolve(net)
    card = {
        "spec": spec,
        "family": sites.spec.family,
        "n_layers": sites.n_layers,
        "n_heads": sites.n_heads,
        "n_kv_heads": sites.n_kv_heads,
        "d_head": sites.d_head,
        "n_parameters": n_parameters(net),
    }
    write_json(card, out)


def _requests(task: str, shots: int, seed: int, limit: int | None, role: str, data: str | Path | None = None):
    """lm-eval's requests of ``task``; with ``data`` (its data manifest) reading only the files it lists,
    re-hashed first (:func:`iclprune.evaluate.taskdata.task_config_for`)."""
    from iclprune.evaluate.evaluation import build_requests
    from iclprune.evaluate.taskdata import task_config_for

    return build_requests(task_config_for(task, data), shots, seed=seed, limit=limit, role=role)


def _with_data(params: dict[str, Any], data: str | Path | None) -> dict[str, Any]:
    """``params`` plus, for a task read through a data manifest, its source and a digest of its files."""
    from iclprune.evaluate.taskdata import data_identity

    return params if data is None else dict(params, data=data_identity(data))


def head_importance(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    out: str | Path,
    *,
    importance: ImportanceSettings = ImportanceSettings(),
    data: str | Path | None = None,
) -> None:
    """Gradient head importance (both variants) on the first ``importance.n_docs`` training documents of
    ``task`` at ``shots`` demonstrations. Writes ``variant, layer, head, score`` + a provenance sidecar, and
    before them, beside ``out`` (``heads.parquet`` → ``heads.docs.parquet``), each document's share:
    ``task, shot, doc_id`` (lm-eval's) ``, layer, head, abs_sum, signed_sum, n_positions, n_answer_tokens,
    normalizer`` (:mod:`iclprune.analysis.importance_bootstrap` re-aggregates it on resampled documents)."""
    from iclprune.analysis.importance import head_importance as score
    from iclprune.evaluate.evaluation import Evaluator

    settings = importance
    seed, n_docs, normalizer = settings.seed, settings.n_docs, settings.normalizer
    reqs = _requests(task, shots, seed, n_docs, "importance", data)  # bad data fails before the model loads
    net, tok = load_spec(model)
    examples = Evaluator(net, tok).importance_examples(reqs)
    result = score(
        net, examples, batch_size=settings.batch_size, normalizer=normalizer, pad_token_id=tok.pad_token_id or 0,
        label=f"task {task!r}, {shots}-shot",
    )  # fmt: skip
    table = result.to_frame()
    docs = result.to_docs_frame([int(doc_id) for doc_id, _ in reqs.docs])  # examples follow reqs.docs
    for df in (table, docs):
        df.insert(0, "shot", shots)
        df.insert(0, "task", task)
    write_table(docs, docs_path(out))  # before the summary: a summary never lacks its documents
    params = {"model": _spec(model), "task": task, "shots": shots, "n_docs": n_docs, "normalizer": normalizer}
    params = _with_data(params, data)
    write_with_provenance(
        table, out, params, seeds={"fewshot": seed}, n_examples=result.n_examples,
        n_positions=result.n_positions, n_answer_tokens=result.n_answer_tokens,
    )  # fmt: skip


def _evaluator(model: Mapping[str, Any] | str, evaluation: EvaluationSettings):
    """An evaluator of ``model`` (loaded once per process) with ``evaluation``'s batching."""
    from iclprune.evaluate.evaluation import Evaluator

    net, tok = load_spec(model)
    return Evaluator(
        net, tok, batch_size=evaluation.batch_size, shared_context=evaluation.shared_context,
        mask_batch=evaluation.mask_batch,
    )  # fmt: skip


def ffn_oracle(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    out: str | Path,
    *,
    evaluation: EvaluationSettings = EvaluationSettings(),
    data: str | Path | None = None,
) -> None:
    """Oracle FFN importance of ``task`` at ``shots``; resumable (``<out>.partial.jsonl``).

    ``evaluation.resume`` starts every knock-out from the clean residual stream entering its layer,
    ``evaluation.layers_per_pass`` knock-outs per clean pass (None: all; each pass is checkpointed);
    ``evaluation.shared_context`` scores the naive path's evaluations with each context run once. Both are
    exact; False gives the reference paths.
    """
    from iclprune.analysis.pruning import ffn_oracle as oracle

    check_table_path(out)
    seed, limit, metric = evaluation.seed, evaluation.limit, evaluation.metric
    reqs = _requests(task, shots, seed, limit, "eval", data)
    params = {"model": _spec(model), "task": task, "shots": shots, "limit": limit, "metric": metric}
    params = _with_data(params, data)
    ck = _checkpoint_path(out, dict(params, seed=seed))
    table, docs = oracle(
        _evaluator(model, evaluation), reqs, metric=metric, checkpoint=ck, resume=evaluation.resume,
        layers_per_pass=evaluation.layers_per_pass,
    )  # fmt: skip
    _write_pair(table, docs, out, params, task, shots, seed=seed, n_docs=reqs.n_docs, checkpoint=ck)


def docs_path(out: str | Path) -> Path:
    """Per-document companion of a stage table: ``x/heads.parquet`` → ``x/heads.docs.parquet``."""
    out = Path(out)
    return out.with_name(out.stem + ".docs.parquet")


def _write_pair(
    table: pd.DataFrame,
    docs: pd.DataFrame,
    out: str | Path,
    params: dict,
    task: str,
    shots: int,
    checkpoint: Path,
    **extra: Any,
) -> None:
    """Write the per-document results, then the summary table with its sidecar (summary last), then
    delete the stage's ``checkpoint``, whose records both tables now hold."""
    for df in (table, docs):
        df.insert(0, "shot", shots)
        df.insert(0, "task", task)
    write_table(docs, docs_path(out))
    write_with_provenance(table, out, params, seeds={"fewshot": extra.pop("seed")}, **extra)
    Path(checkpoint).unlink(missing_ok=True)


def _checkpoint_path(out: str | Path, config: dict | None = None) -> Path:
    """Where a resumable stage keeps finished points: ``<out>.partial.jsonl``; with ``config`` (everything
    that determines a point), bound to it: kept and logged when it matches, discarded when stale."""
    path = Path(str(out) + ".partial.jsonl")
    return prepare_checkpoint(path, config) if config is not None else path


def evaluate(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    out: str | Path,
    *,
    remove: list[str] | tuple[str, ...] = (),
    evaluation: EvaluationSettings = EvaluationSettings(),
    data: str | Path | None = None,
) -> dict[str, float]:
    """Evaluate one (task, shot) with ``remove``'s components removed; writes per-document rows
    (``doc_id, acc, loglik, is_greedy``) and a sidecar holding the metrics. Returns the metrics."""
    from iclprune.core.components import Mask
    from iclprune.model.sites import resolve

    check_table_path(out)
    mask = Mask.of(remove)
    seed, limit = evaluation.seed, evaluation.limit
    ev = _evaluator(model, evaluation)
    sites = resolve(ev.model)
    mask.check(sites.n_layers, sites.n_heads)
    reqs = _requests(task, shots, seed, limit, "eval", data)
    result = ev.evaluate(reqs, mask)
    docs = result.per_doc
    docs.insert(0, "shot", shots)
    docs.insert(0, "task", task)
    params = {"model": _spec(model), "task": task, "shots": shots, "limit": limit, "remove": sorted(remove)}
    params = _with_data(params, data)
    write_with_provenance(
        docs, out, params, seeds={"fewshot": seed}, metrics=result.metrics, n_docs=reqs.n_docs
    )
    return result.metrics


def task_table(
    model: Mapping[str, Any] | str,
    tasks: list[str],
    shots: list[int],
    out: str | Path,
    *,
    evaluation: EvaluationSettings = EvaluationSettings(),
    data: Mapping[str, str | Path] | None = None,
) -> pd.DataFrame:
    """Accuracy of the full model per task and shot with its 95% Wilson interval over documents, and the
    task's chance level: its ``metadata.chance`` (bundled tasks) or else the majority-class share of the
    evaluated documents (``tasks/README.md``, ``docs/data.md``). ``data``: task → data manifest, for
    registry tasks read from a snapshot or local files."""
    from iclprune.evaluate.taskdefs import chance_level

    data = dict(data or {})
    check_table_path(out)
    seed, limit = evaluation.seed, evaluation.limit
    ev = _evaluator(model, evaluation)
    identity: dict[str, Any] = {"model": _spec(model), "limit": limit, "seed": seed}
    identity["data"] = {t: _with_data({}, d).get("data") for t, d in sorted(data.items())} or None
    ck = Checkpoint(_checkpoint_path(out, identity), ("task", "shot"))
    rows = []
    for task in tasks:
        for k in shots:
            done = ck.get(task=task, shot=k)
            if done is None:
                reqs = _requests(task, k, seed, limit, "eval", data.get(task))
                chance = chance_level(reqs.task.config.to_dict())
                done = {
                    "task": task,
                    "shot": k,
                    "acc": ev.evaluate(reqs).metrics["acc"],
                    "n_docs": reqs.n_docs,
                    "chance": majority_share(reqs) if chance is None else chance,
                }
                ck.add(done)
                log.info(
                    "task table: %s %d-shot acc %.3f over %d documents", task, k, done["acc"], done["n_docs"]
                )
            rows.append(done)
    table = pd.DataFrame(rows)
    low, high = wilson_interval(table["acc"].to_numpy(), table["n_docs"].to_numpy())
    table.insert(table.columns.get_loc("acc") + 1, "acc_low", low)
    table.insert(table.columns.get_loc("acc") + 2, "acc_high", high)
    write_with_provenance(
        table,
        out,
        {"model": _spec(model), "tasks": tasks, "shots": shots, "limit": limit, "data": identity["data"]},
        seeds={"fewshot": seed},
    )
    ck.remove()
    return table


def majority_share(reqs: Any) -> float | None:
    """The share of ``reqs``' documents whose gold choice is the most common one (what always answering
    that choice scores), or None for a task that is not multiple choice."""
    task = reqs.task
    if task.OUTPUT_TYPE != "multiple_choice":
        return None
    golds = []
    for _, doc in reqs.docs:
        gold = task.doc_to_target(doc)
        if isinstance(gold, list):
            gold = gold[0]
        if not isinstance(gold, int):
            gold = task.doc_to_choice(doc).index(gold)
        golds.append(gold)
    counts = pd.Series(golds).value_counts()
    return float(counts.iloc[0] / len(golds))


def wilson_interval(acc: np.ndarray, n: np.ndarray, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval (95% by default) of accuracies ``acc`` over ``n`` documents each
    (arrays of one shape); the interval of a binomial share that stays inside [0, 1] at small n."""
    acc, n = np.asarray(acc, dtype=float), np.asarray(n, dtype=float)
    centre = (acc + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(acc * (1 - acc) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def induction_scores(
    model: Mapping[str, Any] | str,
    out: str | Path,
    *,
    induction: InductionSettings = InductionSettings(),
) -> None:
    """Prefix-matching and copying scores of every head over seeds ``0..induction.n_seeds-1`` (Olsson et
    al.)."""
    from iclprune.analysis.induction import induction_table

    n_seeds, compat_off_by_one = induction.n_seeds, induction.compat_off_by_one
    net, tok = load_spec(model)
    table = induction_table(net, tok, range(n_seeds), compat_off_by_one=compat_off_by_one, progress=False)
    params = {"model": _spec(model), "n_seeds": n_seeds, "compat_off_by_one": compat_off_by_one}
    write_with_provenance(table, out, params, seeds={"sequences": list(range(n_seeds))})


__all__ = [
    "cache_model",
    "docs_path",
    "evaluate",
    "ffn_oracle",
    "head_importance",
    "induction_scores",
    "load_spec",
    "majority_share",
    "sidecar_path",
    "task_table",
    "wilson_interval",
]
