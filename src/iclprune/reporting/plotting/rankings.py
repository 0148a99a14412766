"""Beyond the paper: how good is the ranking? Fig 20 (gradient vs oracle), Fig 21 (ranking quality)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from iclprune.analysis.ranking_quality import AGREEMENT_COLUMNS, CURVE_COLUMNS, removable_by_ranking
from iclprune.reporting.plotting._checks import _require, _shots, _task_order
from iclprune.reporting.plotting._style import (
    PathLike,
    _drawing,
    _legend_right,
    _panel_row,
    _save,
    _shot_title,
)

#: Importance variants of Fig 20, in drawing order, with their marker style.
VARIANT_STYLE: dict[str, dict[str, Any]] = {
    "bansal": {"color": "#000000", "marker": "o", "label": "bansal (paper)"},
    "michel": {"color": "#1f77b4", "marker": "s", "label": "michel"},
}
#: Rankings of Fig 21: line style and legend name.
RANKING_LINE: dict[str, dict[str, Any]] = {
    "gradient": {"color": "#000000", "linestyle": "-", "marker": "o", "label": "gradient, one-shot (paper)"},
    "iterative": {"color": "#1f77b4", "linestyle": "--", "marker": "^", "label": "gradient, re-scored"},
    "oracle": {"color": "#d62728", "linestyle": "-.", "marker": "s", "label": "oracle knock-out"},
    "random": {"color": "0.45", "linestyle": ":", "marker": "x", "label": "random (mean of draws)"},
}


def fig20_gradient_vs_oracle(
    agreement: pd.DataFrame,
    out_stem: PathLike,
    *,
    shots: Sequence[int] | None = None,
    tasks: Sequence[str] | None = None,
) -> list[Path]:
    """Fig 20: Spearman correlation between gradient head importance and the oracle (the drop in gold
    log-likelihood when the head alone is knocked out), per task and the mean over tasks (rightmost), one
    panel per shot, one marker per importance variant with its bootstrap interval over the importance
    documents as an error bar.

    Args:
        agreement: :func:`iclprune.analysis.ranking_quality.gradient_vs_oracle`'s table (columns
            ``task, shot, variant, srcc, low, high, n_docs``; ``task = "mean"``: the mean over tasks).
        out_stem: output path without suffix.
        shots: shot counts to draw (default all).
        tasks: task order (default sorted).

    Returns:
        ``[pdf, png]``.

    Raises:
        ValueError: missing columns, an empty selection, an unknown variant.
    """
    name = "fig20_gradient_vs_oracle"
    _require(agreement, AGREEMENT_COLUMNS, name)
    unknown = sorted(set(agreement.variant) - set(VARIANT_STYLE))
    if unknown:
        raise ValueError(f"{name}: unknown importance variant(s) {unknown}; expected {list(VARIANT_STYLE)}")
    shot_list = _shots(agreement, shots, name)
    present = [t for t in agreement["task"].unique() if t != "mean"]
    task_list = _task_order(present, tasks) + (["mean"] if "mean" in set(agreement.task) else [])
    variants = [v for v in VARIANT_STYLE if v in set(agreement.variant)]
    width = 0.32
    with _drawing():
        fig, axes = _panel_row(len(shot_list), height=2.4, sharey=True)
        for ax, shot in zip(axes, shot_list, strict=True):
            d = agreement[agreement.shot == shot]
            for k, variant in enumerate(variants):
                style = VARIANT_STYLE[variant]
                v = d[d.variant == variant].set_index("task").reindex(task_list)
                x = np.arange(len(task_list)) + (k - (len(variants) - 1) / 2) * width
                ok = v.srcc.notna().to_numpy()
                ax.errorbar(
                    x[ok], v.srcc[ok], yerr=[(v.srcc - v.low)[ok], (v.high - v.srcc)[ok]], fmt=style["marker"],
                    color=style["color"], markersize=3.2, elinewidth=0.9, capsize=1.5, label=style["label"],
                )  # fmt: skip
            ax.axhline(0.0, color="0.45", linewidth=0.8, linestyle=(0, (1, 1.5)), zorder=0)
            ax.set_xticks(np.arange(len(task_list)), [t.removeprefix("icl_") for t in task_list], rotation=40,
                          ha="right")  # fmt: skip
            ax.set_xlim(-0.6, len(task_list) - 0.4)
            ax.set_ylim(-1.05, 1.05)
            n = sorted({int(x) for x in d.n_docs})
            ax.set_title(f"{_shot_title(shot)} ({'/'.join(map(str, n))} docs)")
        axes[0].set_ylabel("Spearman(gradient, oracle)")
        _legend_right(axes[-1], title="95% basic bootstrap\ninterval over docs")
        return _save(fig, out_stem)


def fig21_ranking_quality(
    curves: pd.DataFrame,
    out_stem: PathLike,
    *,
    shots: Sequence[int] | None = None,
    max_drop: float = 5.0,
    n_docs: str = "",
    without: Sequence[str] = (),
) -> list[Path]:
    """Fig 21: mean accuracy over tasks against % of heads removed under each ranking (the paper's one-shot
    gradient ranking, the iteratively re-scored gradient, the oracle knock-out ranking and the random
    control), one panel per shot, each line with its paired bootstrap interval over documents as a band. A
    dotted line marks ``max_drop`` points below the unpruned accuracy; the legend gives each ranking's
    largest % of heads whose drop stays within it at the upper 95% bound (every panel's value, in shot
    order).

    Args:
        curves: :func:`iclprune.analysis.ranking_quality.ranking_curves`'s table (``ranking, shot,
            pct_heads, acc, acc_low, acc_high, drop, drop_low, drop_high``).
        out_stem: output path without suffix.
        shots: shot counts to draw (default all).
        max_drop: the drop budget in points.
        n_docs: how many documents per task, for the legend title (e.g. ``"16"``).
        without: tasks of the study left out of the means (scored by another metric), named in the legend.

    Returns:
        ``[pdf, png]``.
    """
    name = "fig21_ranking_quality"
    _require(curves, CURVE_COLUMNS, name)
    shot_list = _shots(curves, shots, name)
    sel = curves[curves.shot.isin(shot_list)]
    rankings = list(dict.fromkeys(sel.ranking))
    removable = removable_by_ranking(sel, max_drop).set_index(["ranking", "shot"]).removable
    with _drawing():
        fig, axes = _panel_row(len(shot_list), height=2.4, sharey=True)
        for ax, shot in zip(axes, shot_list, strict=True):
            d = sel[sel.shot == shot]
            for i, ranking in enumerate(rankings):
                style = RANKING_LINE.get(ranking, {"color": f"C{i}", "linestyle": "-", "marker": "D",
                                                   "label": ranking})  # fmt: skip
                r = d[d.ranking == ranking].sort_values("pct_heads")
                if r.empty:
                    continue
                x = r.pct_heads.to_numpy(dtype=float)
                ax.fill_between(x, 100 * r.acc_low, 100 * r.acc_high, color=style["color"], alpha=0.14,
                                linewidth=0, zorder=2)  # fmt: skip
                per_shot = " / ".join(
                    f"{removable.get((ranking, s), np.nan):.0f}" for s in shot_list
                )  # the legend is drawn once: every shot's value
                ax.plot(
                    x, 100 * r.acc, color=style["color"], linestyle=style["linestyle"], marker=style["marker"],
                    markersize=2.6, linewidth=1.3, zorder=4, label=f"{style['label']}: {per_shot}%",
                )  # fmt: skip
            base = d[d.pct_heads == d.pct_heads.min()].acc.mean()
            ax.axhline(100 * base - max_drop, color="0.45", linewidth=0.8, linestyle=(0, (1, 1.5)), zorder=1,
                       label=f"unpruned − {max_drop:g} points")  # fmt: skip
            ax.set_title(_shot_title(shot))
            ax.set_xlabel("% attention heads pruned")
            ax.set_xlim(-2, max(92.0, float(d.pct_heads.max()) + 2))
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        axes[0].set_ylabel("mean accuracy (%)")
        shots_text = "/".join(f"{s}" for s in shot_list)
        title = f"% of heads removable within {max_drop:g} points\n(upper 95% bound; {shots_text}-shot)"
        title += "\nbands: 95% bootstrap interval" + (f"\n({n_docs} docs per task)" if n_docs else "")
        if without:
            title += "\nwithout " + ", ".join(without) + "\n(not scored by accuracy)"
        _legend_right(axes[-1], title=title)
        return _save(fig, out_stem)


__all__ = ["RANKING_LINE", "VARIANT_STYLE", "fig20_gradient_vs_oracle", "fig21_ranking_quality"]
