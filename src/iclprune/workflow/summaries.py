"""Model-free stages: tables computed from other stages' outputs (no model, no torch).

The aggregate ranking (paper eq. 10), cross-task and cross-shot agreement (Figs 8, 10-13, Table 1),
retained induction capacity (Figs 18-19) and the claims table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from iclprune.core.components import head_table
from iclprune.core.io import read_table, write_table, write_with_provenance


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


def claims(
    paths: Mapping[str, Sequence[str | Path]],
    out: str | Path,
    *,
    config_name: str,
    variant: str = "bansal",
    pairs: Sequence[Sequence[str]] = (),
    seed: int = 1234,
) -> None:
    """The claims table of one model (``results/<study>/claims/<model>.tsv``): published numbers beside this run's, from the results;
    the pruning claims with a paired-bootstrap 95% interval over documents (seeded by ``seed``) and a
    verdict."""
    from iclprune.analysis.bootstrap import Bootstrap
    from iclprune.reporting.claims import ResultTables, compute_claims

    bootstrap = Bootstrap(seed=seed)
    table = compute_claims(ResultTables.read(paths), variant=variant, pairs=pairs, bootstrap=bootstrap)
    table.insert(len(table.columns), "config", config_name)
    params = {"config": config_name, "variant": variant, "pairs": [list(p) for p in pairs],
              "bootstrap": {"n_boot": bootstrap.n_boot, "seed": bootstrap.seed, "level": bootstrap.level}}  # fmt: skip
    write_with_provenance(table, out, params, seeds={"bootstrap": seed})


__all__ = [
    "aggregate_importance",
    "claims",
    "cross_shot_agreement",
    "cross_task_agreement",
    "retained_capacity",
]
