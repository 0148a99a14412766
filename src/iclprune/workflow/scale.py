"""Stages of a scale study (rules/scale.smk): every model's results side by side in one long table,
then per series (sizes against parameter count, checkpoints against training step) the scale claims
and figures. The science is in :mod:`iclprune.reporting.scale`,
:mod:`iclprune.reporting.scale_claims` and :mod:`iclprune.reporting.plotting.scale`; these functions read, wire and write with provenance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from iclprune.core.io import read_table, write_with_provenance


def _per_model(paths: Sequence[str | Path], n_models: int, what: str) -> list[list[Path]]:
    """``paths`` (model-major, as rules/scale.smk expands them) cut into one list per model."""
    if len(paths) % n_models:
        raise ValueError(
            f"{len(paths)} {what} files for {n_models} models; expected the same number per model"
        )
    k = len(paths) // n_models
    return [[Path(p) for p in paths[i * k : (i + 1) * k]] for i in range(n_models)]


def scale_table(
    paths: Mapping[str, Sequence[str | Path]],
    out: str | Path,
    *,
    models: Sequence[Mapping[str, Any]],
    shots: Sequence[int],
    tasks: Sequence[str],
    sweep_shots: Sequence[int],
    variant: str = "bansal",
) -> None:
    """The scale study's long table (:func:`iclprune.reporting.scale.scale_table`) from each model's card,
    claims and tables. ``paths``: named lists in the study's model order (``models``: ``label``, ``step``),
    model-major: ``cards``, ``claims``, ``cross_shot`` (one per model; none with a single shot),
    ``retained``, ``cross_task``, ``aggregate`` (per shot), ``ffn_oracle`` (per task × sweep shot)."""
    from iclprune.reporting.scale import ModelResults
    from iclprune.reporting.scale import scale_table as build

    n = len(models)
    keys = ("cards", "claims", "retained", "cross_task", "cross_shot", "aggregate", "ffn_oracle")
    per = {key: _per_model(paths[key], n, key) if paths.get(key) else [[] for _ in models] for key in keys}
    results = []
    for i, m in enumerate(models):
        cross_shot = per["cross_shot"][i]
        results.append(
            ModelResults.from_card(
                per["cards"][i][0],
                label=str(m["label"]),
                step=m.get("step"),
                claims=per["claims"][i][0],
                retained=per["retained"][i],
                cross_task=per["cross_task"][i],
                cross_shot=cross_shot[0] if cross_shot else None,
                aggregate=per["aggregate"][i],
                ffn_oracle=per["ffn_oracle"][i],
            )
        )
    table = build(results, variant=variant)
    params = {"models": [dict(m) for m in models], "shots": list(shots), "tasks": list(tasks),
              "sweep_shots": list(sweep_shots), "variant": variant}  # fmt: skip
    write_with_provenance(table, out, params)


def scale_claims(table: str | Path, out: str | Path, *, axis: str, config_name: str) -> None:
    """The scale claims of the ``axis`` series (:func:`iclprune.reporting.scale_claims.scale_claims`)."""
    from iclprune.reporting.scale_claims import scale_claims as build

    claims = build(read_table(table), axis=axis, config_name=config_name)
    write_with_provenance(claims, out, {"axis": axis, "config": config_name})


def scale_figure(
    name: str, table: str | Path, out_stem: str | Path, *, axis: str, note: str = ""
) -> list[Path]:
    """One scale figure of the ``axis`` series (:func:`iclprune.reporting.plotting.scale.scale_figure`)."""
    from iclprune.reporting.plotting.scale import scale_figure as draw

    return draw(name, read_table(table), out_stem, axis=axis, note=note)
