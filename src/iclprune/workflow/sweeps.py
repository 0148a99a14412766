"""Pruning stages: accuracy of a task as the least important components are removed.

Every job plans its sweeps first (inputs read and checked, rankings built: :func:`_plan_sweep`,
:func:`_plan_transfer`), then loads the model once and runs them all, each mask evaluated once across
the job's sweeps (:func:`_run_sweeps`). Each sweep is resumable (``<out>.partial.jsonl``) and written
as soon as it ends. Grids come from :class:`iclprune.core.settings.PruningSettings`, evaluation from
:class:`iclprune.core.settings.EvaluationSettings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iclprune.core.io import StageInputError, check_table_path, read_table
from iclprune.core.settings import EvaluationSettings, PruningSettings
from iclprune.workflow.stages import (
    _checkpoint_path,
    _evaluator,
    _requests,
    _spec,
    _with_data,
    _write_pair,
)


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
    columns: dict[str, Any] = field(default_factory=dict)  # leading columns, e.g. ranking, ranking_task


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


def random_ranking(kind: str, shape: tuple[int, ...], seed: int, draw: int) -> list:
    """Random ranking number ``draw`` of the heads (``shape = (layers, heads)``) or FFNs (``(layers,)``)
    of a model, from ``seed``: the same on every run and in every job, whatever the task."""
    from iclprune.analysis.pruning import ffn_ranking, head_ranking

    rng = np.random.default_rng([seed, draw, 0 if kind == "head" else 1])
    scores = rng.random(shape)
    return head_ranking(scores) if kind == "head" else ffn_ranking(scores)


def _plan_random(
    out: str | Path,
    grid: Sequence[tuple[float, float]],
    *,
    kind: str,
    shape: tuple[int, ...],
    seed: int,
    draw: int,
) -> _Sweep:
    """A sweep under random ranking ``draw`` (the control of every head and FFN sweep)."""
    check_table_path(out)
    grid = _check_grid(grid)
    ranking = random_ranking(kind, shape, seed, draw)
    params = {"grid": grid, "ranking": "random", "kind": kind, "seed": seed, "draw": draw}
    heads, ffns = (ranking, None) if kind == "head" else (None, ranking)
    return _Sweep(Path(out), grid, heads, ffns, params, {"ranking": "random", "ranking_seed": draw})


def _random_plans(
    random: Mapping[int, str | Path], grid: Sequence[tuple[float, float]], kind: str, own: _Sweep, seed: int
) -> list[_Sweep]:
    """One random sweep per ``random`` output (draw → path), over the components the job's ``own`` sweep
    ranks (its checked scores cover every head, or every FFN, of the model)."""
    if not random:
        return []
    if kind == "head":
        assert own.heads is not None
        shape: tuple[int, ...] = (1 + max(la for la, _ in own.heads), 1 + max(h for _, h in own.heads))
    else:
        assert own.ffns is not None
        shape = (len(own.ffns),)
    return [
        _plan_random(out, grid, kind=kind, shape=shape, seed=seed, draw=int(draw))
        for draw, out in sorted(random.items())
    ]


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
    evaluation: EvaluationSettings,
    data: str | Path | None = None,
) -> None:
    """Run planned ``sweeps`` of one (task, shot) on one resident model, each mask evaluated once across
    them (``evaluation.mask_batch`` masks per forward); each sweep is resumable (``<out>.partial.jsonl``)
    and written as soon as it ends."""
    from iclprune.analysis.pruning import pruning_sweep as sweep

    seed, limit, metric = evaluation.seed, evaluation.limit, evaluation.metric
    reqs = _requests(task, shots, seed, limit, "eval", data)
    evaluator = _evaluator(model, evaluation)
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
    evaluation: EvaluationSettings = EvaluationSettings(),
    data: str | Path | None = None,
) -> None:
    """Accuracy of ``task`` at ``shots`` at every ``(pct_heads, pct_ffns)`` of ``grid``, removing the
    least important components of fixed rankings (``variant``'s head scores); resumable
    (``<out>.partial.jsonl``)."""
    plan = _plan_sweep(out, grid, head_scores=head_scores, ffn_scores=ffn_scores, variant=variant)
    _run_sweeps(model, task, shots, [plan], evaluation=evaluation, data=data)


def head_pruning(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    *,
    head_scores: str | Path,
    heads_out: str | Path,
    transfer: Mapping[str, str | Path],
    srcc: str | Path | None,
    importance: Sequence[str | Path],
    aggregate: str | Path,
    variant: str = "bansal",
    pruning: PruningSettings = PruningSettings(),
    evaluation: EvaluationSettings = EvaluationSettings(),
    random: Mapping[int, str | Path] | None = None,
    ranked: Mapping[str, tuple[str | Path, str | Path]] | None = None,
    data: str | Path | None = None,
) -> None:
    """One job's head experiments on ``task`` at ``shots``: the sweep under its own ranking
    (``pruning.head_grid``, to ``heads_out``), the transfer sweeps at ``pruning.transfer_percents``
    (``transfer``: ranking → output, see :func:`transfer_sweep`), the random control (``random``: draw →
    output, at the head and transfer percents, seeded by ``evaluation.seed``) and the sweeps under other
    head rankings of the same task (``ranked``: ``oracle``/``iterative`` → (its scores table, output), over
    ``pruning.head_grid``), all on one resident model. Every input is read and checked before the model
    loads."""
    plans = [
        _plan_sweep(heads_out, pruning.head_grid, head_scores=head_scores, ffn_scores=None, variant=variant)
    ]
    for name, (scores, out) in sorted((ranked or {}).items()):
        plan = _plan_sweep(out, pruning.head_grid, head_scores=scores, ffn_scores=None, variant=name)
        plan.columns = {"ranking": name}
        plans.append(plan)
    plans += [
        _plan_transfer(
            task,
            ranking,
            out,
            srcc=srcc,
            importance=importance,
            aggregate=aggregate,
            percents=pruning.transfer_percents,
            variant=variant,
        )
        for ranking, out in transfer.items()
    ]
    plans += _random_plans(random or {}, pruning.random_head_grid, "head", plans[0], evaluation.seed)
    _run_sweeps(model, task, shots, plans, evaluation=evaluation, data=data)


def ffn_pruning(
    model: Mapping[str, Any] | str,
    task: str,
    shots: int,
    *,
    head_scores: str | Path,
    ffn_scores: str | Path,
    ffns_out: str | Path,
    combined_out: str | Path,
    variant: str = "bansal",
    pruning: PruningSettings = PruningSettings(),
    evaluation: EvaluationSettings = EvaluationSettings(),
    random: Mapping[int, str | Path] | None = None,
    data: str | Path | None = None,
) -> None:
    """One job's FFN experiments on ``task`` at ``shots``: the FFN sweep (``pruning.ffn_grid``), the
    combined heads × FFNs grid (``pruning.combined_grid``) and the random control (``random``: draw →
    output, the FFN grid under seeded random FFN rankings), on one resident model; a mask common to two
    sweeps (the combined grid's ``pct_heads = 0`` points are the FFN sweep's) is evaluated once."""
    plans = [
        _plan_sweep(ffns_out, pruning.ffn_grid, head_scores=None, ffn_scores=ffn_scores, variant=variant),
        _plan_sweep(
            combined_out,
            pruning.combined_grid,
            head_scores=head_scores,
            ffn_scores=ffn_scores,
            variant=variant,
        ),
    ]
    plans += _random_plans(random or {}, pruning.ffn_grid, "ffn", plans[0], evaluation.seed)
    _run_sweeps(model, task, shots, plans, evaluation=evaluation, data=data)


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
    percents: Sequence[float],
    variant: str = "bansal",
    evaluation: EvaluationSettings = EvaluationSettings(),
    data: str | Path | None = None,
) -> None:
    """Prune ``task`` at ``shots`` with another ranking: ``high``/``low`` = the in-distribution task with the
    highest/lowest textbook SRCC to ``task`` (chosen from the computed matrix, not hard-coded),
    ``aggregate`` = the mean ranking. Writes the sweep with ``ranking`` and ``ranking_task`` columns."""
    plan = _plan_transfer(
        task, ranking, out, srcc=srcc, importance=importance, aggregate=aggregate, percents=percents,
        variant=variant,
    )  # fmt: skip
    _run_sweeps(model, task, shots, [plan], evaluation=evaluation, data=data)


__all__ = ["ffn_pruning", "head_pruning", "pruning_sweep", "random_ranking", "transfer_sweep"]
