"""Workflow stages: each reads plain-data inputs, computes with the package, writes plain data atomically.

Scripts under ``scripts/`` (Snakemake) and the ``iclprune`` CLI both call these, one function a stage.
A stage's ``model`` argument is a model spec mapping (``source``, ``dtype``, ``revision``, ...) as in
``config/config.yaml``; the config hash in every sidecar covers the spec and the stage's parameters.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclprune.core.components import head_table
from iclprune.core.io import (
    Checkpoint,
    StageInputError,
    check_table_path,
    prepare_checkpoint,
    read_table,
    sidecar_path,
    write_json,
    write_table,
    write_with_provenance,
)

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
    n_docs: int = 2500,
    batch_size: int = 8,
    normalizer: str = "paper",
    seed: int = 1234,
    data: str | Path | None = None,
) -> None:
    """Gradient head importance (both variants) on the first ``n_docs`` training documents of ``task``
    at ``shots`` demonstrations. Writes ``variant, layer, head, score`` + a provenance sidecar."""
    from iclprune.analysis.importance import head_importance as score
    from iclprune.evaluate.evaluation import Evaluator

    reqs = _requests(task, shots, seed, n_docs, "importance", data)  # bad data fails before the model loads
    net, tok = load_spec(model)
    examples = Evaluator(net, tok).importance_examples(reqs)
    result = score(
        net, examples, batch_size=batch_size, normalizer=normalizer, pad_token_id=tok.pad_token_id or 0,
        label=f"task {task!r}, {shots}-shot",
    )  # fmt: skip
    table = result.to_frame()
    table.insert(0, "shot", shots)
    table.insert(0, "task", task)
    params = {"model": _spec(model), "task": task, "shots": shots, "n_docs": n_docs, "normalizer": normalizer}
    params = _with_data(params, data)
    write_with_provenance(
        table, out, params, seeds={"fewshot": seed}, n_examples=result.n_examples,
        n_positions=result.n_positions, n_answer_tokens=result.n_answer_tokens,
    )  # fmt: skip


def _evaluator(
    model: Mapping[str, Any] | str, batch_size: int, shared_context: bool = True, mask_batch: int = 4
):
    from iclprune.evaluate.evaluation import Evaluator

    net, tok = load_spec(model)
    return Evaluator(net, tok, batch_size=batch_size, shared_context=shared_context, mask_batch=mask_batch)


def ffn_oracle(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    out: str | Path,
    *,
    limit: int | None = None,
    batch_size: int = 8,
    seed: int = 1234,
    metric: str = "acc",
    shared_context: bool = True,
    resume: bool = True,
    layers_per_pass: int | None = None,
    data: str | Path | None = None,
) -> None:
    """Oracle FFN importance of ``task`` at ``shots``; resumable (``<out>.partial.jsonl``).

    ``resume`` starts every knock-out from the clean residual stream entering its layer, ``layers_per_pass``
    knock-outs per clean pass (None: all; each pass is checkpointed); ``shared_context`` scores the naive
    path's evaluations with each context run once. Both are exact; False gives the reference paths.
    """
    from iclprune.analysis.pruning import ffn_oracle as oracle

    check_table_path(out)
    reqs = _requests(task, shots, seed, limit, "eval", data)
    params = {"model": _spec(model), "task": task, "shots": shots, "limit": limit, "metric": metric}
    params = _with_data(params, data)
    ck = _checkpoint_path(out, dict(params, seed=seed))
    table, docs = oracle(
        _evaluator(model, batch_size, shared_context), reqs, metric=metric, checkpoint=ck, resume=resume,
        layers_per_pass=layers_per_pass,
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
    limit: int | None = None,
    batch_size: int = 8,
    seed: int = 1234,
    data: str | Path | None = None,
) -> dict[str, float]:
    """Evaluate one (task, shot) with ``remove``'s components removed; writes per-document rows
    (``doc_id, acc, loglik, is_greedy``) and a sidecar holding the metrics. Returns the metrics."""
    from iclprune.core.components import Mask
    from iclprune.model.sites import resolve

    check_table_path(out)
    mask = Mask.of(remove)
    ev = _evaluator(model, batch_size)
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


def _scores(path: str | Path, variant: str | None = None, kind: str = "head") -> np.ndarray:
    """A head ``(layers, heads)`` matrix (``kind='head'``, an importance table) or an FFN ``(layers,)``
    vector (``kind='FFN'``, an oracle table); a StageInputError naming the file when a column or a
    component is missing, a component is duplicated or a score is not finite."""
    df = read_table(path, ["variant", "layer", "head", "score"] if kind == "head" else ["layer", "score"])
    if kind == "head" and variant:
        df = df[df.variant == variant]
        if df.empty:
            raise StageInputError(f"head scores {path} have no rows for variant {variant!r}")
    keys = ["layer", "head"] if kind == "head" else ["layer"]
    bad = df[~np.isfinite(df.score.to_numpy(dtype=float))]
    if not bad.empty:
        where = tuple(int(v) for v in bad[keys].iloc[0])
        raise StageInputError(
            f"{kind} scores {path} hold a non-finite score {bad.score.iloc[0]} for {kind} {where}; "
            "expected finite scores"
        )
    dup = df[df.duplicated(keys, keep=False)]
    if not dup.empty:
        first = tuple(int(v) for v in dup[keys].iloc[0])
        times = int((dup[keys].to_numpy() == np.array(first)).all(axis=1).sum())
        raise StageInputError(
            f"{kind} scores {path} list {kind} {first} {times} times; expected one score per component"
        )
    layers = sorted(int(v) for v in df.layer.unique())
    if layers != list(range(len(layers))) or not layers:
        absent = sorted(set(range(max(layers, default=-1) + 1)) - set(layers))
        raise StageInputError(
            f"{kind} scores {path} have layers {layers}, missing {absent}; expected layers 0..L-1 each once"
        )
    if kind == "head":
        table = df.pivot(index="layer", columns="head", values="score").sort_index()
        heads = list(table.columns)
        if heads != list(range(len(heads))) or table.isna().any().any():
            missing = [(int(la), int(h)) for la, h in zip(*np.nonzero(table.isna().to_numpy()), strict=True)]
            raise StageInputError(
                f"head scores {path} lack heads (layer, head) {missing[:5] or 'with indices ' + str(heads)}; "
                "expected every head of every layer"
            )
        return table.to_numpy()
    return df.sort_values("layer")["score"].to_numpy()


def _check_grid(grid: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``grid`` as floats; a ValueError naming the first point outside ``[0, 100]``."""
    out = []
    for point in grid:
        pct = tuple(float(v) for v in point)
        if len(pct) != 2 or not all(0 <= v <= 100 for v in pct):
            raise ValueError(f"bad pruning point {point!r}; expected (pct_heads, pct_ffns) each in [0, 100]")
        out.append(pct)
    if not out:
        raise ValueError("empty pruning grid; expected at least one (pct_heads, pct_ffns) point")
    return out


@dataclass
class _Sweep:
    """One sweep of a pruning job, planned (inputs read and checked) before any model is loaded."""

    out: Path
    grid: list[tuple[float, float]]
    heads: list[tuple[int, int]] | None
    ffns: list[int] | None
    params: dict[str, Any]
    columns: dict[str, str] = field(default_factory=dict)  # leading columns, e.g. ranking, ranking_task


def _plan_sweep(
    out: str | Path,
    grid: Sequence[tuple[float, float]],
    *,
    head_scores: str | Path | None,
    ffn_scores: str | Path | None,
    variant: str,
) -> _Sweep:
    from iclprune.analysis.pruning import ffn_ranking, head_ranking

    check_table_path(out)
    grid = _check_grid(grid)
    heads = head_ranking(_scores(head_scores, variant)) if head_scores else None
    ffns = ffn_ranking(_scores(ffn_scores, kind="FFN")) if ffn_scores else None
    params = {
        "grid": grid,
        "variant": variant,
        "head_scores": str(head_scores),
        "ffn_scores": str(ffn_scores),
    }
    return _Sweep(Path(out), grid, heads, ffns, params)


def _plan_transfer(
    task: str,
    ranking: str,
    out: str | Path,
    *,
    srcc: str | Path | None,
    importance: Sequence[str | Path],
    aggregate: str | Path,
    percents: Sequence[float],
    variant: str,
) -> _Sweep:
    from iclprune.analysis.agreement import partner_tasks
    from iclprune.analysis.pruning import head_ranking

    check_table_path(out)
    if ranking == "aggregate":
        source, scores_path = "aggregate", aggregate
    elif ranking in ("high", "low"):
        table = read_table(srcc, ["method", "task_a", "task_b", "srcc"])
        high, low = partner_tasks(table[table.method == "spearman"], task)
        source = high if ranking == "high" else low
        by_task = {Path(p).parts[-3]: p for p in importance}
        if source not in by_task:
            raise ValueError(f"no importance table for partner task {source!r}; have {sorted(by_task)}")
        scores_path = by_task[source]
    else:
        raise ValueError(f"unknown transfer ranking {ranking!r}; expected 'high', 'low' or 'aggregate'")
    heads = head_ranking(_scores(scores_path, variant))
    grid = _check_grid([(p, 0.0) for p in percents])
    params = {"ranking": ranking, "source": source, "percents": list(percents), "variant": variant}
    return _Sweep(Path(out), grid, heads, None, params, {"ranking": ranking, "ranking_task": source})


def _run_sweeps(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    sweeps: Sequence[_Sweep],
    *,
    limit: int | None,
    batch_size: int,
    seed: int,
    metric: str,
    shared_context: bool,
    mask_batch: int = 4,
    data: str | Path | None = None,
) -> None:
    """Run planned ``sweeps`` of one (task, shot) on one resident model, each mask evaluated once across
    them (``mask_batch`` masks per forward); each sweep is resumable (``<out>.partial.jsonl``) and
    written as soon as it ends."""
    from iclprune.analysis.pruning import pruning_sweep as sweep

    reqs = _requests(task, shots, seed, limit, "eval", data)
    evaluator = _evaluator(model, batch_size, shared_context, mask_batch)
    memo: dict = {}
    identity = _with_data(
        {"model": _spec(model), "task": task, "shots": shots, "limit": limit, "seed": seed}, data
    )
    for plan in sweeps:
        ck = _checkpoint_path(plan.out, dict(identity, metric=metric, heads=plan.heads, ffns=plan.ffns))
        table, docs = sweep(
            evaluator,
            reqs,
            plan.grid,
            heads=plan.heads,
            ffns=plan.ffns,
            metric=metric,
            checkpoint=ck,
            memo=memo,
        )
        for df in (table, docs):
            for i, (name, value) in enumerate(plan.columns.items()):
                df.insert(i, name, value)
        params = _with_data(
            {"model": _spec(model), "task": task, "shots": shots, "limit": limit, **plan.params}, data
        )
        _write_pair(table, docs, plan.out, params, task, shots, seed=seed, n_docs=reqs.n_docs, checkpoint=ck)


def pruning_sweep(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    out: str | Path,
    *,
    head_scores: str | Path | None = None,
    ffn_scores: str | Path | None = None,
    grid: list[tuple[float, float]],
    variant: str = "bansal",
    limit: int | None = None,
    batch_size: int = 8,
    seed: int = 1234,
    metric: str = "acc",
    shared_context: bool = True,
    mask_batch: int = 4,
    data: str | Path | None = None,
) -> None:
    """Accuracy of ``task`` at ``shots`` at every ``(pct_heads, pct_ffns)`` of ``grid``, removing the
    least important components of fixed rankings; resumable (``<out>.partial.jsonl``)."""
    plan = _plan_sweep(out, grid, head_scores=head_scores, ffn_scores=ffn_scores, variant=variant)
    _run_sweeps(
        model, task, shots, [plan], limit=limit, batch_size=batch_size, seed=seed, metric=metric,
        shared_context=shared_context, mask_batch=mask_batch, data=data,
    )  # fmt: skip


def head_pruning(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    *,
    head_scores: str | Path,
    heads_out: str | Path,
    grid: list[tuple[float, float]],
    transfer: Mapping[str, str | Path],
    srcc: str | Path | None,
    importance: Sequence[str | Path],
    aggregate: str | Path,
    percents: Sequence[float],
    variant: str = "bansal",
    limit: int | None = None,
    batch_size: int = 8,
    seed: int = 1234,
    metric: str = "acc",
    shared_context: bool = True,
    mask_batch: int = 4,
    data: str | Path | None = None,
) -> None:
    """One job's head experiments on ``task`` at ``shots``: the sweep under its own ranking (``grid``,
    to ``heads_out``) and the transfer sweeps (``transfer``: ranking → output, see :func:`transfer_sweep`),
    all on one resident model. Every input is read and checked before the model loads."""
    plans = [_plan_sweep(heads_out, grid, head_scores=head_scores, ffn_scores=None, variant=variant)]
    plans += [
        _plan_transfer(
            task,
            ranking,
            out,
            srcc=srcc,
            importance=importance,
            aggregate=aggregate,
            percents=percents,
            variant=variant,
        )
        for ranking, out in transfer.items()
    ]
    _run_sweeps(
        model, task, shots, plans, limit=limit, batch_size=batch_size, seed=seed, metric=metric,
        shared_context=shared_context, mask_batch=mask_batch, data=data,
    )  # fmt: skip


def ffn_pruning(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    *,
    head_scores: str | Path,
    ffn_scores: str | Path,
    ffns_out: str | Path,
    ffn_grid: list[tuple[float, float]],
    combined_out: str | Path,
    combined_grid: list[tuple[float, float]],
    variant: str = "bansal",
    limit: int | None = None,
    batch_size: int = 8,
    seed: int = 1234,
    metric: str = "acc",
    shared_context: bool = True,
    mask_batch: int = 4,
    data: str | Path | None = None,
) -> None:
    """One job's FFN experiments on ``task`` at ``shots``: the FFN sweep (``ffn_grid``) and the combined
    heads × FFNs grid, on one resident model; the grid's ``pct_heads = 0`` points are the FFN sweep's
    and are evaluated once."""
    plans = [
        _plan_sweep(ffns_out, ffn_grid, head_scores=None, ffn_scores=ffn_scores, variant=variant),
        _plan_sweep(
            combined_out, combined_grid, head_scores=head_scores, ffn_scores=ffn_scores, variant=variant
        ),
    ]
    _run_sweeps(
        model, task, shots, plans, limit=limit, batch_size=batch_size, seed=seed, metric=metric,
        shared_context=shared_context, mask_batch=mask_batch, data=data,
    )  # fmt: skip


def task_table(
    model: Mapping[str, Any] | str,
    tasks: list[str],
    shots: list[int],
    out: str | Path,
    *,
    limit: int | None = None,
    batch_size: int = 8,
    seed: int = 1234,
    data: Mapping[str, str | Path] | None = None,
) -> pd.DataFrame:
    """Accuracy of the full model per task and shot with its 95% Wilson interval over documents, and the
    task's chance level: its ``metadata.chance`` (bundled tasks) or else the majority-class share of the
    evaluated documents (``tasks/README.md``, ``docs/data.md``). ``data``: task → data manifest, for
    registry tasks read from a snapshot or local files."""
    from iclprune.evaluate.taskdefs import chance_level

    data = dict(data or {})
    check_table_path(out)
    ev = _evaluator(model, batch_size)
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


__all__ = [
    "cache_model",
    "ffn_oracle",
    "head_importance",
    "load_spec",
    "pruning_sweep",
    "sidecar_path",
    "task_table",
]


def _head_matrices(paths: list[str | Path], variant: str) -> dict[tuple[str, int], np.ndarray]:
    """``(task, shot) → (layers, heads)`` matrices from importance tables."""
    out: dict[tuple[str, int], np.ndarray] = {}
    for path in paths:
        df = read_table(path, ["task", "shot", "variant", "layer", "head", "score"])
        df = df[df.variant == variant]
        if df.empty:
            raise ValueError(f"importance table {path} has no rows for variant {variant!r}")
        key = (str(df.task.iloc[0]), int(df.shot.iloc[0]))
        out[key] = df.pivot(index="layer", columns="head", values="score").sort_index().to_numpy()
    return out


def aggregate_importance(paths: list[str | Path], out: str | Path, *, name: str = "aggregate") -> None:
    """Element-wise mean of the raw per-task head scores of one shot (paper eq. 10), both variants."""
    from iclprune.analysis.agreement import aggregate

    frames = []
    shots = set()
    for variant in ("bansal", "michel"):
        mats = _head_matrices(paths, variant)
        shots |= {shot for _, shot in mats}
        agg = aggregate({task: m for (task, _), m in mats.items()})
        frames.append(head_table(score=agg).assign(variant=variant)[["variant", "layer", "head", "score"]])
    if len(shots) != 1:
        raise ValueError(f"aggregate importance mixes shots {sorted(shots)}; expected one shot")
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "shot", shots.pop())
    table.insert(0, "task", name)
    write_with_provenance(
        table,
        out,
        {"inputs": sorted(str(p) for p in paths)},
        tasks=sorted({Path(p).parts[-3] for p in paths}),
    )


def cross_task_agreement(paths: list[str | Path], out: str | Path, *, variant: str = "bansal") -> None:
    """Cross-task SRCC of one shot, textbook Spearman and the original's argsort variant, in one table
    (``method, shot, task_a, task_b, srcc, p_value``); the aggregate is an extra task."""
    from iclprune.analysis.agreement import cross_task_matrix

    mats = _head_matrices(paths, variant)
    shots = {shot for _, shot in mats}
    if len(shots) != 1:
        raise ValueError(f"cross-task agreement mixes shots {sorted(shots)}; expected one shot")
    by_task = {task: m for (task, _), m in mats.items()}
    frames = []
    for method in ("spearman", "paper_argsort"):
        df = cross_task_matrix(by_task, method=method)
        df.insert(0, "shot", next(iter(shots)))
        df.insert(0, "method", method)
        frames.append(df)
    write_with_provenance(
        pd.concat(frames, ignore_index=True), out, {"variant": variant, "inputs": sorted(map(str, paths))}
    )


def cross_shot_agreement(paths: list[str | Path], out: str | Path, *, variant: str = "bansal") -> None:
    """Per task, SRCC between its head scores at every pair of shots (both methods), and beside it
    ``<out stem>.summary.tsv``: mean and variance over tasks per shot pair (paper Table 1)."""
    from iclprune.analysis.agreement import cross_shot_table, summarise_cross_shot

    mats = _head_matrices(paths, variant)
    frames, summaries = [], []
    for method in ("spearman", "paper_argsort"):
        per_task = cross_shot_table(mats, method=method)
        summary = summarise_cross_shot(per_task)
        per_task.insert(0, "method", method)
        summary.insert(0, "method", method)
        frames.append(per_task)
        summaries.append(summary)
    out = Path(out)
    write_table(pd.concat(summaries, ignore_index=True), out.with_name(out.stem + ".summary.tsv"))
    write_with_provenance(
        pd.concat(frames, ignore_index=True), out, {"variant": variant, "inputs": sorted(map(str, paths))}
    )


def induction_scores(
    model: Mapping[str, Any] | str,
    out: str | Path,
    *,
    n_seeds: int = 100,
    compat_off_by_one: bool = False,
) -> None:
    """Prefix-matching and copying scores of every head over seeds ``0..n_seeds-1`` (Olsson et al.)."""
    from iclprune.analysis.induction import induction_table

    net, tok = load_spec(model)
    table = induction_table(net, tok, range(n_seeds), compat_off_by_one=compat_off_by_one, progress=False)
    params = {"model": _spec(model), "n_seeds": n_seeds, "compat_off_by_one": compat_off_by_one}
    write_with_provenance(table, out, params, seeds={"sequences": list(range(n_seeds))})


def retained_capacity(
    importance: list[str | Path], induction: str | Path, out: str | Path, *, variant: str = "bansal"
) -> None:
    """Share of total prefix-matching and copying score kept as heads are removed least-important first,
    for every given ranking (aggregate and per task). Columns ``shot, ranking_task, score_kind,
    pct_pruned, pct_retained``."""
    from iclprune.analysis.agreement import retained_capacity as curve

    ind = read_table(induction, ["layer", "head", "prefix_matching", "copying"])
    frames = []
    for (task, shot), ranking in _head_matrices(importance, variant).items():
        for kind in ("prefix_matching", "copying"):
            capacity = ind.pivot(index="layer", columns="head", values=kind).sort_index().to_numpy()
            if capacity.shape != ranking.shape:
                raise ValueError(
                    f"induction scores have shape {capacity.shape} but the ranking of {task} {shot}-shot has "
                    f"{ranking.shape}; expected the same model"
                )
            df = curve(ranking, capacity)
            df.insert(0, "score_kind", kind)
            df.insert(0, "ranking_task", task)
            df.insert(0, "shot", shot)
            frames.append(df)
    params = {"variant": variant, "importance": sorted(map(str, importance)), "induction": str(induction)}
    write_with_provenance(pd.concat(frames, ignore_index=True), out, params)


def transfer_sweep(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    ranking: str,
    out: str | Path,
    *,
    srcc: str | Path | None,
    importance: list[str | Path],
    aggregate: str | Path,
    percents: list[float],
    variant: str = "bansal",
    limit: int | None = None,
    batch_size: int = 8,
    seed: int = 1234,
    metric: str = "acc",
    shared_context: bool = True,
    data: str | Path | None = None,
) -> None:
    """Prune ``task`` at ``shots`` with another ranking: ``high``/``low`` = the in-distribution task with the
    highest/lowest textbook SRCC to ``task`` (chosen from the computed matrix, not hard-coded),
    ``aggregate`` = the mean ranking. Writes the sweep with ``ranking`` and ``ranking_task`` columns."""
    plan = _plan_transfer(
        task, ranking, out, srcc=srcc, importance=importance, aggregate=aggregate, percents=percents,
        variant=variant,
    )  # fmt: skip
    _run_sweeps(
        model, task, shots, [plan], limit=limit, batch_size=batch_size, seed=seed, metric=metric,
        shared_context=shared_context, data=data,
    )  # fmt: skip


def claims(
    paths: Mapping[str, Sequence[str | Path]],
    out: str | Path,
    *,
    config_name: str,
    variant: str = "bansal",
    pairs: Sequence[Sequence[str]] = (),
) -> None:
    """The claims table (``results/claims.tsv``): published numbers beside this run's, from the results."""
    from iclprune.reporting.claims import ResultTables, compute_claims

    table = compute_claims(ResultTables.read(paths), variant=variant, pairs=pairs)
    table.insert(len(table.columns), "config", config_name)
    write_with_provenance(
        table, out, {"config": config_name, "variant": variant, "pairs": [list(p) for p in pairs]}
    )
