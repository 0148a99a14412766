"""Figures and tables of the paper, drawn from the long-format result tables (never typed-in numbers).

One public function per paper item. Each takes the result table(s) as pandas DataFrames and an
``out_stem`` (``results/<study>/figures/<model>/fig05_head_pruning``), writes ``<out_stem>.pdf`` and ``<out_stem>.png``
(200 dpi) atomically and returns ``[pdf, png]`` (Table 1 also writes ``.tsv`` and ``.md``).

The functions live in one module per figure family; this package is their public face:

=====================================  ============  ==============================================
function                               module        paper item
=====================================  ============  ==============================================
:func:`fig03_aggregate_heatmaps`       importance    Fig 3: aggregate head importance, layer × head
:func:`fig12_task_heatmaps`            importance    Figs 12–14: per-task head importance, one shot
:func:`fig04_ffn_oracle`               importance    Fig 4: FFN oracle importance per layer
:func:`fig05_head_pruning`             sweeps        Fig 5: accuracy vs % heads pruned
:func:`fig06_ffn_pruning`              sweeps        Fig 6: accuracy vs % FFNs pruned
:func:`fig07_combined_grid`            sweeps        Fig 7: mean accuracy, % heads × % FFNs pruned
:func:`fig08_cross_task_srcc`          agreement     Figs 8, 15: cross-task SRCC (``shots=`` selects)
:func:`table1_cross_shot`              agreement     Table 1: cross-shot SRCC mean (variance)
:func:`fig09_transfer`                 transfer      Figs 9, 16, 17 and OOD: self/high/low/aggregate
:func:`fig10_induction_heatmaps`       induction     Fig 10: prefix-matching and copying scores
:func:`fig11_retained_capacity`        induction     Fig 11: retained capacity, aggregate ranking
:func:`fig18_retained_per_task`        induction     Figs 18–19: retained capacity, per-task rankings
:func:`fig20_gradient_vs_oracle`       rankings      Fig 20 (beyond the paper): SRCC(gradient, oracle)
:func:`fig21_ranking_quality`          rankings      Fig 21 (beyond the paper): accuracy per ranking
=====================================  ============  ==============================================

Shared, private: ``_style`` (Agg backend, rc settings, palettes, saving, panel and heatmap helpers)
and ``_checks`` (input checks and selection).

Conventions: accuracies arrive in [0, 1] and are drawn in percent; chance levels (``chance``, task ->
chance accuracy in [0, 1]) become dotted grey lines. Heatmaps put layer 0 at the bottom. Every
function accepts ``shots=`` (a subset of shot counts to draw, in that order). Output is
byte-deterministic: no creation dates or software tags in the files, TrueType fonts in the PDF (no
Type 3 fonts, which conference PDF checkers reject). Bad input (missing columns, an empty selection,
duplicate cells) raises :class:`ValueError` naming the column or selection.
"""

from __future__ import annotations

# _style is imported first: it selects the Agg backend before anything loads pyplot.
from iclprune.reporting.plotting import _style, agreement, importance, induction, sweeps, transfer
from iclprune.reporting.plotting.agreement import fig08_cross_task_srcc, table1_cross_shot
from iclprune.reporting.plotting.importance import (
    fig03_aggregate_heatmaps,
    fig04_ffn_oracle,
    fig12_task_heatmaps,
)
from iclprune.reporting.plotting.induction import (
    fig10_induction_heatmaps,
    fig11_retained_capacity,
    fig18_retained_per_task,
)
from iclprune.reporting.plotting.rankings import fig20_gradient_vs_oracle, fig21_ranking_quality
from iclprune.reporting.plotting.sweeps import fig05_head_pruning, fig06_ffn_pruning, fig07_combined_grid
from iclprune.reporting.plotting.transfer import fig09_transfer

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
    "fig20_gradient_vs_oracle",
    "fig21_ranking_quality",
    "table1_cross_shot",
]

# Constants and types of the former single module, still reachable as attributes (not in __all__).
PathLike = _style.PathLike
Variant = _style.Variant
ScoreKind = _style.ScoreKind
AGGREGATE = _style.AGGREGATE
DPI = _style.DPI
PAGE_WIDTH = _style.PAGE_WIDTH
RANKINGS = _style.RANKINGS
RANKING_STYLE = _style.RANKING_STYLE
SCORE_KIND_LABEL = _style.SCORE_KIND_LABEL
SCORE_KIND_STYLE = _style.SCORE_KIND_STYLE
IMPORTANCE_COLUMNS = importance.IMPORTANCE_COLUMNS
SWEEP_COLUMNS = sweeps.SWEEP_COLUMNS
SUMMARY_COLUMNS = agreement.SUMMARY_COLUMNS
TRANSFER_COLUMNS = transfer.TRANSFER_COLUMNS
CAPACITY_COLUMNS = induction.CAPACITY_COLUMNS
