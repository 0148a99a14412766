"""Pruning sweeps: Figs 5 and 6 (accuracy vs % heads / % FFNs pruned), Fig 7 (combined grid)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from iclprune.analysis.bootstrap import Bootstrap
from iclprune.reporting.plotting._checks import _check_chance, _mean_chance, _require, _shots, _task_order
from iclprune.reporting.plotting._style import (
    DOC_COLUMNS,
    PathLike,
    _chance_line,
    _drawing,
    _interval_label,
    _legend_right,
    _lines_per_task,
    _matched_docs,
    _no_interval_entry,
    _panel_row,
    _random_band,
    _save,
    _shot_title,
    _skipped_note,
    _task_colors,
    _task_intervals,
)

# --------------------------------------------------------------------------------------------------
# Figs 5, 6: pruning sweeps
# --------------------------------------------------------------------------------------------------

SWEEP_COLUMNS = ("task", "shot", "pct_heads", "pct_ffns", "acc")


def _sweep_figure(
    sweeps: pd.DataFrame,
    out_stem: PathLike,
    *,
    name: str,
    x: str,
    other: str,
    xlabel: str,
    chance: Mapping[str, float] | None,
    shots: Sequence[int] | None,
    tasks: Sequence[str] | None,
    random: pd.DataFrame | None = None,
    docs: pd.DataFrame | None = None,
    bootstrap: Bootstrap | None = None,
) -> list[Path]:
    _require(sweeps, SWEEP_COLUMNS, name)
    if random is not None and not random.empty:
        _require(random, (*SWEEP_COLUMNS, "ranking_seed"), name)
        random = random[random[other] == 0]
    chance_d = _check_chance(chance)
    sel = sweeps[sweeps[other] == 0]
    if sel.empty:
        raise ValueError(f"{name}: no rows with {other} == 0 (a {x} sweep keeps the other component intact)")
    shot_list = _shots(sel, shots, name)
    task_list = _task_order(sel["task"].unique(), tasks)
    colors = _task_colors(task_list)
    panel_docs: dict[int, pd.DataFrame] = {}
    skipped: dict[int, list[str]] = {}  # shot -> tasks whose accuracy is no document mean (no interval)
    if docs is not None:
        _require(docs, (*DOC_COLUMNS, x), f"{name} (per-document table)")
        kept = docs[docs[other] == 0] if other in docs.columns else docs
        for shot in shot_list:
            d = sel[sel["shot"] == shot]
            rows, skip = _matched_docs(kept[kept["shot"] == shot], d, x, f"{name}, {shot}-shot")
            panel_docs[shot], skipped[shot] = rows, [t for (t,) in skip]
    settings = bootstrap if bootstrap is not None else Bootstrap()
    none_for = sorted({t for tasks_ in skipped.values() for t in tasks_})
    label = _interval_label(list(panel_docs.values()), settings)
    label += "\n(bars: each task)" if none_for else "\n(band: mean; bars: each task)"
    label += _skipped_note(none_for)
    with _drawing():
        fig, axes = _panel_row(len(shot_list), height=2.2, sharey=True)
        for ax, shot in zip(axes, shot_list, strict=True):
            d = sel[sel["shot"] == shot]
            plotted = _task_order(d["task"].unique(), task_list)
            if random is not None:
                _random_band(ax, random[random["shot"] == shot], x, tasks=plotted)
            _lines_per_task(ax, d, x, "acc", task_list, colors, scale=100.0)
            if shot in panel_docs and panel_docs[shot].empty:
                _no_interval_entry(ax, skipped[shot])
            elif shot in panel_docs:
                _task_intervals(
                    ax, panel_docs[shot], x, task_list, colors, settings, f"{name}, {shot}-shot", label,
                    band=not skipped[shot],  # a band of the mean needs every task's interval
                )  # fmt: skip
            level = _mean_chance(chance_d, plotted, name)
            if level is not None:
                _chance_line(ax, level, "chance (mean)" if len(plotted) > 1 else "chance")
            ax.set_title(_shot_title(shot))
            ax.set_xlabel(xlabel)
            ax.set_xlim(-2, max(92.0, float(d[x].max()) + 2))
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        axes[0].set_ylabel("accuracy (%)")
        _legend_right(axes[-1], ncol=1 if len(task_list) <= 12 else 2)
        return _save(fig, out_stem)


def fig05_head_pruning(
    sweeps: pd.DataFrame,
    out_stem: PathLike,
    chance: Mapping[str, float] | None = None,
    *,
    shots: Sequence[int] | None = None,
    tasks: Sequence[str] | None = None,
    random: pd.DataFrame | None = None,
    docs: pd.DataFrame | None = None,
    bootstrap: Bootstrap | None = None,
) -> list[Path]:
    """Fig 5: accuracy vs % of attention heads pruned (rows with ``pct_ffns == 0``), per shot.

    One thin line per task, a bold mean over tasks, and (if ``chance`` is given) a dotted line at the
    mean chance accuracy of the plotted tasks. Duplicate (task, shot, pct) rows, e.g. the shared
    unpruned point of concatenated head and FFN sweeps, are averaged. With ``docs``, the paired
    bootstrap interval over documents (resampled within each task,
    :func:`~iclprune.analysis.bootstrap.sweep_intervals`) of the mean over tasks is a light band around
    the mean line and each task's own interval a thin error bar on its line.

    Args:
        sweeps: long table ``task, shot, pct_heads, pct_ffns, acc`` (acc in [0, 1]).
        out_stem: output path without suffix.
        chance: task -> chance accuracy in [0, 1].
        shots: shot counts to draw (default all).
        tasks: task order for colours/legend (default sorted).
        random: the random-ranking control, the same columns plus ``ranking_seed`` (one draw each): drawn
            as a hatched grey band from the lowest to the highest draw of the mean over the plotted tasks.
        docs: the sweeps' per-document rows ``task, shot, pct_heads, [pct_ffns,] doc_id, acc`` (one row
            per document per plotted point, the same documents at every point of a task's sweep; extra
            points and columns are ignored). A task whose plotted ``acc`` is not the mean of its
            documents' ``acc`` (another metric: ReCoRD's em, MultiRC's acc_all) gets no bars, and its
            panels no band; the legend names it. None (default): no intervals.
        bootstrap: replicates, seed and level of the intervals (default ``Bootstrap()``: 2000 replicates,
            seed 1234, 95%).

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns, no head-sweep rows, bad chance levels; a plotted point without
            documents in ``docs``, or a point of a task lacking documents its other points have.
    """
    return _sweep_figure(
        sweeps,
        out_stem,
        name="fig05_head_pruning",
        x="pct_heads",
        other="pct_ffns",
        xlabel="% attention heads pruned",
        chance=chance,
        shots=shots,
        tasks=tasks,
        random=random,
        docs=docs,
        bootstrap=bootstrap,
    )


def fig06_ffn_pruning(
    sweeps: pd.DataFrame,
    out_stem: PathLike,
    chance: Mapping[str, float] | None = None,
    *,
    shots: Sequence[int] | None = None,
    tasks: Sequence[str] | None = None,
    random: pd.DataFrame | None = None,
    docs: pd.DataFrame | None = None,
    bootstrap: Bootstrap | None = None,
) -> list[Path]:
    """Fig 6: accuracy vs % of FFNs pruned (rows with ``pct_heads == 0``), per shot.

    Same layout and arguments (``docs``, ``bootstrap`` included, with ``pct_ffns`` the grid column) as
    :func:`fig05_head_pruning`.
    """
    return _sweep_figure(
        sweeps,
        out_stem,
        name="fig06_ffn_pruning",
        x="pct_ffns",
        other="pct_heads",
        xlabel="% FFNs pruned",
        chance=chance,
        shots=shots,
        tasks=tasks,
        random=random,
        docs=docs,
        bootstrap=bootstrap,
    )


# --------------------------------------------------------------------------------------------------
# Fig 7: combined grid
# --------------------------------------------------------------------------------------------------


def fig07_combined_grid(
    grid: pd.DataFrame,
    out_stem: PathLike,
    *,
    shots: Sequence[int] | None = None,
    cmap: str = "viridis",
    fmt: str = ".1f",
) -> list[Path]:
    """Fig 7: mean accuracy (%) over tasks for every (% heads, % FFNs) pruned, one panel per shot.

    Rows = % heads pruned (0 at the top), columns = % FFNs pruned; each cell is annotated with the
    mean over the tasks present in that cell (a cell with fewer tasks than the others raises, since
    its mean would not be comparable). All panels share one colour scale, so colours compare across
    shots; the numbers carry the values (no colour bar).

    Args:
        grid: long table ``task, shot, pct_heads, pct_ffns, acc`` (acc in [0, 1]).
        out_stem: output path without suffix.
        shots: shot counts to draw (default all).
        cmap: matplotlib colormap.
        fmt: number format of the annotations.

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns, no rows for the shots, cells averaging different task counts.
    """
    name = "fig07_combined_grid"
    _require(grid, SWEEP_COLUMNS, name)
    shot_list = _shots(grid, shots, name)
    mats: dict[int, pd.DataFrame] = {}
    for shot in shot_list:
        d = grid[grid["shot"] == shot]
        per_task = d.groupby(["task", "pct_heads", "pct_ffns"], sort=True)["acc"].mean().reset_index()
        counts = per_task.groupby(["pct_heads", "pct_ffns"])["task"].nunique()
        if counts.nunique() > 1:
            low = counts[counts < counts.max()].index[0]
            raise ValueError(
                f"{name}: at shot={shot} cell (pct_heads, pct_ffns)={low} has {counts[low]} task(s) "
                f"but others have {counts.max()}; the mean accuracy would not be comparable"
            )
        cell = per_task.groupby(["pct_heads", "pct_ffns"], sort=True)["acc"].mean().reset_index()
        mats[shot] = 100.0 * cell.pivot(index="pct_heads", columns="pct_ffns", values="acc")
    vmin = min(float(np.nanmin(m.to_numpy())) for m in mats.values())
    vmax = max(float(np.nanmax(m.to_numpy())) for m in mats.values())
    n_rows = max(m.shape[0] for m in mats.values())
    with _drawing():
        fig, axes = _panel_row(len(shot_list), height=0.9 + 0.2 * n_rows)
        for ax, shot in zip(axes, shot_list, strict=True):
            m = mats[shot]
            m.index = [f"{v:g}" for v in m.index]
            m.columns = [f"{v:g}" for v in m.columns]
            sns.heatmap(
                m,
                ax=ax,
                annot=True,
                fmt=fmt,
                cmap=cmap,
                vmin=vmin,
                vmax=vmax,
                cbar=False,
                linewidths=0.4,
                linecolor="white",
                xticklabels=True,
                yticklabels=True,
                annot_kws={"fontsize": 5.5},
                square=False,
            )
            ax.set_title(f"{_shot_title(shot)}: mean accuracy (%)")
            ax.set_xlabel("% FFNs pruned")
            ax.set_ylabel("% heads pruned" if ax is axes[0] else "")
            ax.tick_params(length=0)
            ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
        return _save(fig, out_stem)
