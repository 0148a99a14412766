"""Figures and tables of the paper, drawn from the long-format result tables (never typed-in numbers).

One public function per paper item. Each takes the result table(s) as pandas DataFrames and an
``out_stem`` (``results/figures/fig05_head_pruning``), writes ``<out_stem>.pdf`` and ``<out_stem>.png``
(200 dpi) atomically and returns ``[pdf, png]`` (Table 1 also writes ``.tsv`` and ``.md``).

=====================================  ==========================================================
function                               paper item
=====================================  ==========================================================
:func:`fig03_aggregate_heatmaps`       Fig 3: aggregate head importance, layer × head, per shot
:func:`fig04_ffn_oracle`               Fig 4: FFN oracle importance (accuracy drop) per layer
:func:`fig05_head_pruning`             Fig 5: accuracy vs % heads pruned
:func:`fig06_ffn_pruning`              Fig 6: accuracy vs % FFNs pruned
:func:`fig07_combined_grid`            Fig 7: mean accuracy over tasks, % heads × % FFNs pruned
:func:`fig08_cross_task_srcc`          Figs 8, 15: cross-task SRCC matrices (``shots=`` selects)
:func:`table1_cross_shot`              Table 1: cross-shot SRCC mean (variance)
:func:`fig09_transfer`                 Figs 9, 16, 17 and OOD: self/high/low/aggregate rankings
:func:`fig10_induction_heatmaps`       Fig 10: prefix-matching and copying scores, layer × head
:func:`fig11_retained_capacity`        Fig 11: retained induction capacity, aggregate ranking
:func:`fig12_task_heatmaps`            Figs 12–14: per-task head importance at one shot
:func:`fig18_retained_per_task`        Figs 18–19: retained capacity under per-task rankings
=====================================  ==========================================================

Conventions: accuracies arrive in [0, 1] and are drawn in percent; chance levels (``chance``, task ->
chance accuracy in [0, 1]) become dotted grey lines. Heatmaps put layer 0 at the bottom. Every
function accepts ``shots=`` (a subset of shot counts to draw, in that order). Output is
byte-deterministic: no creation dates or software tags in the files, TrueType fonts in the PDF (no
Type 3 fonts, which conference PDF checkers reject). Bad input (missing columns, an empty selection,
duplicate cells) raises :class:`ValueError` naming the column or selection.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from iclprune.core.io import atomic_path

__all__ = [
    "fig03_aggregate_heatmaps",
    "fig04_ffn_oracle",
    "fig05_head_pruning",
    "fig06_ffn_pruning",
    "fig07_combined_grid",
    "fig08_cross_task_srcc",
    "fig09_transfer",
    "fig10_induction_heatmaps",
    "fig11_retained_capacity",
    "fig12_task_heatmaps",
    "fig18_retained_per_task",
    "table1_cross_shot",
]

PathLike = str | os.PathLike[str]
Variant = Literal["bansal", "michel"]
ScoreKind = Literal["prefix_matching", "copying"]

AGGREGATE = "aggregate"
DPI = 200
#: Full text width of a two-column paper page (inches); multi-panel figures are drawn at this width.
PAGE_WIDTH = 7.0
RANKINGS = ("self", "high", "low", AGGREGATE)
RANKING_STYLE: dict[str, dict[str, Any]] = {
    "self": {"color": "#000000", "linestyle": "-", "marker": "o"},
    "high": {"color": "#1f77b4", "linestyle": "--", "marker": "^"},
    "low": {"color": "#d62728", "linestyle": ":", "marker": "v"},
    AGGREGATE: {"color": "#2ca02c", "linestyle": "-.", "marker": "s"},
}
SCORE_KIND_LABEL = {"prefix_matching": "prefix matching", "copying": "copying"}
SCORE_KIND_STYLE: dict[str, dict[str, Any]] = {
    "prefix_matching": {"color": "#1f77b4", "linestyle": "-"},
    "copying": {"color": "#d62728", "linestyle": "--"},
}
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "p", "h", "*", "d", "H")

_RC: dict[str, Any] = {
    "font.size": 7.5,
    "axes.titlesize": 8,
    "axes.labelsize": 7.5,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6.5,
    "legend.title_fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "lines.linewidth": 0.9,
    "lines.markersize": 2.5,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.hashsalt": "iclprune",
    "svg.fonttype": "none",
    "image.interpolation": "none",
    "savefig.dpi": DPI,
}
_PDF_METADATA: dict[str, Any] = {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None}
_PNG_METADATA: dict[str, Any] = {"Software": None}


# --------------------------------------------------------------------------------------------------
# input checks and selection
# --------------------------------------------------------------------------------------------------


def _require(df: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}; got columns {list(df.columns)}")
    if df.empty:
        raise ValueError(f"{name}: the table is empty")


def _select(df: pd.DataFrame, name: str, **equal: Any) -> pd.DataFrame:
    """Rows where every ``column == value``; ValueError naming the selection when none match."""
    mask = np.ones(len(df), dtype=bool)
    for col, val in equal.items():
        mask &= (df[col] == val).to_numpy()
    out = df[mask]
    if out.empty:
        sel = ", ".join(f"{c}={v!r}" for c, v in equal.items())
        avail = {c: sorted(map(str, df[c].unique()))[:20] for c in equal}
        raise ValueError(f"{name}: no rows for {sel}; available values: {avail}")
    return out


def _shots(df: pd.DataFrame, shots: Sequence[int] | None, name: str, column: str = "shot") -> list[int]:
    present = sorted(int(s) for s in df[column].unique())
    if shots is None:
        return present
    chosen = [int(s) for s in shots]
    if not chosen:
        raise ValueError(f"{name}: shots= selects no shot counts")
    absent = [s for s in chosen if s not in present]
    if absent:
        raise ValueError(f"{name}: no rows for {column} in {absent}; available shots: {present}")
    return chosen


def _task_order(tasks: Iterable[str], order: Sequence[str] | None = None) -> list[str]:
    """``order`` filtered to the tasks present, then the rest sorted (stable colours across figures)."""
    present = list(dict.fromkeys(str(t) for t in tasks))
    if order is None:
        return sorted(present)
    head = [t for t in order if t in present]
    return head + sorted(t for t in present if t not in head)


def _check_chance(chance: Mapping[str, float] | None) -> dict[str, float]:
    if chance is None:
        return {}
    out: dict[str, float] = {}
    for task, value in chance.items():
        v = float(value)
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"chance[{task!r}] = {value!r}: chance accuracy must lie in [0, 1]")
        out[str(task)] = v
    return out


def _pivot(df: pd.DataFrame, index: str, columns: str, values: str, name: str) -> pd.DataFrame:
    dup = df.duplicated([index, columns])
    if dup.any():
        first = df.loc[dup, [index, columns]].iloc[0].to_dict()
        raise ValueError(f"{name}: duplicate rows for ({index}, {columns}) = {first}; one value per cell")
    return df.pivot(index=index, columns=columns, values=values).sort_index().sort_index(axis=1)


# --------------------------------------------------------------------------------------------------
# figure scaffolding
# --------------------------------------------------------------------------------------------------


@contextmanager
def _drawing() -> Iterator[None]:
    """House style for the figures drawn inside; figures opened inside are closed if drawing fails."""
    before = set(plt.get_fignums())
    try:
        with plt.rc_context(_RC):
            yield
    except BaseException:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
        raise


def _save(fig: Figure, out_stem: PathLike) -> list[Path]:
    """Lay out, write ``<stem>.pdf`` and ``<stem>.png`` atomically, close the figure, return both paths."""
    stem = Path(out_stem)
    paths = [stem.parent / f"{stem.name}.pdf", stem.parent / f"{stem.name}.png"]
    try:
        fig.tight_layout(pad=0.4)
        for path, fmt, meta in ((paths[0], "pdf", _PDF_METADATA), (paths[1], "png", _PNG_METADATA)):
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=DPI, metadata=meta)
    finally:
        plt.close(fig)
    return paths


def _shot_title(shot: int) -> str:
    return f"{shot}-shot"


def _panel_row(
    n: int, height: float = 2.2, width: float = PAGE_WIDTH, **kw: Any
) -> tuple[Figure, list[Axes]]:
    fig, axes = plt.subplots(1, n, figsize=(width, height), squeeze=False, **kw)
    return fig, list(axes[0])


def _task_colors(tasks: Sequence[str]) -> dict[str, Any]:
    # tab20 reordered: the ten saturated colours first, then their light partners.
    base = sns.color_palette("tab20", 20)
    pal = [base[i] for i in range(0, 20, 2)] + [base[i] for i in range(1, 20, 2)]
    if len(tasks) > len(pal):
        pal = list(sns.color_palette("husl", len(tasks)))
    return {t: pal[i] for i, t in enumerate(tasks)}


def _legend_right(ax: Axes, ncol: int = 1, **kw: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            frameon=False,
            ncol=ncol,
            borderaxespad=0.0,
            handlelength=1.8,
            **kw,
        )


def _index_formatter(labels: Sequence[Any]) -> FuncFormatter:
    """Tick formatter mapping an integer image position to the corresponding index label."""

    def fmt(x: float, _pos: int | None) -> str:
        i = round(x)
        return str(labels[i]) if abs(x - i) < 1e-6 and 0 <= i < len(labels) else ""

    return FuncFormatter(fmt)


def _heatmap_image(
    ax: Axes,
    mat: pd.DataFrame,
    *,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    xlabel: str = "head",
    ylabel: str = "layer",
    max_ticks: int = 8,
) -> Any:
    """Draw a (layer × head) matrix as an image, layer 0 at the bottom, sparse integer ticks."""
    im = ax.imshow(
        mat.to_numpy(dtype=np.float64),
        origin="lower",
        aspect="auto",
        interpolation="none",
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
    )
    for axis, labels in ((ax.xaxis, list(mat.columns)), (ax.yaxis, list(mat.index))):
        axis.set_major_locator(MaxNLocator(nbins=max_ticks, integer=True, min_n_ticks=2))
        axis.set_major_formatter(_index_formatter(labels))
    ax.set_xlim(-0.5, mat.shape[1] - 0.5)
    ax.set_ylim(-0.5, mat.shape[0] - 0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    return im


def _chance_line(ax: Axes, value: float, label: str | None) -> None:
    ax.axhline(100.0 * value, color="0.45", linestyle=(0, (1, 1.5)), linewidth=0.9, label=label, zorder=1)


def _mean_chance(chance: dict[str, float], tasks: Sequence[str], name: str) -> float | None:
    if not chance:
        return None
    vals = [chance[t] for t in tasks if t in chance]
    if not vals:
        raise ValueError(f"{name}: chance levels given but none for the plotted tasks {list(tasks)}")
    return float(np.mean(vals))


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


def _lines_per_task(
    ax: Axes,
    data: pd.DataFrame,
    x: str,
    y: str,
    tasks: Sequence[str],
    colors: Mapping[str, Any],
    *,
    scale: float = 1.0,
    markers: bool = True,
    mean_label: str = "mean",
) -> None:
    """One thin line per task and a bold black mean over tasks (mean of the per-task values at each x)."""
    per = data.groupby(["task", x], sort=True)[y].mean().reset_index()
    for i, task in enumerate(tasks):
        d = per[per["task"] == task]
        if d.empty:
            continue
        ax.plot(
            d[x],
            scale * d[y],
            color=colors[task],
            linewidth=0.8,
            alpha=0.9,
            marker=_MARKERS[i % len(_MARKERS)] if markers else None,
            markersize=2.2,
            label=task,
        )
    mean = per[per["task"].isin(tasks)].groupby(x, sort=True)[y].mean()
    ax.plot(mean.index, scale * mean.to_numpy(), color="black", linewidth=2.0, label=mean_label, zorder=5)


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
) -> list[Path]:
    _require(sweeps, SWEEP_COLUMNS, name)
    chance_d = _check_chance(chance)
    sel = sweeps[sweeps[other] == 0]
    if sel.empty:
        raise ValueError(f"{name}: no rows with {other} == 0 (a {x} sweep keeps the other component intact)")
    shot_list = _shots(sel, shots, name)
    task_list = _task_order(sel["task"].unique(), tasks)
    colors = _task_colors(task_list)
    with _drawing():
        fig, axes = _panel_row(len(shot_list), height=2.2, sharey=True)
        for ax, shot in zip(axes, shot_list, strict=True):
            d = sel[sel["shot"] == shot]
            plotted = _task_order(d["task"].unique(), task_list)
            _lines_per_task(ax, d, x, "acc", task_list, colors, scale=100.0)
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
) -> list[Path]:
    """Fig 5: accuracy vs % of attention heads pruned (rows with ``pct_ffns == 0``), per shot.

    One thin line per task, a bold mean over tasks, and (if ``chance`` is given) a dotted line at the
    mean chance accuracy of the plotted tasks. Duplicate (task, shot, pct) rows, e.g. the shared
    unpruned point of concatenated head and FFN sweeps, are averaged.

    Args:
        sweeps: long table ``task, shot, pct_heads, pct_ffns, acc`` (acc in [0, 1]).
        out_stem: output path without suffix.
        chance: task -> chance accuracy in [0, 1].
        shots: shot counts to draw (default all).
        tasks: task order for colours/legend (default sorted).

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns, no head-sweep rows, bad chance levels.
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
    )


def fig06_ffn_pruning(
    sweeps: pd.DataFrame,
    out_stem: PathLike,
    chance: Mapping[str, float] | None = None,
    *,
    shots: Sequence[int] | None = None,
    tasks: Sequence[str] | None = None,
) -> list[Path]:
    """Fig 6: accuracy vs % of FFNs pruned (rows with ``pct_heads == 0``), per shot.

    Same layout and arguments as :func:`fig05_head_pruning`.
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


# --------------------------------------------------------------------------------------------------
# Figs 8, 15: cross-task SRCC; Table 1: cross-shot SRCC
# --------------------------------------------------------------------------------------------------


def _srcc_label(v: float) -> str:
    if not np.isfinite(v):
        return ""
    if abs(v - 1.0) < 5e-3:
        return "1"
    s = f"{v:.2f}"
    return s.replace("0.", ".", 1) if abs(v) < 1 else s


def fig08_cross_task_srcc(
    srcc: pd.DataFrame,
    out_stem: PathLike,
    *,
    shots: Sequence[int] | None = None,
    tasks: Sequence[str] | None = None,
    aggregate: str = AGGREGATE,
    alpha: float = 0.01,
    cmap: str = "RdBu_r",
) -> list[Path]:
    """Figs 8 and 15: square task × task SRCC matrix per shot (aggregate last), annotated.

    The diverging colour map is centred at 0 with limits −1 and 1. Values are printed without the
    leading zero (``.13``). When a ``p_value`` column is present, off-diagonal cells with
    ``p_value >= alpha`` are outlined in black and the panel title says so. Fig 8 is ``shots=[0]``,
    Fig 15 ``shots=[1, 5]``.

    Args:
        srcc: long table ``shot, task_a, task_b, srcc`` (``p_value`` optional).
        out_stem: output path without suffix.
        shots: shot counts to draw (default all).
        tasks: row/column order (default sorted, aggregate last).
        aggregate: task name of the aggregate (moved last).
        alpha: significance level for the outlines.
        cmap: diverging colormap.

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns, no rows for the shots, duplicate pairs.
    """
    name = "fig08_cross_task_srcc"
    _require(srcc, ("shot", "task_a", "task_b", "srcc"), name)
    shot_list = _shots(srcc, shots, name)
    has_p = "p_value" in srcc.columns
    all_tasks = set(srcc["task_a"].astype(str)) | set(srcc["task_b"].astype(str))
    if tasks is not None and (absent := sorted(set(map(str, tasks)) - all_tasks)):
        raise ValueError(f"{name}: no rows for task(s) {absent}")
    order = _task_order((t for t in all_tasks if t != aggregate), tasks)
    if tasks is not None:
        order = [t for t in order if t in set(tasks)]
    if aggregate in all_tasks and (tasks is None or aggregate in tasks):
        order.append(aggregate)
    n = len(order)
    k = len(shot_list)
    # Square cells of 0.24 in, shrunk so that the figure stays within 1.4 page widths.
    label_w, cbar_w, gap = 0.9, 0.6, 0.2
    cell = min(0.24, (PAGE_WIDTH * 1.4 - label_w - cbar_w - (k - 1) * gap) / (k * n))
    side = n * cell
    width = label_w + k * side + (k - 1) * gap + cbar_w
    annot_size = float(np.clip(30.0 * cell, 4.0, 6.5))
    with _drawing():
        fig, axes_all = plt.subplots(
            1,
            k + 1,
            figsize=(width, side + 1.2),
            squeeze=False,
            gridspec_kw={"width_ratios": [side] * k + [0.12]},
        )
        axes, cax = list(axes_all[0][:k]), axes_all[0][k]
        for ax, shot in zip(axes, shot_list, strict=True):
            d = srcc[srcc["shot"] == shot]
            d = d[d["task_a"].isin(order) & d["task_b"].isin(order)]
            if d.empty:
                raise ValueError(f"{name}: no rows for shot={shot} among tasks {order}")
            sq = _pivot(d, "task_a", "task_b", "srcc", name).reindex(index=order, columns=order)
            labels = np.vectorize(_srcc_label, otypes=[object])(sq.to_numpy(dtype=np.float64))
            with warnings.catch_warnings():
                # seaborn's centred colormap calls Colormap.set_bad, pending deprecation in matplotlib
                warnings.simplefilter("ignore", PendingDeprecationWarning)
                sns.heatmap(
                    sq,
                    ax=ax,
                    cmap=cmap,
                    center=0.0,
                    vmin=-1.0,
                    vmax=1.0,
                    annot=labels,
                    fmt="",
                    annot_kws={"fontsize": annot_size},
                    cbar=ax is axes[-1],
                    cbar_ax=cax if ax is axes[-1] else None,
                    cbar_kws={"label": "Spearman ρ"},
                    linewidths=0.3,
                    linecolor="white",
                    xticklabels=True,
                    yticklabels=True,
                )
            title = _shot_title(shot)
            if has_p:
                pv = _pivot(d, "task_a", "task_b", "p_value", name).reindex(index=order, columns=order)
                n_ns = 0
                for i in range(n):
                    for j in range(n):
                        p = pv.iat[i, j]
                        if i != j and np.isfinite(p) and p >= alpha:
                            ax.add_patch(
                                Rectangle((j, i), 1, 1, fill=False, edgecolor="black", linewidth=0.8)
                            )
                            n_ns += 1
                if n_ns:
                    title += f" (boxed: p ≥ {alpha:g})"
            ax.set_title(title)
            ax.set_xlabel("")
            ax.set_ylabel("")
            ax.tick_params(length=0)
            ax.set_xticklabels(ax.get_xticklabels(), rotation=60, ha="right", rotation_mode="anchor")
            if ax is axes[0]:
                ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
            else:
                ax.set_yticklabels([])
        return _save(fig, out_stem)


SUMMARY_COLUMNS = ("shot_a", "shot_b", "mean", "variance", "n_tasks")


def _fmt_var(v: float) -> str:
    """Two significant digits, positional (``0.0012``, ``0.0009``), never scientific notation."""
    if not np.isfinite(v):
        return "nan"
    return np.format_float_positional(v, precision=2, unique=True, fractional=False, trim="-")


def table1_cross_shot(
    summary: pd.DataFrame,
    out_stem: PathLike,
    *,
    digits: int = 2,
) -> list[Path]:
    """Table 1: cross-shot SRCC, mean (variance) over tasks per shot pair.

    Writes four files: ``<stem>.pdf``/``.png`` (the table rendered as a figure), ``<stem>.tsv`` (the
    input rows at full precision, sorted by shot pair) and ``<stem>.md`` (markdown table
    ``shots | mean SRCC (variance) | n tasks``; a leading ``method`` column when the input has one,
    e.g. ``spearman`` vs ``paper_argsort``).

    Args:
        summary: ``shot_a, shot_b, mean, variance, n_tasks`` (optional ``method``).
        out_stem: output path without suffix.
        digits: decimals of the mean in the rendered/markdown table.

    Returns:
        ``[pdf, png, tsv, md]``.

    Raises:
        ValueError: missing columns or an empty table.
    """
    name = "table1_cross_shot"
    _require(summary, SUMMARY_COLUMNS, name)
    has_method = "method" in summary.columns
    keys = (["method"] if has_method else []) + ["shot_a", "shot_b"]
    tab = summary.sort_values(keys, kind="stable").reset_index(drop=True)
    header = (["method"] if has_method else []) + ["shots", "mean SRCC (variance)", "n tasks"]
    rows = [
        ([str(r["method"])] if has_method else [])
        + [
            f"{int(r['shot_a'])}–{int(r['shot_b'])}",
            f"{float(r['mean']):.{digits}f} ({_fmt_var(float(r['variance']))})",
            str(int(r["n_tasks"])),
        ]
        for _, r in tab.iterrows()
    ]
    stem = Path(out_stem)
    tsv = stem.parent / f"{stem.name}.tsv"
    md = stem.parent / f"{stem.name}.md"
    with atomic_path(tsv) as tmp:
        tab.to_csv(tmp, sep="\t", index=False, lineterminator="\n")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([" --- "] * len(header)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    with atomic_path(md) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with _drawing():
        fig, ax = plt.subplots(figsize=(0.9 * len(header) + 0.9, 0.35 + 0.22 * (len(rows) + 1)))
        ax.set_axis_off()
        table = ax.table(cellText=rows, colLabels=header, loc="center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(7.5)
        table.scale(1.0, 1.3)
        table.auto_set_column_width(list(range(len(header))))
        for (r, _c), cellobj in table.get_celld().items():
            cellobj.set_linewidth(0.5)
            if r == 0:
                cellobj.set_text_props(fontweight="bold")
                cellobj.set_facecolor("0.92")
        ax.set_title("Cross-shot SRCC of head importance", fontsize=8)
        return [*_save(fig, out_stem), tsv, md]


# --------------------------------------------------------------------------------------------------
# Figs 9, 16, 17: transfer of rankings
# --------------------------------------------------------------------------------------------------

TRANSFER_COLUMNS = ("task", "shot", "pct_heads", "ranking", "ranking_task", "acc")


def _ranking_order(values: Iterable[str]) -> list[str]:
    present = list(dict.fromkeys(str(v) for v in values))
    return [r for r in RANKINGS if r in present] + sorted(r for r in present if r not in RANKINGS)


def _ranking_style(ranking: str) -> dict[str, Any]:
    return RANKING_STYLE.get(ranking, {"color": "0.5", "linestyle": "-", "marker": "x"})


def fig09_transfer(
    transfer: pd.DataFrame,
    out_stem: PathLike,
    *,
    layout: Literal["auto", "grid", "mean"] = "auto",
    chance: Mapping[str, float] | None = None,
    shots: Sequence[int] | None = None,
    tasks: Sequence[str] | None = None,
    rankings: Sequence[str] | None = None,
) -> list[Path]:
    """Figs 9, 16, 17 and OOD: accuracy of a target task pruned with another task's head ranking.

    x = % heads pruned, one line per ranking (self / high / low / aggregate; OOD tables have only
    self / aggregate). Rows with ``pct_ffns != 0`` (if that column exists) are ignored.

    Layouts:
        ``grid``: rows = target tasks, columns = shots; each panel title names the partner tasks
        (``high: COPA · low: ReCoRD``) and, with ``chance``, the task's chance line is dotted.
        Use it for a few targets (OOD: MathQA, LAMBADA; Figs 16/17: pass ``tasks=`` halves).
        ``mean``: one panel per shot, accuracy averaged over the target tasks per ranking (Fig 9a–c).
        ``auto`` (default): ``grid`` for at most 4 target tasks, else ``mean``.

    Args:
        transfer: long table ``task, shot, pct_heads, ranking, ranking_task, acc`` (acc in [0, 1]).
        out_stem: output path without suffix.
        layout: see above.
        chance: task -> chance accuracy in [0, 1].
        shots: shot counts to draw (default all).
        tasks: target tasks (default all, sorted).
        rankings: rankings to draw (default those present, in the order self, high, low, aggregate).

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns, empty selection, unknown layout, bad chance levels.
    """
    name = "fig09_transfer"
    _require(transfer, TRANSFER_COLUMNS, name)
    if layout not in ("auto", "grid", "mean"):
        raise ValueError(f"{name}: layout must be 'auto', 'grid' or 'mean', got {layout!r}")
    chance_d = _check_chance(chance)
    sel = transfer
    if "pct_ffns" in sel.columns:
        sel = sel[sel["pct_ffns"] == 0]
    if tasks is not None:
        absent = sorted(set(map(str, tasks)) - set(map(str, sel["task"].unique())))
        if absent:
            raise ValueError(f"{name}: no rows for target task(s) {absent}")
        sel = sel[sel["task"].isin(list(tasks))]
    if rankings is not None:
        sel = sel[sel["ranking"].isin(list(rankings))]
    if sel.empty:
        raise ValueError(f"{name}: no rows for tasks={tasks}, rankings={rankings} (with pct_ffns == 0)")
    shot_list = _shots(sel, shots, name)
    task_list = _task_order(sel["task"].unique(), tasks)
    rank_list = _ranking_order(sel["ranking"].unique()) if rankings is None else list(rankings)
    mode = ("grid" if len(task_list) <= 4 else "mean") if layout == "auto" else layout
    per = sel.groupby(["task", "shot", "ranking", "pct_heads"], sort=True)["acc"].mean().reset_index()

    def draw(ax: Axes, d: pd.DataFrame) -> None:
        for r in rank_list:
            dr = d[d["ranking"] == r].groupby("pct_heads", sort=True)["acc"].mean()
            if dr.empty:
                continue
            ax.plot(
                dr.index, 100.0 * dr.to_numpy(), label=r, linewidth=1.1, markersize=3, **_ranking_style(r)
            )
        ax.set_xlim(-2, max(92.0, float(d["pct_heads"].max()) + 2))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))

    with _drawing():
        if mode == "mean":
            fig, axes = _panel_row(len(shot_list), height=2.1, sharey=True)
            for ax, shot in zip(axes, shot_list, strict=True):
                d = per[per["shot"] == shot]
                draw(ax, d)
                level = _mean_chance(chance_d, _task_order(d["task"].unique()), name)
                if level is not None:
                    _chance_line(ax, level, "chance (mean)")
                n_t = d["task"].nunique()
                ax.set_title(f"{_shot_title(shot)}, mean of {n_t} task{'s' if n_t != 1 else ''}")
                ax.set_xlabel("% heads pruned")
            axes[0].set_ylabel("accuracy (%)")
            _legend_right(axes[-1], title="ranking")
        else:
            nrow, ncol = len(task_list), len(shot_list)
            fig, grid = plt.subplots(
                nrow,
                ncol,
                figsize=(PAGE_WIDTH, 0.35 + 1.75 * nrow),
                squeeze=False,
                sharex=True,
                sharey="row",
            )
            partners = sel.drop_duplicates(["task", "shot", "ranking"])
            for i, task in enumerate(task_list):
                for j, shot in enumerate(shot_list):
                    ax = grid[i][j]
                    d = per[(per["task"] == task) & (per["shot"] == shot)]
                    if d.empty:
                        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
                    else:
                        draw(ax, d)
                    if task in chance_d:
                        _chance_line(ax, chance_d[task], "chance" if i == 0 and j == ncol - 1 else None)
                    p = partners[(partners["task"] == task) & (partners["shot"] == shot)]
                    extra = [
                        f"{r}: {p.loc[p['ranking'] == r, 'ranking_task'].iloc[0]}"
                        for r in ("high", "low")
                        if r in rank_list and (p["ranking"] == r).any()
                    ]
                    title = f"{task}, {_shot_title(shot)}"
                    ax.set_title(title + ("\n" + " · ".join(extra) if extra else ""), fontsize=7)
                    if i == nrow - 1:
                        ax.set_xlabel("% heads pruned")
                    if j == 0:
                        ax.set_ylabel("accuracy (%)")
            _legend_right(grid[0][-1], title="ranking")
        return _save(fig, out_stem)


# --------------------------------------------------------------------------------------------------
# Fig 10: induction heatmaps; Figs 11, 18, 19: retained capacity
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
