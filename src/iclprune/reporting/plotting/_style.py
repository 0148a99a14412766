"""House style shared by every figure: backend, palette, rc settings, saving, panel helpers.

Everything here is private to :mod:`iclprune.reporting.plotting`; the public constants
(:data:`AGGREGATE`, :data:`DPI`, :data:`PAGE_WIDTH`, the ranking and score-kind palettes) are
re-exported by the package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
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
from matplotlib.ticker import FuncFormatter, MaxNLocator

from iclprune.core.io import atomic_path

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


def _random_band(
    ax: Axes, random: pd.DataFrame | None, x: str, *, tasks: Sequence[str] | None = None
) -> None:
    """The random-ranking control as a grey band: per draw (``ranking_seed``) the accuracy at each ``x``
    averaged over ``tasks`` (default: every task in ``random``), then the band from the lowest to the
    highest draw. Nothing is drawn without rows."""
    if random is None or random.empty:
        return
    d = random if tasks is None else random[random["task"].isin(list(tasks))]
    if d.empty:
        return
    per_draw = (
        d.groupby(["ranking_seed", "task", x], sort=True)["acc"].mean().groupby(["ranking_seed", x]).mean()
    )
    band = per_draw.groupby(x).agg(["min", "max"])
    n = d["ranking_seed"].nunique()
    ax.fill_between(
        band.index, 100.0 * band["min"], 100.0 * band["max"], color="0.55", alpha=0.25, linewidth=0,
        label=f"random ranking ({n} draw{'s' if n != 1 else ''})", zorder=0,
    )  # fmt: skip


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
