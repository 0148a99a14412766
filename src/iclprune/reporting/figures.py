"""Glue between the workflow's result files and :mod:`iclprune.reporting.plotting`: one builder per paper item.

``make_figure(item, inputs, out_stem, **params)`` reads the named input tables, concatenates them and
draws the item; the Snakemake figure rules and ``iclprune figure`` call it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from iclprune.analysis.bootstrap import SEED, Bootstrap
from iclprune.core.io import StageInputError, read_table
from iclprune.reporting import plotting

Inputs = Mapping[str, Sequence[str | Path]]


def _cat(paths: Sequence[str | Path]) -> pd.DataFrame:
    if not paths:
        raise ValueError("no input tables given")
    return pd.concat([read_table(p) for p in paths], ignore_index=True)


def _chance(tasks: Sequence[str]) -> dict[str, float] | None:
    """Chance levels of bundled tasks (registry tasks have none)."""
    from iclprune.evaluate.taskdefs import TaskConfigError, chance_level, task_config

    out = {}
    for task in tasks:
        try:
            level = chance_level(task_config(task))
        except TaskConfigError:
            continue
        if level is not None:
            out[task] = level
    return out or None


def _transfer_table(inputs: Inputs, percents: Sequence[float]) -> pd.DataFrame:
    """Self rows ("own" inputs) from the head sweeps (at the transfer percentages) + the transfer sweeps."""
    self_rows = _cat(inputs["own"])
    self_rows = self_rows[
        self_rows.pct_heads.isin([float(p) for p in percents]) & (self_rows.pct_ffns == 0)
    ].copy()
    self_rows.insert(0, "ranking_task", self_rows.task)
    self_rows.insert(0, "ranking", "self")
    return pd.concat([self_rows, _cat(inputs["other"])], ignore_index=True)


def _docs(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The per-document companions of the sweep tables ``paths`` (``x/heads.parquet`` →
    ``x/heads.docs.parquet``), concatenated: one row per document per grid point, without the bulky
    ``loglik``/``is_greedy`` lists. The workflow writes one beside every sweep (before the sweep's summary),
    so a missing one is an error naming it."""
    files = [Path(p).with_name(Path(p).stem + ".docs.parquet") for p in paths]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise StageInputError(
            f"missing per-document table(s) {missing}; every sweep writes x.docs.parquet beside x.parquet "
            "(re-run the sweep that wrote the table beside it)"
        )
    bulky = ["loglik", "is_greedy"]  # dropped file by file: only one file's lists are held at a time
    slim = [read_table(f).drop(columns=bulky, errors="ignore") for f in files]
    return pd.concat(slim, ignore_index=True)


def _transfer_docs(inputs: Inputs, percents: Sequence[float]) -> pd.DataFrame:
    """The per-document rows of :func:`_transfer_table`'s sweeps, selected and labelled the same way."""
    own = _docs(inputs["own"])
    own = own[own.pct_heads.isin([float(p) for p in percents]) & (own.pct_ffns == 0)].copy()
    own.insert(0, "ranking_task", own.task)
    own.insert(0, "ranking", "self")
    return pd.concat([own, _docs(inputs["other"])], ignore_index=True)


def _bootstrap(params: Mapping[str, Any]) -> Bootstrap:
    """The figures' bootstrap settings: seed from the plotting option ``seed`` (the config's ``seed``;
    default :data:`~iclprune.analysis.bootstrap.SEED`)."""
    seed = params.get("seed")
    return Bootstrap(seed=SEED if seed is None else int(seed))


def _gradient_vs_oracle(inputs: Inputs, params: Mapping[str, Any]) -> pd.DataFrame:
    """Spearman(gradient, oracle) per (task, shot) and variant with bootstrap intervals, from the
    per-document tables beside the importance (``importance``) and head-oracle (``oracle``) inputs."""
    from iclprune.analysis.importance_bootstrap import docs_by_key
    from iclprune.analysis.ranking_quality import gradient_vs_oracle, oracle_docs_by_key

    return gradient_vs_oracle(
        docs_by_key(_docs(inputs["importance"])), oracle_docs_by_key(_docs(inputs["oracle"])),
        settings=_bootstrap(params),
    )  # fmt: skip


def _ranking_quality(inputs: Inputs, out: str | Path, params: Mapping[str, Any]) -> list[Path]:
    """Fig 21 from the head sweeps under every ranking (inputs ``gradient``, ``iterative``, ``oracle``,
    ``random``; :func:`iclprune.analysis.ranking_quality.ranking_docs`), without the tasks scored by a
    metric that is not a document mean of ``acc`` (named in the legend)."""
    from iclprune.analysis.ranking_quality import other_metric_tasks, ranking_curves, ranking_docs

    gradient = _docs(inputs["gradient"])
    exclude = other_metric_tasks(gradient, _cat(inputs["gradient"]))
    if set(exclude) >= set(gradient.task):
        raise ValueError(
            f"fig21: every task ({exclude}) is scored by a metric that is not a document mean of acc; "
            "the ranking-quality figure needs at least one task scored by accuracy"
        )
    others = {name: _docs(inputs[name]) for name in ("iterative", "oracle") if inputs.get(name)}
    random = _docs(inputs["random"]) if inputs.get("random") else None
    docs = ranking_docs(gradient, others, random, exclude=exclude)
    counts = sorted({int(n) for n in docs.groupby(["ranking", "task", "shot"]).doc_id.nunique()})
    n_docs = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    curves = ranking_curves(docs, settings=_bootstrap(params))
    return plotting.fig21_ranking_quality(
        curves, out, shots=params.get("shots"), n_docs=n_docs, without=exclude
    )


def _random(inputs: Inputs) -> pd.DataFrame | None:
    """The random-ranking control sweeps (input ``random``), or None when the config has none."""
    return _cat(inputs["random"]) if inputs.get("random") else None


def _srcc(inputs: Inputs, method: str) -> pd.DataFrame:
    df = _cat(inputs["srcc"])
    return df[df.method == method]


def _retained(inputs: Inputs) -> pd.DataFrame:
    return _cat(inputs["retained"])


BUILDERS: dict[str, Callable[..., list[Path]]] = {
    "fig03": lambda i, o, **p: plotting.fig03_aggregate_heatmaps(
        _cat(i["importance"]), o, p.get("variant", "bansal")
    ),
    "fig04": lambda i, o, **p: plotting.fig04_ffn_oracle(_cat(i["oracle"]), o),
    "fig05": lambda i, o, **p: plotting.fig05_head_pruning(
        (df := _cat(i["sweeps"])),
        o,
        chance=_chance(sorted(set(df.task))),
        random=_random(i),
        docs=_docs(i["sweeps"]),
        bootstrap=_bootstrap(p),
    ),
    "fig06": lambda i, o, **p: plotting.fig06_ffn_pruning(
        (df := _cat(i["sweeps"])),
        o,
        chance=_chance(sorted(set(df.task))),
        random=_random(i),
        docs=_docs(i["sweeps"]),
        bootstrap=_bootstrap(p),
    ),
    "fig07": lambda i, o, **p: plotting.fig07_combined_grid(_cat(i["grid"]), o),
    "fig08": lambda i, o, **p: plotting.fig08_cross_task_srcc(
        _srcc(i, p.get("method", "spearman")), o, shots=p["shots"]
    ),
    "fig09": lambda i, o, **p: plotting.fig09_transfer(
        (df := _transfer_table(i, p["percents"])),
        o,
        layout=p.get("layout", "mean"),
        chance=_chance(sorted(set(df.task))),
        tasks=p.get("tasks"),
        random=_random(i),
        docs=_transfer_docs(i, p["percents"]),
        bootstrap=_bootstrap(p),
    ),
    "fig10": lambda i, o, **p: plotting.fig10_induction_heatmaps(_cat(i["induction"]), o),
    "fig11": lambda i, o, **p: plotting.fig11_retained_capacity(_retained(i), o),
    "fig12": lambda i, o, **p: plotting.fig12_task_heatmaps(
        _cat(i["importance"]), o, p["shot"], p.get("variant", "bansal")
    ),
    "fig18": lambda i, o, **p: plotting.fig18_retained_per_task(_retained(i), o, p["score_kind"]),
    "table1": lambda i, o, **p: plotting.table1_cross_shot(_cat(i["summary"]), o),
    "fig20": lambda i, o, **p: plotting.fig20_gradient_vs_oracle(
        _gradient_vs_oracle(i, p), o, shots=p.get("shots")
    ),
    "fig21": lambda i, o, **p: _ranking_quality(i, o, p),
}


def make_figure(item: str, inputs: Inputs, out_stem: str | Path, **params: Any) -> list[Path]:
    """Draw paper item ``item`` (``fig03`` … ``fig18``, ``table1``; beyond the paper ``fig20``, ``fig21``)
    from ``inputs`` into ``out_stem``."""
    if item not in BUILDERS:
        raise ValueError(f"unknown figure {item!r}; expected one of {sorted(BUILDERS)}")
    return BUILDERS[item](inputs, out_stem, **params)
