"""Ranking agreement: Figs 8 and 15 (cross-task SRCC matrices), Table 1 (cross-shot SRCC)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Rectangle

from iclprune.core.io import atomic_path
from iclprune.reporting.plotting._checks import _pivot, _require, _shots, _task_order
from iclprune.reporting.plotting._style import AGGREGATE, PAGE_WIDTH, PathLike, _drawing, _save, _shot_title

# --------------------------------------------------------------------------------------------------
# Figs 8, 15: cross-task SRCC
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


# --------------------------------------------------------------------------------------------------
# Table 1: cross-shot SRCC
# --------------------------------------------------------------------------------------------------

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
