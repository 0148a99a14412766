"""Induction heads: Fig 10 (prefix-matching/copying heatmaps), Figs 11 and 18–19 (retained capacity)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes

from iclprune.reporting.plotting._checks import _pivot, _require, _select, _shots, _task_order
from iclprune.reporting.plotting._style import (
    AGGREGATE,
    PAGE_WIDTH,
    SCORE_KIND_LABEL,
    SCORE_KIND_STYLE,
    PathLike,
    ScoreKind,
    _drawing,
    _heatmap_image,
    _legend_right,
    _panel_row,
    _save,
    _shot_title,
    _task_colors,
)

# --------------------------------------------------------------------------------------------------
# Fig 10: induction heatmaps
# --------------------------------------------------------------------------------------------------


def fig10_induction_heatmaps(
    induction: pd.DataFrame,
    out_stem: PathLike,
    *,
    cmap: str = "magma",
) -> list[Path]:
    """Fig 10: prefix-matching and copying scores per head, two layer × head heatmaps.

    Args:
        induction: long table ``layer, head, prefix_matching, copying`` (variances unused).
        out_stem: output path without suffix.
        cmap: matplotlib colormap (each panel scaled to its own range).

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns or duplicate (layer, head) rows.
    """
    name = "fig10_induction_heatmaps"
    _require(induction, ("layer", "head", "prefix_matching", "copying"), name)
    with _drawing():
        fig, axes = _panel_row(2, height=2.6, width=PAGE_WIDTH * 0.75)
        for ax, kind in zip(axes, ("prefix_matching", "copying"), strict=True):
            mat = _pivot(induction, "layer", "head", kind, name)
            im = _heatmap_image(ax, mat, cmap=cmap)
            ax.set_title(SCORE_KIND_LABEL[kind])
            cb = fig.colorbar(im, ax=ax, fraction=0.08, pad=0.03)
            cb.ax.tick_params(labelsize=5.5)
            cb.set_label(f"{SCORE_KIND_LABEL[kind]} score")
        return _save(fig, out_stem)


# --------------------------------------------------------------------------------------------------
# Figs 11, 18, 19: retained capacity
# --------------------------------------------------------------------------------------------------

CAPACITY_COLUMNS = ("shot", "ranking_task", "score_kind", "pct_pruned", "pct_retained")


def _uniform_line(ax: Axes) -> None:
    ax.plot([0, 100], [100, 0], color="0.6", linestyle=(0, (4, 2)), linewidth=0.7, label="uniform", zorder=0)


def fig11_retained_capacity(
    capacity: pd.DataFrame,
    out_stem: PathLike,
    *,
    shots: Sequence[int] | None = None,
    ranking_task: str = AGGREGATE,
) -> list[Path]:
    """Fig 11: % of prefix-matching and copying capacity retained vs % heads pruned (aggregate ranking).

    One panel per shot; one line per score kind; a dashed grey diagonal shows what a ranking
    unrelated to the capacity scores would retain on average ("uniform").

    Args:
        capacity: long table ``shot, ranking_task, score_kind, pct_pruned, pct_retained``.
        out_stem: output path without suffix.
        shots: shot counts to draw (default all present for ``ranking_task``).
        ranking_task: whose ranking (default the aggregate).

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns or no rows for ``ranking_task``/shots.
    """
    name = "fig11_retained_capacity"
    _require(capacity, CAPACITY_COLUMNS, name)
    sel = _select(capacity, name, ranking_task=ranking_task)
    shot_list = _shots(sel, shots, name)
    kinds = [k for k in ("prefix_matching", "copying") if (sel["score_kind"] == k).any()]
    kinds += sorted(str(k) for k in sel["score_kind"].unique() if k not in kinds)
    with _drawing():
        fig, axes = _panel_row(len(shot_list), height=2.1, sharey=True)
        for ax, shot in zip(axes, shot_list, strict=True):
            d = sel[sel["shot"] == shot]
            _uniform_line(ax)
            for k in kinds:
                dk = d[d["score_kind"] == k].groupby("pct_pruned", sort=True)["pct_retained"].mean()
                if dk.empty:
                    continue
                style = SCORE_KIND_STYLE.get(k, {"color": "0.3", "linestyle": "-"})
                ax.plot(dk.index, dk.to_numpy(), linewidth=1.3, label=SCORE_KIND_LABEL.get(k, k), **style)
            ax.set_title(_shot_title(shot))
            ax.set_xlabel("% heads pruned")
            ax.set_xlim(0, 100)
        axes[0].set_ylabel("% capacity retained")
        _legend_right(axes[-1])
        return _save(fig, out_stem)


def fig18_retained_per_task(
    capacity: pd.DataFrame,
    out_stem: PathLike,
    score_kind: ScoreKind,
    *,
    shots: Sequence[int] | None = None,
    tasks: Sequence[str] | None = None,
    include_aggregate: bool = True,
    aggregate: str = AGGREGATE,
) -> list[Path]:
    """Figs 18–19: retained capacity under each task's own ranking, one line per task, per shot.

    Fig 18 is ``score_kind="prefix_matching"``, Fig 19 ``"copying"``. The aggregate ranking (if
    present and ``include_aggregate``) is drawn bold black; the dashed diagonal is "uniform".

    Args:
        capacity: long table ``shot, ranking_task, score_kind, pct_pruned, pct_retained``.
        out_stem: output path without suffix.
        score_kind: ``"prefix_matching"`` or ``"copying"``.
        shots: shot counts to draw (default all).
        tasks: task order for colours/legend (default sorted).
        include_aggregate: draw the aggregate ranking as a bold line.
        aggregate: ranking_task name of the aggregate.

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns, no rows for ``score_kind``, no per-task rows.
    """
    name = "fig18_retained_per_task"
    _require(capacity, CAPACITY_COLUMNS, name)
    sel = _select(capacity, name, score_kind=score_kind)
    task_list = _task_order((t for t in sel["ranking_task"].unique() if t != aggregate), tasks)
    if not task_list:
        raise ValueError(f"{name}: no per-task rankings (ranking_task other than {aggregate!r})")
    shot_list = _shots(sel, shots, name)
    colors = _task_colors(task_list)
    label = SCORE_KIND_LABEL.get(score_kind, score_kind)
    with _drawing():
        fig, axes = _panel_row(len(shot_list), height=2.2, sharey=True)
        for ax, shot in zip(axes, shot_list, strict=True):
            d = sel[sel["shot"] == shot]
            _uniform_line(ax)
            for task in task_list:
                dt = d[d["ranking_task"] == task].groupby("pct_pruned", sort=True)["pct_retained"].mean()
                if not dt.empty:
                    ax.plot(dt.index, dt.to_numpy(), color=colors[task], linewidth=0.8, label=task)
            if include_aggregate:
                da = d[d["ranking_task"] == aggregate].groupby("pct_pruned", sort=True)["pct_retained"].mean()
                if not da.empty:
                    ax.plot(da.index, da.to_numpy(), color="black", linewidth=2.0, label=aggregate, zorder=5)
            ax.set_title(_shot_title(shot))
            ax.set_xlabel("% heads pruned")
            ax.set_xlim(0, 100)
        axes[0].set_ylabel(f"% {label} capacity retained")
        _legend_right(axes[-1], ncol=1 if len(task_list) <= 12 else 2)
        return _save(fig, out_stem)
