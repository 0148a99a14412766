"""Head and FFN importance: Fig 3 (aggregate heatmaps), Figs 12–14 (per-task heatmaps), Fig 4 (FFN oracle)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from iclprune.reporting.plotting._checks import _pivot, _require, _select, _shots, _task_order
from iclprune.reporting.plotting._style import (
    AGGREGATE,
    PAGE_WIDTH,
    PathLike,
    Variant,
    _drawing,
    _heatmap_image,
    _legend_right,
    _lines_per_task,
    _panel_row,
    _save,
    _shot_title,
    _task_colors,
)

# --------------------------------------------------------------------------------------------------
# Fig 3 and Figs 12–14: head-importance heatmaps
# --------------------------------------------------------------------------------------------------

IMPORTANCE_COLUMNS = ("task", "shot", "variant", "layer", "head", "score")


def fig03_aggregate_heatmaps(
    importance: pd.DataFrame,
    out_stem: PathLike,
    variant: Variant = "bansal",
    *,
    shots: Sequence[int] | None = None,
    aggregate: str = AGGREGATE,
    cmap: str = "viridis",
) -> list[Path]:
    """Fig 3: the aggregate task's head importance as a layer × head heatmap, one panel per shot.

    Args:
        importance: long table ``task, shot, variant, layer, head, score``; rows with
            ``task == aggregate`` and ``variant == variant`` are drawn.
        out_stem: output path without suffix.
        variant: ``"bansal"`` or ``"michel"``.
        shots: shot counts to draw (default: all present for the aggregate), in that order.
        aggregate: task name of the aggregate.
        cmap: matplotlib colormap. Each panel has its own colour scale (score magnitudes differ
            across shot counts, the ranking within a panel is what matters).

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns, no aggregate rows for the variant/shots, duplicate cells.
    """
    name = "fig03_aggregate_heatmaps"
    _require(importance, IMPORTANCE_COLUMNS, name)
    agg = _select(importance, name, task=aggregate, variant=variant)
    shot_list = _shots(agg, shots, name)
    with _drawing():
        fig, axes = _panel_row(len(shot_list), height=2.3)
        for ax, shot in zip(axes, shot_list, strict=True):
            mat = _pivot(agg[agg["shot"] == shot], "layer", "head", "score", name)
            im = _heatmap_image(ax, mat, cmap=cmap)
            ax.set_title(_shot_title(shot))
            cb = fig.colorbar(im, ax=ax, fraction=0.08, pad=0.03)
            cb.ax.tick_params(labelsize=5.5)
            cb.formatter.set_powerlimits((-2, 3))
            if ax is axes[-1]:
                cb.set_label(f"importance ({variant})")
        fig.suptitle(f"Aggregate head importance ({variant})", fontsize=8)
        return _save(fig, out_stem)


def fig12_task_heatmaps(
    importance: pd.DataFrame,
    out_stem: PathLike,
    shot: int,
    variant: Variant = "bansal",
    *,
    tasks: Sequence[str] | None = None,
    include_aggregate: bool = False,
    normalize: bool = True,
    ncols: int = 5,
    aggregate: str = AGGREGATE,
    cmap: str = "viridis",
) -> list[Path]:
    """Figs 12–14: small multiples, one layer × head importance heatmap per task at one shot count.

    Args:
        importance: long table ``task, shot, variant, layer, head, score``.
        out_stem: output path without suffix.
        shot: the shot count (Fig 12: 0, Fig 13: 1, Fig 14: 5).
        variant: ``"bansal"`` or ``"michel"``.
        tasks: tasks to draw, in order (default: all but the aggregate, sorted).
        include_aggregate: also draw the aggregate (last) when ``tasks`` is None.
        normalize: divide each task's scores by its maximum so that one shared colour bar
            ("score ÷ task max") serves all panels; otherwise each panel gets its own colour bar.
        ncols: panels per row.
        aggregate: task name of the aggregate.
        cmap: matplotlib colormap.

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns, no rows for the shot/variant/tasks, duplicate cells, ncols < 1.
    """
    name = "fig12_task_heatmaps"
    _require(importance, IMPORTANCE_COLUMNS, name)
    if ncols < 1:
        raise ValueError(f"{name}: ncols must be >= 1, got {ncols}")
    sel = _select(importance, name, shot=shot, variant=variant)
    if tasks is None:
        task_list = _task_order(t for t in sel["task"].unique() if t != aggregate)
        if include_aggregate and (sel["task"] == aggregate).any():
            task_list.append(aggregate)
        if not task_list:
            raise ValueError(f"{name}: no task rows (other than {aggregate!r}) for shot={shot}")
    else:
        task_list = [str(t) for t in tasks]
        absent = [t for t in task_list if not (sel["task"] == t).any()]
        if not task_list or absent:
            raise ValueError(
                f"{name}: no rows for task(s) {absent or task_list} at shot={shot}, variant={variant!r}"
            )
    mats = {t: _pivot(sel[sel["task"] == t], "layer", "head", "score", name) for t in task_list}
    ncol = min(ncols, len(task_list))
    nrow = math.ceil(len(task_list) / ncol)
    panel_w = (PAGE_WIDTH - (0.35 if normalize else 0.0)) / ncol
    with _drawing():
        width_ratios = [1.0] * ncol + ([0.06] if normalize else [])
        fig, grid = plt.subplots(
            nrow,
            len(width_ratios),
            figsize=(PAGE_WIDTH, 0.25 + nrow * panel_w * 0.95),
            squeeze=False,
            gridspec_kw={"width_ratios": width_ratios},
        )
        im = None
        for i, task in enumerate(task_list):
            ax = grid[i // ncol][i % ncol]
            mat = mats[task]
            if normalize:
                peak = float(np.nanmax(np.abs(mat.to_numpy(dtype=np.float64))))
                mat = mat / peak if peak > 0 else mat
            im = _heatmap_image(
                ax,
                mat,
                cmap=cmap,
                vmin=0.0 if normalize else None,
                vmax=1.0 if normalize else None,
                max_ticks=4,
            )
            ax.set_title(task, fontsize=7)
            if i + ncol < len(task_list):
                ax.set_xlabel("")
            if i % ncol:
                ax.set_ylabel("")
            if not normalize:
                cb = fig.colorbar(im, ax=ax, fraction=0.08, pad=0.03)
                cb.ax.tick_params(labelsize=5)
                cb.formatter.set_powerlimits((-2, 3))
        for j in range(len(task_list), nrow * ncol):
            grid[j // ncol][j % ncol].set_axis_off()
        if normalize:
            gs = grid[0][-1].get_subplotspec().get_gridspec()
            for r in range(nrow):
                grid[r][-1].remove()
            cax = fig.add_subplot(gs[:, -1])
            cb = fig.colorbar(im, cax=cax)
            cb.set_label(f"importance ({variant}) ÷ task max")
        fig.suptitle(f"{shot}-shot head importance per task", fontsize=8)
        return _save(fig, out_stem)


# --------------------------------------------------------------------------------------------------
# Fig 4: FFN oracle importance
# --------------------------------------------------------------------------------------------------


def fig04_ffn_oracle(
    oracle: pd.DataFrame,
    out_stem: PathLike,
    *,
    shots: Sequence[int] | None = None,
    tasks: Sequence[str] | None = None,
) -> list[Path]:
    """Fig 4: oracle FFN importance, accuracy drop (points) when layer ``l``'s FFN is removed.

    One panel per shot; x = layer, y = ``score`` (baseline − knocked-out accuracy, in points), one thin
    line per task and a bold mean over tasks; a grey line marks zero (above it removal hurts).

    Args:
        oracle: long table ``task, shot, layer, score`` (``baseline_acc``, ``knocked_out_acc`` unused).
        out_stem: output path without suffix.
        shots: shot counts to draw (default all).
        tasks: task order for colours/legend (default sorted; tasks absent from the table are ignored).

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns or no rows for the requested shots.
    """
    name = "fig04_ffn_oracle"
    _require(oracle, ("task", "shot", "layer", "score"), name)
    shot_list = _shots(oracle, shots, name)
    task_list = _task_order(oracle["task"].unique(), tasks)
    colors = _task_colors(task_list)
    n_layers = int(oracle["layer"].nunique())
    with _drawing():
        fig, axes = _panel_row(len(shot_list), height=2.2, sharey=True)
        for ax, shot in zip(axes, shot_list, strict=True):
            d = oracle[oracle["shot"] == shot]
            ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=0)
            _lines_per_task(ax, d, "layer", "score", task_list, colors, markers=n_layers <= 16)
            ax.set_title(_shot_title(shot))
            ax.set_xlabel("layer (FFN removed)")
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        axes[0].set_ylabel("accuracy drop (points)")
        _legend_right(axes[-1], ncol=1 if len(task_list) <= 12 else 2)
        return _save(fig, out_stem)
