"""The scale claims: does a measure grow with parameter count (the sizes of a family) or training step
(the checkpoints of one model)? From the long table of :func:`iclprune.reporting.scale.scale_table`, in the
columns of the per-model claims table plus ``config``. The removable shares are decided from each model's
95% interval (smallest against largest model of the series, :func:`trend_verdict`); the agreement,
induction and depth trends are described by a Spearman correlation over the models, not tested.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from iclprune.reporting.claims import CLAIM_COLUMNS, MAX_DROP, NOT_ASSESSED
from iclprune.reporting.scale import AXIS_WORDS, axis_series, format_x, series_models

#: Columns of the claims table :func:`scale_claims` returns: the per-model claims' plus ``config``.
SCALE_CLAIM_COLUMNS = [*CLAIM_COLUMNS, "config"]


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho of ``x`` and ``y`` over the pairs where both are finite (Pearson correlation of
    their average ranks); NaN with fewer than two such pairs or a constant side."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"rank_correlation: shapes {a.shape} and {b.shape} differ")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 2:
        return math.nan
    ra, rb = rankdata(a) - (a.size + 1) / 2, rankdata(b) - (b.size + 1) / 2
    denom = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb / denom) if denom > 0 else math.nan


def _fmt(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.3g}"


def _claim(
    claim: str, paper: str, ours: float | str, unit: str, figure: str, note: str, verdict: str, config: str
) -> dict[str, Any]:
    """A claims row in the per-model table's format (numbers as 3 significant digits)."""
    if isinstance(ours, float):
        ours = _fmt(ours)
    return {"claim": claim, "paper": paper, "ours": ours, "low": "", "high": "", "verdict": verdict,
            "unit": unit, "figure": figure, "note": note, "config": config}  # fmt: skip


def _values(series: pd.DataFrame, measure: str, shot: int, shot_b: int | None = None) -> pd.DataFrame:
    """One value per model of the series (``model, x, value, low, high``, NaN where the model lacks it),
    in the order of :func:`series_models`."""
    d = series[(series["measure"] == measure) & (series["shot"] == shot)]
    if shot_b is not None:
        d = d[pd.to_numeric(d["shot_b"]).astype(float) == shot_b]
    models = pd.DataFrame(series_models(series), columns=["model", "x"])
    got = d[["model", "value", "low", "high"]].astype({"value": float, "low": float, "high": float})
    return models.merge(got, on="model", how="left")


def _listing(axis: str, v: pd.DataFrame, intervals: bool) -> str:
    parts = []
    for r in v.itertuples(index=False):
        iv = f" [{_fmt(r.low)}, {_fmt(r.high)}]" if intervals else ""
        parts.append(f"{r.model} ({format_x(axis, r.x)}): {_fmt(r.value)}{iv}")
    return "; ".join(parts)


def trend_verdict(smallest: tuple[float, float], largest: tuple[float, float]) -> str:
    """``reproduced`` when the largest model's interval lies above the smallest's (its lower bound above
    the other's upper bound), ``not reproduced`` when it lies below, ``undecided`` when they overlap.
    Each argument is ``(low, high)``."""
    (s_low, s_high), (l_low, l_high) = smallest, largest
    if not np.isfinite([s_low, s_high, l_low, l_high]).all():
        raise ValueError(f"trend_verdict: needs finite intervals, got {smallest} and {largest}")
    if l_low > s_high:
        return "reproduced"
    if l_high < s_low:
        return "not reproduced"
    return "undecided"


_PAPER_GROWS = {
    "n_parameters": "grows: larger models are under-trained for in-context learning, so a larger share of "
    "their {parts} can be removed with little loss (the paper's conclusion from OPT-66B)",
    "step": "no published claim (the paper compares model sizes, not checkpoints); its under-training "
    "reading would rather predict fewer removable {parts} as training proceeds",
}


def _growth_claim(
    series: pd.DataFrame, axis: str, measure: str, parts: str, shot: int, figure: str, config: str
) -> dict[str, Any]:
    v = _values(series, measure, shot)
    claim = f"{parts} removable within {MAX_DROP:g} points grows with {AXIS_WORDS[axis]}, {shot}-shot"
    paper = _PAPER_GROWS[axis].format(parts=parts)
    unit = f"rho ({AXIS_WORDS[axis]} vs % of {parts} removable)"
    n = int(np.isfinite(v["value"].to_numpy(float)).sum())
    rho = rank_correlation(v["x"], v["value"])
    if len(v) < 2:
        note = f"fewer than two models on the {AXIS_WORDS[axis]} axis ({len(v)})"
        if len(v):
            note += f"; {_listing(axis, v, True)}"
        return _claim(claim, paper, rho, unit, figure, note, NOT_ASSESSED, config)
    note = f"Spearman over {n} model{'s' if n != 1 else ''}; each model's % [95% interval]: {_listing(axis, v, True)}"
    small, large = v.iloc[0], v.iloc[-1]
    lacking = [str(r.model) for r in (small, large) if not np.isfinite([r["low"], r["high"]]).all()]
    if lacking:
        note = f"no interval for {', '.join(dict.fromkeys(lacking))}; {note}"
        return _claim(claim, paper, rho, unit, figure, note, NOT_ASSESSED, config)
    got = trend_verdict((small["low"], small["high"]), (large["low"], large["high"]))
    note = (
        f"reproduced when the largest model's ({large['model']}) lower bound exceeds the smallest's "
        f"({small['model']}) upper bound; {note}"
    )
    return _claim(claim, paper, rho, unit, figure, note, got, config)


def _trend_row(v: pd.DataFrame, axis: str, claim: str, unit: str, figure: str, config: str) -> dict[str, Any]:
    """A descriptive row (``not assessed``) of the values ``v`` (:func:`_values`) over a series' models."""
    n = int(np.isfinite(v["value"].to_numpy(float)).sum())
    rho = rank_correlation(v["x"], v["value"])
    if len(v) < 2:
        note = f"fewer than two models on the {AXIS_WORDS[axis]} axis ({len(v)})"
    else:
        note = f"descriptive: Spearman of {AXIS_WORDS[axis]} against the value over {n} models"
    if len(v):
        note += f"; {_listing(axis, v, False)}"
    return _claim(claim, "not stated (described, not tested)", rho, unit, figure, note, NOT_ASSESSED, config)


def _shots(table: pd.DataFrame, measure: str) -> list[int]:
    return sorted(int(s) for s in table.loc[table["measure"] == measure, "shot"].unique())


def scale_claims(table: pd.DataFrame, *, axis: str = "n_parameters", config_name: str = "") -> pd.DataFrame:
    """Claims about the trend with scale, in the per-model claims table's columns (plus ``config``).

    For each shot of the table (whichever series has it, so both series list the same claims):

    * "heads removable within 5 points grows with parameter count" (training step for ``axis="step"``)
      and the same for FFNs (``scale_removable``): ``ours`` is Spearman's rho of the axis against the
      models' removable shares; the verdict compares the smallest and the largest model on the axis:
      ``reproduced`` when the largest model's lower 95% bound exceeds the smallest's upper bound, ``not
      reproduced`` when its upper bound lies below the smallest's lower bound, ``undecided`` otherwise,
      ``not assessed`` with fewer than two models or without both intervals. The note lists every
      model's value [low, high].
    * descriptive rows (``not assessed``; ``ours`` the same rho): mean cross-task SRCC and cross-shot SRCC
      (``scale_agreement``), the prefix-matching share of the top-30% heads (``scale_induction``), and
      the share of the top-10% heads in the middle half of the depth (Q2 + Q3, ``scale_depth``).

    Args:
        table: a :func:`scale_table` table (or the same read back from TSV).
        axis: ``"n_parameters"`` (the models without a step) or ``"step"`` (the checkpoints).
        config_name: the ``config`` column's value.

    Returns:
        ``claim, paper, ours, low, high, verdict, unit, figure, note, config`` (``low``/``high`` empty:
        the trend's evidence is the models' intervals, named in the note).

    Raises:
        ValueError: an unknown ``axis``, a table without the scale table's columns, checkpoints of
            several models in the step series.
    """
    series = axis_series(table, axis)
    words = AXIS_WORDS[axis]
    rows = []
    for measure, parts in (("heads_removable", "heads"), ("ffns_removable", "FFNs")):
        for shot in _shots(table, measure):
            rows.append(_growth_claim(series, axis, measure, parts, shot, "scale_removable", config_name))
    for shot in _shots(table, "cross_task_srcc"):
        v = _values(series, "cross_task_srcc", shot)
        claim = f"cross-task SRCC (mean over task pairs) vs {words}, {shot}-shot"
        rows.append(_trend_row(v, axis, claim, "rho", "scale_agreement", config_name))
    pairs = table.loc[table["measure"] == "cross_shot_srcc", ["shot", "shot_b"]].drop_duplicates()
    for a, b in sorted((int(a), int(b)) for a, b in pairs.itertuples(index=False)):
        v = _values(series, "cross_shot_srcc", a, b)
        claim = f"cross-shot SRCC {a}–{b} shot (mean over tasks) vs {words}"
        rows.append(_trend_row(v, axis, claim, "rho", "scale_agreement", config_name))
    for shot in _shots(table, "prefix_matching_top30"):
        v = _values(series, "prefix_matching_top30", shot)
        claim = f"prefix-matching capacity held by the top-30% heads vs {words}, {shot}-shot"
        rows.append(_trend_row(v, axis, claim, "% of capacity", "scale_induction", config_name))
    for shot in sorted(set(_shots(table, "head_depth_q2")) & set(_shots(table, "head_depth_q3"))):
        q2, q3 = (_values(series, f"head_depth_q{q}", shot) for q in (2, 3))
        v = q2.assign(value=q2["value"] + q3["value"])
        claim = f"top-10% aggregate heads in the middle half of the depth (Q2+Q3) vs {words}, {shot}-shot"
        rows.append(_trend_row(v, axis, claim, "share", "scale_depth", config_name))
    return pd.DataFrame(rows, columns=SCALE_CLAIM_COLUMNS)
