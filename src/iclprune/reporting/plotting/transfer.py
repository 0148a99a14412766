"""Transfer of head rankings across tasks: Figs 9, 16, 17 and the OOD figure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from iclprune.analysis.bootstrap import Bootstrap
from iclprune.reporting.plotting._checks import _check_chance, _mean_chance, _require, _shots, _task_order
from iclprune.reporting.plotting._style import (
    DOC_COLUMNS,
    PAGE_WIDTH,
    RANKING_STYLE,
    RANKINGS,
    PathLike,
    _chance_line,
    _drawing,
    _interval_bars,
    _interval_label,
    _intervals,
    _legend_right,
    _matched_docs,
    _no_interval_entry,
    _panel_row,
    _random_band,
    _save,
    _shot_title,
    _skipped_note,
)

TRANSFER_COLUMNS = ("task", "shot", "pct_heads", "ranking", "ranking_task", "acc")
#: Horizontal distance (% heads) between the error bars of neighbouring rankings at one percentage.
DODGE = 1.0


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
    random: pd.DataFrame | None = None,
    docs: pd.DataFrame | None = None,
    bootstrap: Bootstrap | None = None,
) -> list[Path]:
    """Figs 9, 16, 17 and OOD: accuracy of a target task pruned with another task's head ranking.

    x = % heads pruned, one line per ranking (self / high / low / aggregate; OOD tables have only
    self / aggregate). Rows with ``pct_ffns != 0`` (if that column exists) are ignored. With ``docs``,
    every accuracy point carries the paired bootstrap interval over documents (resampled within each
    task, :func:`~iclprune.analysis.bootstrap.sweep_intervals`) as an error bar in its ranking's colour:
    of the mean over the target tasks (``mean``) or of the panel's task (``grid``).

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
        random: the random-ranking control (``task, shot, pct_heads, acc, ranking_seed``), drawn as a hatched
            grey band (lowest to highest draw) at the percentages the transfer sweeps have.
        docs: per-document rows ``task, shot, ranking, pct_heads, [pct_ffns,] doc_id, acc`` of every
            plotted (task, shot, ranking) sweep, the self rows included (ranking ``self``); one row per
            document per point, the same documents at every point of a sweep. Extra rows are ignored.
            A (task, ranking) whose plotted ``acc`` is not the mean of its documents' ``acc`` (another
            metric: ReCoRD's em, MultiRC's acc_all) gets no bars, nor does a mean over tasks including
            it; the legend names it. None (default): no intervals.
        bootstrap: replicates, seed and level of the intervals (default ``Bootstrap()``: 2000 replicates,
            seed 1234, 95%).

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns, empty selection, unknown layout, bad chance levels; a plotted point
            without documents in ``docs``, or a point of a sweep lacking documents its other points have.
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
    settings = bootstrap if bootstrap is not None else Bootstrap()
    if docs is not None:
        _require(docs, (*DOC_COLUMNS, "ranking", "pct_heads"), f"{name} (per-document table)")
        if "pct_ffns" in docs.columns:
            docs = docs[docs["pct_ffns"] == 0]
        docs = docs[docs["shot"].isin(shot_list) & docs["ranking"].isin(rank_list)]

    def panel_docs(rows: pd.DataFrame, d: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
        """The documents of the panel whose summary rows are ``d`` and its ``(task, ranking)`` pairs
        without an interval (:func:`_matched_docs`)."""
        shot = int(d["shot"].iloc[0])
        here = rows[(rows["shot"] == shot) & rows["task"].isin(d["task"].unique())]
        return _matched_docs(here, d, "pct_heads", f"{name}, {shot}-shot", keys=("task", "ranking"))

    # (task or None, shot) -> the panel's documents and its (task, ranking) pairs without an interval
    panels: dict[tuple[str | None, int], tuple[pd.DataFrame, list[tuple[Any, ...]]]] = {}
    if docs is not None:
        for shot in shot_list:
            d = per[per["shot"] == shot]
            if mode == "mean" and not d.empty:
                panels[None, shot] = panel_docs(docs, d)
            for task in task_list if mode == "grid" else ():
                dt = d[d["task"] == task]
                if not dt.empty:
                    panels[task, shot] = panel_docs(docs, dt)
    label = _interval_label([rows for rows, _ in panels.values()], settings)
    label += _skipped_note(sorted({str(t) for _, skip in panels.values() for t, _r in skip}))

    if random is not None and not random.empty:
        _require(random, ("task", "shot", "pct_heads", "acc", "ranking_seed"), name)
        random = random[random["pct_heads"].isin(sel["pct_heads"].unique())]
        if "pct_ffns" in random.columns:
            random = random[random["pct_ffns"] == 0]

    def draw(ax: Axes, d: pd.DataFrame, panel: tuple[pd.DataFrame, list[tuple[Any, ...]]] | None) -> None:
        if random is not None:
            _random_band(
                ax, random[random["shot"] == d["shot"].iloc[0]], "pct_heads", tasks=d["task"].unique()
            )
        first = True
        for i, r in enumerate(rank_list):
            dr = d[d["ranking"] == r].groupby("pct_heads", sort=True)["acc"].mean()
            if dr.empty:
                continue
            style = _ranking_style(r)
            ax.plot(dr.index, 100.0 * dr.to_numpy(), label=r, linewidth=1.1, markersize=3, **style)
            # a ranking's interval needs every task of its points (the mean layout averages them)
            if panel is not None and not any(r == rr for _t, rr in panel[1]):
                docs_here = panel[0]
                where = f"{name}, {_shot_title(int(d['shot'].iloc[0]))}, ranking {r!r}"
                iv = _intervals(docs_here[docs_here["ranking"] == r], "pct_heads", settings, where)
                shift = DODGE * (i - (len(rank_list) - 1) / 2)  # bars side by side, not on top of each other
                _interval_bars(
                    ax, iv, "pct_heads", style["color"], label if first else None, zorder=4, shift=shift
                )
                first = False
        if panel is not None and first and panel[1]:  # skipped series, and nothing drawn
            _no_interval_entry(ax, sorted({str(t) for t, _r in panel[1]}))
        ax.set_xlim(-2, max(92.0, float(d["pct_heads"].max()) + 2))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))

    with _drawing():
        if mode == "mean":
            fig, axes = _panel_row(len(shot_list), height=2.1, sharey=True)
            for ax, shot in zip(axes, shot_list, strict=True):
                d = per[per["shot"] == shot]
                draw(ax, d, panels.get((None, shot)))
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
                        draw(ax, d, panels.get((task, shot)))
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
