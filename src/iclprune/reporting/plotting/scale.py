"""The role of scale (beyond the paper): one study's measures against parameter count or training step.

Every figure reads a :func:`~iclprune.reporting.scale.scale_table` table and draws one series of it
(``axis``): the models without a step against their parameter count (log x), or the checkpoints of one
model against their training step. A series with fewer than two models gives a figure that says so.

=========================  ======================================================================
figure                     what
=========================  ======================================================================
``scale_removable``        % of heads and of FFNs removable within 5 points (95% interval bars)
``scale_induction``        prefix-matching and copying capacity held by the top-30% heads
``scale_agreement``        mean cross-task SRCC per shot, mean cross-shot SRCC per shot pair
``scale_depth``            depth profile: top-10% heads and mean FFN oracle score per quartile
=========================  ======================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from iclprune.reporting.claims import MAX_DROP
from iclprune.reporting.plotting._style import (
    _MARKERS,
    PAGE_WIDTH,
    SCORE_KIND_LABEL,
    PathLike,
    _drawing,
    _heatmap_image,
    _legend_right,
    _panel_row,
    _save,
    _task_colors,
)
from iclprune.reporting.scale import AXIS_WORDS, TOP_PCT, axis_series, format_x, series_models

SCALE_FIGURES = ("scale_removable", "scale_induction", "scale_agreement", "scale_depth")
_NOTE_STYLE: dict[str, Any] = {"fontsize": 6, "color": "0.3", "style": "italic"}


# --------------------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------------------


def _add_note(fig: Figure, note: str) -> None:
    """``note`` as small text under the figure (a figure-level x label, which the layout makes room for)."""
    if note:
        fig.supxlabel(note, **_NOTE_STYLE)


def _message(out_stem: PathLike, title: str, text: str, note: str) -> list[Path]:
    """A figure that only says why there is nothing to draw."""
    fig, axes = _panel_row(1, height=1.4, width=PAGE_WIDTH * 0.6)
    ax = axes[0]
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)
    _add_note(fig, note)
    return _save(fig, out_stem)


def _series(table: pd.DataFrame, axis: str, name: str) -> tuple[pd.DataFrame, list[tuple[str, float]], str]:
    """The series of ``axis``, its models (sorted by x) and why it cannot be drawn ("" when it can)."""
    try:
        series = axis_series(table, axis)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from err
    models = series_models(series)
    why = ""
    if len(models) < 2:
        listed = f": {', '.join(m for m, _ in models)}" if models else ""
        why = f"fewer than two models on the {AXIS_WORDS[axis]} axis ({len(models)}{listed}); nothing to compare"
    return series, models, why


def _shot_colors(keys: Sequence[Any]) -> dict[Any, Any]:
    palette = _task_colors([str(k) for k in keys])
    return {k: palette[str(k)] for k in keys}


def _x_axis(ax: Axes, axis: str, xs: Sequence[float]) -> None:
    """Log x for parameter counts, linear for steps; a tick at every model, labelled in words."""
    ticks = sorted(set(xs))
    if axis == "n_parameters":
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        labels = [format_x(axis, x) for x in ticks]
        if len(ticks) > 1:
            lo, hi = np.log10(ticks[0]), np.log10(ticks[-1])
            pad = 0.08 * (hi - lo)
            ax.set_xlim(10 ** (lo - pad), 10 ** (hi + pad))
    else:
        ax.set_xlabel("training step")
        labels = [f"{int(x):,}" for x in ticks]
        if len(ticks) > 1:
            pad = 0.05 * (ticks[-1] - ticks[0])
            ax.set_xlim(ticks[0] - pad, ticks[-1] + pad)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(
        labels, rotation=45 if len(ticks) > 4 else 0, ha="right" if len(ticks) > 4 else "center"
    )


def _shifted(axis: str, x: np.ndarray, i: int, n: int, xs: Sequence[float]) -> np.ndarray:
    """``x`` moved a little for series ``i`` of ``n``, so that overlapping error bars sit side by side."""
    k = i - (n - 1) / 2
    if axis == "n_parameters":
        return x * 10 ** (0.03 * k)
    span = (max(xs) - min(xs)) or 1.0
    return x + 0.012 * k * span


def _lines(
    ax: Axes,
    series: pd.DataFrame,
    measure: str,
    axis: str,
    *,
    by: Sequence[str] = ("shot",),
    label: Callable[[tuple[Any, ...]], str] = lambda k: f"{k[0]}-shot",
    bars: bool = False,
) -> bool:
    """One line per ``by`` value (markers at the models), with 95% interval bars where ``low``/``high``
    are finite (``bars``); returns whether anything was drawn."""
    d = series[series["measure"] == measure]
    if d.empty:
        ax.text(0.5, 0.5, "no rows", ha="center", va="center", transform=ax.transAxes, color="0.4")
        return False
    d = d.assign(**{c: pd.to_numeric(d[c]).astype(float) for c in ("value", "low", "high")})
    d = d.assign(**{c: pd.to_numeric(d[c]).astype(int) for c in by})
    keys = sorted({tuple(int(v) for v in k) for k in d[list(by)].itertuples(index=False)})
    colors = _shot_colors(keys)
    xs = sorted(set(series["x"]))
    for i, key in enumerate(keys):
        dk = d[(d[list(by)].to_numpy() == np.array(key)).all(axis=1)].sort_values("x")
        x, y = dk["x"].to_numpy(float), dk["value"].to_numpy(float)
        ax.plot(x, y, color=colors[key], marker=_MARKERS[i % len(_MARKERS)], markersize=3, linewidth=1.0,
                label=label(key), zorder=3)  # fmt: skip
        if bars:
            lo, hi = dk["low"].to_numpy(float), dk["high"].to_numpy(float)
            ok = np.isfinite(lo) & np.isfinite(hi)
            if ok.any():
                ax.errorbar(
                    _shifted(axis, x[ok], i, len(keys), xs), (lo[ok] + hi[ok]) / 2, yerr=(hi[ok] - lo[ok]) / 2,
                    fmt="none", ecolor=colors[key], elinewidth=0.8, capsize=1.5, alpha=0.8, zorder=2,
                )  # fmt: skip
    _x_axis(ax, axis, xs)
    return True


# --------------------------------------------------------------------------------------------------
# the four figures
# --------------------------------------------------------------------------------------------------


def scale_removable(table: pd.DataFrame, out_stem: PathLike, *, axis: str, note: str = "") -> list[Path]:
    """% of heads and % of FFNs removable within 5 points of mean accuracy against the axis: one panel
    per kind, one line per shot, the 95% interval of each model's share (``low``–``high``) as a bar.

    Args:
        table: a :func:`~iclprune.reporting.scale.scale_table` table (rows ``heads_removable``,
            ``ffns_removable``).
        out_stem: output path without suffix.
        axis: ``"n_parameters"`` (log x) or ``"step"``.
        note: small text under the figure.

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: an unknown ``axis`` or a table without the scale table's columns.
    """
    name = "scale_removable"
    series, _, why = _series(table, axis, name)
    with _drawing():
        if why:
            return _message(out_stem, f"removable within {MAX_DROP:g} points", why, note)
        fig, axes = _panel_row(2, height=2.3, width=PAGE_WIDTH * 0.8, sharey=True)
        for ax, measure, parts in zip(
            axes, ("heads_removable", "ffns_removable"), ("heads", "FFNs"), strict=True
        ):
            _lines(ax, series, measure, axis, bars=True)
            ax.set_title(f"{parts} removable within {MAX_DROP:g} points")
            ax.set_ylim(-3, 103)
        axes[0].set_ylabel("% removable (bars: 95% interval)")
        _legend_right(axes[-1])
        _add_note(fig, note)
        return _save(fig, out_stem)


def scale_induction(table: pd.DataFrame, out_stem: PathLike, *, axis: str, note: str = "") -> list[Path]:
    """Share (%) of prefix-matching and of copying capacity held by the top-30% aggregate heads against
    the axis, one line per shot; a dotted line at 30%, what a random 30% of the heads would hold.

    Args:
        table: a scale table (rows ``prefix_matching_top30``, ``copying_top30``).
        out_stem: output path without suffix.
        axis: ``"n_parameters"`` (log x) or ``"step"``.
        note: small text under the figure.

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: an unknown ``axis`` or a table without the scale table's columns.
    """
    name = "scale_induction"
    series, _, why = _series(table, axis, name)
    with _drawing():
        if why:
            return _message(out_stem, "capacity held by the top-30% heads", why, note)
        fig, axes = _panel_row(2, height=2.3, width=PAGE_WIDTH * 0.8, sharey=True)
        for ax, kind in zip(axes, ("prefix_matching", "copying"), strict=True):
            ax.axhline(TOP_PCT, color="0.45", linestyle=(0, (1, 1.5)), linewidth=0.9,
                       label=f"a random {TOP_PCT:g}% of heads", zorder=1)  # fmt: skip
            _lines(ax, series, f"{kind}_top30", axis)
            ax.set_title(f"{SCORE_KIND_LABEL[kind]} capacity")
            ax.set_ylim(0, 100)
        axes[0].set_ylabel(f"% held by the top-{TOP_PCT:g}% heads")
        _legend_right(axes[-1])
        _add_note(fig, note)
        return _save(fig, out_stem)


def scale_agreement(table: pd.DataFrame, out_stem: PathLike, *, axis: str, note: str = "") -> list[Path]:
    """Mean cross-task SRCC (over task pairs) per shot and mean cross-shot SRCC (over tasks) per shot
    pair against the axis, one panel each.

    Args:
        table: a scale table (rows ``cross_task_srcc``, ``cross_shot_srcc``).
        out_stem: output path without suffix.
        axis: ``"n_parameters"`` (log x) or ``"step"``.
        note: small text under the figure.

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: an unknown ``axis`` or a table without the scale table's columns.
    """
    name = "scale_agreement"
    series, _, why = _series(table, axis, name)
    with _drawing():
        if why:
            return _message(out_stem, "agreement of head importance", why, note)
        fig, axes = _panel_row(2, height=2.3, width=PAGE_WIDTH, sharey=True)
        _lines(axes[0], series, "cross_task_srcc", axis)
        axes[0].set_title("cross-task SRCC (mean over task pairs)")
        _lines(
            axes[1],
            series,
            "cross_shot_srcc",
            axis,
            by=("shot", "shot_b"),
            label=lambda k: f"{k[0]}–{k[1]} shot",
        )
        axes[1].set_title("cross-shot SRCC (mean over tasks)")
        axes[0].set_ylabel("Spearman's rho")
        for ax in axes:
            ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=0)
            _legend_right(ax)
        _add_note(fig, note)
        return _save(fig, out_stem)


def _depth_matrix(
    series: pd.DataFrame, prefix: str, shot: int, rows: Sequence[str], axis: str
) -> pd.DataFrame:
    """models × Q1..Q4 of the ``<prefix>_q<n>`` rows at ``shot`` (NaN where a model lacks them)."""
    d = series[series["measure"].astype(str).str.startswith(f"{prefix}_q") & (series["shot"] == shot)]
    d = d.assign(q=d["measure"].str[-1].map(lambda s: f"Q{s}"), value=pd.to_numeric(d["value"]).astype(float))
    m = d.pivot(index="model", columns="q", values="value").reindex(
        index=rows, columns=[f"Q{q}" for q in range(1, 5)]
    )
    xs = dict(series_models(series))
    m.index = [f"{r} ({format_x(axis, xs[r])})" for r in rows]
    return m


def scale_depth(table: pd.DataFrame, out_stem: PathLike, *, axis: str, note: str = "") -> list[Path]:
    """Depth profile of each model: heatmaps of models (ordered by the axis, smallest at the bottom)
    × depth quartile, the share of the top-10% aggregate heads (left) and the mean FFN oracle score in
    points (right), one row of panels per shot; the values are written in the cells.

    Args:
        table: a scale table (rows ``head_depth_q1..q4``, ``ffn_depth_q1..q4``).
        out_stem: output path without suffix.
        axis: ``"n_parameters"`` or ``"step"`` (orders the models).
        note: small text under the figure.

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: an unknown ``axis`` or a table without the scale table's columns.
    """
    name = "scale_depth"
    series, models, why = _series(table, axis, name)
    kinds = (
        ("head_depth", "top-10% heads (share)", "viridis"),
        ("ffn_depth", "FFN oracle (points)", "magma"),
    )
    with _drawing():
        if why:
            return _message(out_stem, "depth profile", why, note)
        measure = series["measure"].astype(str)
        shots = sorted({int(s) for s in series.loc[measure.str.match(r"(head|ffn)_depth_q"), "shot"]})
        if not shots:
            return _message(
                out_stem, "depth profile", "no depth rows (aggregate importance or FFN oracle)", note
            )
        rows = [m for m, _ in models]
        height = 0.6 + len(shots) * (0.5 + 0.16 * len(rows))
        fig, grid = _grid(len(shots), height)
        for i, shot in enumerate(shots):
            for j, (prefix, title, cmap) in enumerate(kinds):
                ax = grid[i][j]
                mat = _depth_matrix(series, prefix, shot, rows, axis)
                ax.set_title(f"{title}, {shot}-shot")
                if mat.isna().all().all():
                    ax.set_axis_off()
                    ax.text(0.5, 0.5, f"no {title.split(' (')[0]} at {shot}-shot", ha="center", va="center",
                            transform=ax.transAxes, color="0.4")  # fmt: skip
                    continue
                vmin, vmax = (0.0, 1.0) if prefix == "head_depth" else (None, None)
                im = _heatmap_image(ax, mat, cmap=cmap, vmin=vmin, vmax=vmax, xlabel="depth quartile",
                                    ylabel="", max_ticks=max(len(rows), 4))  # fmt: skip
                im.set_cmap(im.cmap.with_extremes(bad="0.85"))  # a model without the quartile
                _cell_values(ax, mat, im)
                cb = fig.colorbar(im, ax=ax, fraction=0.08, pad=0.03)
                cb.ax.tick_params(labelsize=5.5)
        _add_note(fig, note)
        return _save(fig, out_stem)


def _grid(n_rows: int, height: float) -> tuple[Figure, list[list[Axes]]]:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(n_rows, 2, figsize=(PAGE_WIDTH, height), squeeze=False)
    return fig, [list(r) for r in axes]


def _cell_values(ax: Axes, mat: pd.DataFrame, im: Any) -> None:
    """Each finite cell's value as text, dark on light cells and light on dark ones."""
    values = mat.to_numpy(float)
    for (r, c), v in np.ndenumerate(values):
        if np.isfinite(v):
            shade = np.mean(im.cmap(im.norm(v))[:3])
            ax.text(c, r, f"{v:.2g}", ha="center", va="center", fontsize=5,
                    color="black" if shade > 0.5 else "white")  # fmt: skip


_DRAW: dict[str, Callable[..., list[Path]]] = {
    "scale_removable": scale_removable,
    "scale_induction": scale_induction,
    "scale_agreement": scale_agreement,
    "scale_depth": scale_depth,
}


def scale_figure(
    name: str, table: pd.DataFrame, out_stem: PathLike, *, axis: str, note: str = ""
) -> list[Path]:
    """Draw scale figure ``name`` (one of :data:`SCALE_FIGURES`) of one series of a scale table.

    Args:
        name: ``scale_removable``, ``scale_induction``, ``scale_agreement`` or ``scale_depth``.
        table: a :func:`~iclprune.reporting.scale.scale_table` table (or the same read back from TSV).
        out_stem: output path without suffix (``results/figures/scale_removable_n_parameters``).
        axis: ``"n_parameters"`` (the models without a step, log x) or ``"step"`` (the checkpoints).
        note: small text under the figure (e.g. that random-weight models show the machinery only).

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: an unknown ``name`` (the known ones listed) or ``axis``, a table without the scale
            table's columns.
    """
    if name not in _DRAW:
        raise ValueError(f"unknown scale figure {name!r}; expected one of {list(SCALE_FIGURES)}")
    return _DRAW[name](table, out_stem, axis=axis, note=note)
