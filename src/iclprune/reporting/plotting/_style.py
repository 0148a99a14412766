"""House style shared by every figure: backend, palette, rc settings, saving, panel helpers.

Everything here is private to :mod:`iclprune.reporting.plotting`; the public constants
(:data:`AGGREGATE`, :data:`DPI`, :data:`PAGE_WIDTH`, the ranking and score-kind palettes) are
re-exported by the package.
"""

from __future__ import annotations

import logging
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

from iclprune.analysis.bootstrap import Bootstrap, sweep_intervals
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
#: Colour of the bold mean-over-tasks line and of its bootstrap band.
MEAN_COLOR = "black"
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
    """The random-ranking control as a hatched grey band: per draw (``ranking_seed``) the accuracy at each ``x``
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
    # hatched: the bootstrap band around the (black) mean line is a plain light grey too
    ax.fill_between(
        band.index, 100.0 * band["min"], 100.0 * band["max"], color="0.55", alpha=0.25, linewidth=0,
        hatch="////", hatchcolor="0.45", label=f"random ranking ({n} draw{'s' if n != 1 else ''})", zorder=0,
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
    ax.plot(mean.index, scale * mean.to_numpy(), color=MEAN_COLOR, linewidth=2.0, label=mean_label, zorder=5)


# --------------------------------------------------------------------------------------------------
# bootstrap intervals over documents
# --------------------------------------------------------------------------------------------------

#: Columns a per-document table needs besides the grid column (``pct_heads`` or ``pct_ffns``); its ``acc``
#: may be absent or empty for a task scored by another metric (such a task gets no interval).
DOC_COLUMNS = ("task", "shot", "doc_id")
#: Most bytes one bootstrap call's ``(points, replicates, documents)`` resample may take (figure jobs run
#: in little memory); :func:`_intervals` passes the points a few at a time to stay within it.
RESAMPLE_BYTES = 128 * 2**20
_ACC_TOLERANCE = 1e-6

log = logging.getLogger(__name__)


def _matched_docs(
    docs: pd.DataFrame, plotted: pd.DataFrame, x: str, name: str, keys: Sequence[str] = ("task",)
) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """One panel's documents for its intervals.

    Args:
        docs: the panel's per-document rows (``keys…, <x>, doc_id[, acc]``).
        plotted: the panel's summary rows (``keys…, <x>, acc``); a series is one ``keys`` value.

    Returns:
        ``(rows, skipped)``: the rows ``keys…, <x>, doc_id, acc`` (``x`` as float) at the plotted points of
        the series whose plotted accuracy is the mean of their documents' ``acc`` at every point, and the
        ``keys`` tuples of the other series, sorted: those scored by a metric that is not a document mean
        of ``acc`` (ReCoRD's ``em``, MultiRC's ``acc_all``), which get no interval.

    Raises:
        ValueError: a plotted point without documents, or a point of a series lacking documents that
            its other points have (named).
    """
    on = [*keys, x]
    points = plotted.astype({x: float}).groupby(on, sort=True)["acc"].mean()  # duplicates averaged, as drawn
    rows = docs[[*on, "doc_id", *(["acc"] if "acc" in docs.columns else [])]].astype({x: float})
    if "acc" not in rows.columns:
        rows = rows.assign(acc=np.nan)
    have = points.index.isin(pd.MultiIndex.from_frame(rows[on].drop_duplicates()))
    if not have.all():
        first = dict(zip(on, points.index[~have][0], strict=True))
        first = {k: (v.item() if hasattr(v, "item") else v) for k, v in first.items()}
        raise ValueError(
            f"{name}: the per-document table has no documents for {first} ({int((~have).sum())} plotted "
            "point(s) without documents); pass the .docs.parquet tables of the plotted sweeps"
        )
    rows = rows[pd.MultiIndex.from_frame(rows[on]).isin(points.index)]
    try:
        _check_paired(rows, x, keys)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from err
    means = rows.groupby(on, sort=True)["acc"].mean().reindex(points.index)
    bad = ~np.isclose(means.to_numpy(), points.to_numpy(), rtol=0, atol=_ACC_TOLERANCE)  # NaN: no acc
    skipped = sorted({tuple(k[: len(keys)]) for k in points.index[bad]})
    if skipped:
        rows = rows[~pd.MultiIndex.from_frame(rows[list(keys)]).isin(skipped)]
    return rows.reset_index(drop=True), skipped


def _check_paired(docs: pd.DataFrame, x: str, keys: Sequence[str] = ("task",)) -> None:
    """ValueError unless every point of a series (a ``keys`` value) holds all that series' documents
    (``keys…, <x>, doc_id``): a paired bootstrap resamples one document set for every point."""
    per_point = docs.groupby([*keys, x], sort=True)["doc_id"].nunique()
    per_series = docs.groupby(list(keys))["doc_id"].nunique()
    series = per_point.index.droplevel(x)
    short = per_point.to_numpy() < per_series.reindex(series).to_numpy()
    if short.any():
        *values, point = per_point.index[short][0]
        point = point.item() if hasattr(point, "item") else point  # a numpy scalar, shown as a plain number
        where = ", ".join(f"{k} {v!r}" for k, v in zip(keys, values, strict=True))
        raise ValueError(
            f"{where}: point {point!r} lacks documents that other points have; a paired bootstrap needs "
            "the same documents at every point"
        )


def _intervals(docs: pd.DataFrame, x: str, bootstrap: Bootstrap, name: str) -> pd.DataFrame:
    """The mean over tasks of ``docs`` (``task, doc_id, <x>, acc``) at each ``x`` common to its tasks,
    with its interval: :func:`~iclprune.analysis.bootstrap.sweep_intervals`' columns ``<x>, acc,
    acc_low, acc_high`` (one row per point). The points go a few at a time, so that the resample stays
    within :data:`RESAMPLE_BYTES`; a replicate's draw depends on the seed and each task's document count
    only, so the intervals equal those of one call over every point. Errors name ``name``."""
    cols = [x, "acc", "acc_low", "acc_high"]
    try:
        if docs.empty:
            return sweep_intervals(docs, x, settings=bootstrap)[cols]  # raises: no rows
        common = sorted(set.intersection(*(set(v) for v in docs.groupby("task")[x].unique())))
        n_docs = int(docs.groupby("task")["doc_id"].nunique().max())
        step = max(1, RESAMPLE_BYTES // (8 * bootstrap.n_boot * n_docs))
        if len(common) <= step:  # one call (it raises when the tasks share no point)
            return sweep_intervals(docs, x, settings=bootstrap)[cols]
        _check_paired(docs, x)  # a chunk would not see another chunk's points
        parts = [
            sweep_intervals(docs[docs[x].isin(common[i : i + step])], x, settings=bootstrap)[cols]
            for i in range(0, len(common), step)
        ]
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from err
    return pd.concat(parts, ignore_index=True)


def _skipped_note(skipped: Sequence[str]) -> str:
    """Legend note naming the series without an interval (empty when there are none); logs them too."""
    if not skipped:
        return ""
    log.warning(
        "no bootstrap interval for %s: the plotted accuracy is not the mean of the documents' acc "
        "(another metric, e.g. em or acc_all)",
        ", ".join(skipped),
    )
    return f"\nnone for {', '.join(skipped)} (score not a mean of per-document acc)"


def _no_interval_entry(ax: Axes, skipped: Sequence[str]) -> None:
    """A legend entry without a handle naming the series of a panel that drew no interval at all."""
    note = f"no bootstrap interval: {', '.join(skipped)}\n(score not a mean of per-document acc)"
    ax.plot([], [], linestyle="none", label=note)


def _interval_label(panels: Sequence[pd.DataFrame], bootstrap: Bootstrap) -> str:
    """Legend text of the intervals drawn from ``panels`` (per-document tables, one per panel, each with
    ``task, doc_id``): ``95% bootstrap interval (200 docs per task)``, or a range of document counts when
    the tasks differ."""
    counts = [int(n) for d in panels if not d.empty for n in d.groupby("task")["doc_id"].nunique()]
    lo, hi = (min(counts), max(counts)) if counts else (0, 0)
    n = f"{lo}" if lo == hi else f"{lo}–{hi}"
    return f"{100 * bootstrap.level:g}% bootstrap interval ({n} docs per task)"


def _interval_band(
    ax: Axes, iv: pd.DataFrame, x: str, color: Any, label: str | None, *, scale: float = 100.0
) -> None:
    """The interval ``acc_low…acc_high`` of ``iv`` (``sweep_intervals`` rows) as a light band of ``color``."""
    ax.fill_between(
        iv[x].to_numpy(dtype=float), scale * iv["acc_low"].to_numpy(), scale * iv["acc_high"].to_numpy(),
        color=color, alpha=0.18, linewidth=0, label=label, zorder=4,
    )  # fmt: skip


def _interval_bars(
    ax: Axes,
    iv: pd.DataFrame,
    x: str,
    color: Any,
    label: str | None = None,
    *,
    scale: float = 100.0,
    linewidth: float = 0.7,
    alpha: float = 0.8,
    zorder: float = 3,
    shift: float = 0.0,
) -> None:
    """The interval ``acc_low…acc_high`` of ``iv`` (``sweep_intervals`` rows) as an error bar at each ``x``
    (plus ``shift``, to set overlapping series' bars side by side); a bar spans exactly the interval,
    whatever the plotted point."""
    low, high = scale * iv["acc_low"].to_numpy(), scale * iv["acc_high"].to_numpy()
    ax.errorbar(
        iv[x].to_numpy(dtype=float) + shift, (low + high) / 2, yerr=(high - low) / 2, fmt="none", ecolor=color,
        elinewidth=linewidth, capsize=0, alpha=alpha, label=label, zorder=zorder,
    )  # fmt: skip


def _task_intervals(
    ax: Axes,
    docs: pd.DataFrame,
    x: str,
    tasks: Sequence[str],
    colors: Mapping[str, Any],
    bootstrap: Bootstrap,
    name: str,
    label: str | None,
    *,
    band: bool = True,
) -> None:
    """Per-task intervals as thin error bars in each task's colour and, with ``band``, the interval of
    the mean over ``tasks`` as a light band of the mean line's colour; ``label`` goes on the band (without
    it, on the first task's bars). ``docs``: one panel's per-document rows ``task, doc_id, <x>, acc``."""
    present = [t for t in tasks if (docs["task"] == t).any()]
    for i, task in enumerate(present):
        iv = _intervals(docs[docs["task"] == task], x, bootstrap, name)
        bar_label = label if i == 0 and not band else None
        _interval_bars(ax, iv, x, colors[task], bar_label, linewidth=0.5, alpha=0.55, zorder=2.5)
    if present and band:
        iv = _intervals(docs[docs["task"].isin(present)], x, bootstrap, name)
        _interval_band(ax, iv, x, MEAN_COLOR, label)
