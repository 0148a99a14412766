"""The role of scale: one study across many models (sizes) and training checkpoints of one model.

Each model of a study has its own result tables (claims, retained capacity, agreement, aggregate
importance, FFN oracle); :func:`scale_table` gathers one number per (model, measure, shot) from them into
one long table, which :func:`iclprune.reporting.scale_claims.scale_claims` turns into claims about the trend
with scale, in the columns of the per-model claims table (:mod:`iclprune.reporting.claims`).

A study may hold two series, and each function takes the one it works on (``axis``):

* ``"n_parameters"``: the models without a training step (one model per size; x = parameter count);
* ``"step"``: the training checkpoints of one model (the models with a ``step``; x = step).

Bansal et al. (2023) conclude that large language models are under-trained for in-context learning: a
larger model can lose a larger share of its attention heads and FFNs with little loss of in-context
accuracy. The claims test this on the size series from the 95% intervals of each model's removable share
(the paired bootstrap over documents of the per-model claims); the agreement, induction and depth measures
are described (their trend over the models), not tested.

Torch-free: numpy, pandas and scipy only.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from iclprune.core.io import read_json, read_table
from iclprune.reporting.claims import quartile_shares

Axis = Literal["n_parameters", "step"]
AXES: tuple[str, ...] = get_args(Axis)
AXIS_WORDS = {"n_parameters": "parameter count", "step": "training step"}
PathLike = str | os.PathLike[str]

#: Columns of :func:`scale_table`, in order.
TABLE_COLUMNS = ["model", "n_parameters", "step", "measure", "shot", "shot_b", "value", "low", "high"]
#: Every measure of :func:`scale_table` and its unit.
MEASURES: dict[str, str] = {
    "heads_removable": "% of heads",
    "ffns_removable": "% of FFNs",
    "prefix_matching_top30": "% of prefix-matching capacity",
    "copying_top30": "% of copying capacity",
    "cross_task_srcc": "rho",
    "cross_shot_srcc": "rho",
    **{f"head_depth_q{q}": "share of the top-10% heads" for q in range(1, 5)},
    **{f"ffn_depth_q{q}": "points (FFN oracle)" for q in range(1, 5)},
}
#: Share of the heads kept when pruning 70%: the "top-30%" of the induction measures.
TOP_PCT = 30.0
AGGREGATE = "aggregate"
TOP_HEADS = 0.1  # the depth profile counts the top 10% of aggregate heads, as the per-model claims do

_REMOVABLE = {
    "heads": ("fig05", re.compile(r"heads removable with ≤5 points mean drop, (\d+)-shot")),
    "ffns": ("fig06", re.compile(r"FFNs removable with ≤5 points mean drop, (\d+)-shot")),
}
_CLAIMS_COLUMNS = ["claim", "ours", "low", "high", "figure"]
_RETAINED_COLUMNS = ["shot", "ranking_task", "score_kind", "pct_pruned", "pct_retained"]
_CROSS_TASK_COLUMNS = ["method", "shot", "task_a", "task_b", "srcc"]
_CROSS_SHOT_COLUMNS = ["method", "shot_a", "shot_b", "mean"]
_AGGREGATE_COLUMNS = ["shot", "variant", "layer", "head", "score"]
_FFN_COLUMNS = ["task", "shot", "layer", "score"]
_PATH_FIELDS = ("claims", "retained", "cross_task", "cross_shot", "aggregate", "ffn_oracle")


def _index(value: Any, what: str) -> int:
    """``value`` as a Python int (numpy integers too); ValueError naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def _paths(value: Any, what: str) -> tuple[Path, ...]:
    if isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{what} must be a sequence of paths, got the single path {str(value)!r}")
    try:
        return tuple(Path(p) for p in value)
    except TypeError as err:
        raise ValueError(f"{what} must be a sequence of paths, got {value!r}") from err


@dataclass(frozen=True)
class ModelResults:
    """One model's result tables, as the scale analysis reads them.

    Attributes:
        label: the model's label in the study (``results/models/<label>/``), unique in a study.
        n_parameters: its parameter count (from ``card.json``).
        step: the training step of a checkpoint; ``None`` for a finished model of the size series.
        claims: its ``claims.tsv`` (the heads/FFNs removable rows with their 95% intervals).
        retained: ``induction/<label>/<shot>shot/retained.tsv``, one per shot.
        cross_task: ``agreement/<label>/<shot>shot/cross_task.tsv``, one per shot.
        cross_shot: ``agreement/<label>/cross_shot.summary.tsv`` (None: no cross-shot rows).
        aggregate: ``rankings/<label>/aggregate/<shot>shot/heads.parquet``, one per shot.
        ffn_oracle: ``ffn_oracle/<label>/<task>/<shot>shot/ffns.parquet``, one per (task, shot).

    An empty sequence leaves that measure out of the model's rows; a named file that does not exist is
    an error when :func:`scale_table` reads it.
    """

    label: str
    n_parameters: int
    step: int | None
    claims: Path
    retained: Sequence[Path] = ()
    cross_task: Sequence[Path] = ()
    cross_shot: Path | None = None
    aggregate: Sequence[Path] = ()
    ffn_oracle: Sequence[Path] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValueError(f"a model label must be a non-empty string, got {self.label!r}")
        n = _index(self.n_parameters, f"model {self.label!r}: n_parameters")
        if n <= 0:
            raise ValueError(f"model {self.label!r}: n_parameters must be positive, got {n}")
        step = None if self.step is None else _index(self.step, f"model {self.label!r}: step")
        if step is not None and step < 0:
            raise ValueError(f"model {self.label!r}: step must be ≥ 0 or None, got {step}")
        if not isinstance(self.claims, (str, os.PathLike)):
            raise ValueError(f"model {self.label!r}: claims must be a path, got {self.claims!r}")
        if self.cross_shot is not None and not isinstance(self.cross_shot, (str, os.PathLike)):
            raise ValueError(
                f"model {self.label!r}: cross_shot must be a path or None, got {self.cross_shot!r}"
            )
        fixed = {
            "n_parameters": n,
            "step": step,
            "claims": Path(self.claims),
            "cross_shot": None if self.cross_shot is None else Path(self.cross_shot),
            **{
                name: _paths(getattr(self, name), f"model {self.label!r}: {name}")
                for name in ("retained", "cross_task", "aggregate", "ffn_oracle")
            },
        }
        for name, value in fixed.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_card(
        cls,
        card: PathLike,
        label: str,
        step: int | None = None,
        **paths: PathLike | Sequence[PathLike] | None,
    ) -> ModelResults:
        """The results of model ``label`` with its parameter count read from its ``card.json``.

        Args:
            card: ``results/models/<label>/card.json`` (``n_parameters``, ``n_layers``, ...).
            label: the model's label in the study.
            step: the checkpoint's training step (None: a finished model).
            paths: ``claims`` (required), ``retained``, ``cross_task``, ``cross_shot``, ``aggregate``,
                ``ffn_oracle``, as in the class.

        Raises:
            ValueError: the card is missing, corrupted or lacks a positive integer ``n_parameters``; an
                unknown or missing path argument.
        """
        unknown = sorted(set(paths) - set(_PATH_FIELDS))
        if unknown:
            raise ValueError(
                f"model {label!r}: unknown path argument(s) {unknown}; expected {list(_PATH_FIELDS)}"
            )
        if "claims" not in paths:
            raise ValueError(f"model {label!r}: no claims path; expected claims=<results>/claims.tsv")
        info = read_json(card)
        if not isinstance(info, Mapping) or "n_parameters" not in info:
            raise ValueError(
                f"model {label!r}: card {card} has no n_parameters; expected the model card JSON"
            )
        return cls(label=label, n_parameters=info["n_parameters"], step=step, **paths)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# reading one model's tables
# --------------------------------------------------------------------------------------------------


def _read(model: str, path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        df = read_table(path, columns)
    except ValueError as err:
        raise ValueError(f"model {model!r}: {err}") from err
    if df.empty:
        raise ValueError(f"model {model!r}: table {path} has no rows")
    return df


def _read_all(model: str, paths: Sequence[Path], columns: list[str]) -> pd.DataFrame:
    return pd.concat([_read(model, p, columns).assign(_file=str(p)) for p in paths], ignore_index=True)


def _number(value: Any, what: str) -> float:
    """A claims cell as a float: empty → NaN; text that is no number → ValueError naming ``what``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if isinstance(value, str) and not value.strip():
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what}: {value!r} is not a number") from err


def removable_rows(
    claims: pd.DataFrame,
    kind: Literal["heads", "ffns"],
    shots: Sequence[int] | None = None,
    *,
    source: str = "claims table",
) -> pd.DataFrame:
    """The "removable within 5 points" rows of a per-model claims table.

    Args:
        claims: a ``claims.tsv`` table (``claim, ours, low, high, figure``, ...).
        kind: ``"heads"`` (the fig05 rows ``heads removable with ≤5 points mean drop, <k>-shot``) or
            ``"ffns"`` (the fig06 rows ``FFNs removable with ≤5 points mean drop, <k>-shot``).
        shots: the shots that must have a row (default: those present, at least one).
        source: how errors name the table (its file and model).

    Returns:
        ``shot, value, low, high`` (one row per shot, sorted; percent; NaN where a cell is empty, e.g.
        ``low``/``high`` without an interval).

    Raises:
        ValueError: an unknown ``kind``, missing columns, no row (or a duplicate row) for a shot, a cell
            that is no number.
    """
    if kind not in _REMOVABLE:
        raise ValueError(f"unknown removable kind {kind!r}; expected one of {list(_REMOVABLE)}")
    missing = [c for c in _CLAIMS_COLUMNS if c not in claims.columns]
    if missing:
        raise ValueError(f"{source}: lacks columns {missing}; expected the columns of results/claims.tsv")
    figure, pattern = _REMOVABLE[kind]
    found: dict[int, pd.Series] = {}
    for _, r in claims[claims["figure"].astype(str).str.strip() == figure].iterrows():
        hit = pattern.fullmatch(str(r["claim"]).strip())
        if hit is None:
            continue
        shot = int(hit.group(1))
        if shot in found:
            raise ValueError(f"{source}: two rows {r['claim']!r}; expected one per shot")
        found[shot] = r
    text = pattern.pattern.replace(r"(\d+)", "<k>")
    wanted = sorted(found) if shots is None else sorted(int(s) for s in shots)
    if not wanted:
        raise ValueError(f"{source}: no {figure} row {text!r}; expected one per sweep shot")
    absent = [s for s in wanted if s not in found]
    if absent:
        raise ValueError(
            f"{source}: no {figure} row {text.replace('<k>', str(absent[0]))!r} "
            f"(missing shots {absent}; rows present for shots {sorted(found)})"
        )
    rows = []
    for shot in wanted:
        r = found[shot]
        where = f"{source}, {r['claim']!r}"
        rows.append({
            "shot": shot, "value": _number(r["ours"], f"{where}, ours"),
            "low": _number(r["low"], f"{where}, low"), "high": _number(r["high"], f"{where}, high"),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["shot", "value", "low", "high"])


def top30_share(retained: pd.DataFrame, *, source: str = "retained table") -> pd.DataFrame:
    """Share (%) of each capacity held by the top-30% aggregate heads, per shot and score kind.

    That share is the capacity retained after pruning the 70% least important heads: ``pct_retained``
    at ``pct_pruned = 70``, interpolated linearly in ``pct_pruned`` (the aggregate ranking's rows).

    Args:
        retained: ``shot, ranking_task, score_kind, pct_pruned, pct_retained`` (``retained.tsv``).
        source: how errors name the table.

    Returns:
        ``shot, score_kind, value`` (sorted).

    Raises:
        ValueError: no aggregate rows, duplicate points, a curve that does not span 70% pruned.
    """
    missing = [c for c in _RETAINED_COLUMNS if c not in retained.columns]
    if missing:
        raise ValueError(f"{source}: lacks columns {missing}; expected {_RETAINED_COLUMNS}")
    agg = retained[retained["ranking_task"] == AGGREGATE]
    if agg.empty:
        raise ValueError(f"{source}: no rows with ranking_task == {AGGREGATE!r}")
    key = ["shot", "score_kind", "pct_pruned"]
    dup = agg.duplicated(key)
    if dup.any():
        first = agg[dup].iloc[0]
        raise ValueError(
            f"{source}: duplicate aggregate point shot {first['shot']}, {first['score_kind']}, "
            f"pct_pruned {first['pct_pruned']}; expected one row per point (one file per shot)"
        )
    at = 100.0 - TOP_PCT
    rows = []
    for (shot, kind), df in agg.groupby(["shot", "score_kind"], sort=True):
        df = df.sort_values("pct_pruned")
        x, y = df["pct_pruned"].to_numpy(float), df["pct_retained"].to_numpy(float)
        if not x[0] <= at <= x[-1]:
            raise ValueError(
                f"{source}: {kind} curve at {shot}-shot spans pct_pruned {x[0]:g}–{x[-1]:g}; "
                f"expected it to include {at:g}"
            )
        rows.append({"shot": int(shot), "score_kind": str(kind), "value": float(np.interp(at, x, y))})
    return pd.DataFrame(rows, columns=["shot", "score_kind", "value"])


def mean_cross_task(cross_task: pd.DataFrame, *, source: str = "cross-task table") -> pd.DataFrame:
    """Mean Spearman SRCC over the distinct task pairs (no diagonal, no aggregate), per shot.

    Args:
        cross_task: ``method, shot, task_a, task_b, srcc`` (``cross_task.tsv``; both orders of a pair
            and the diagonal may be present: each unordered pair counts once).
        source: how errors name the table.

    Returns:
        ``shot, value, n_pairs`` (sorted).

    Raises:
        ValueError: a shot without an off-diagonal Spearman pair (fewer than two tasks), or a pair whose
            two orders disagree.
    """
    missing = [c for c in _CROSS_TASK_COLUMNS if c not in cross_task.columns]
    if missing:
        raise ValueError(f"{source}: lacks columns {missing}; expected {_CROSS_TASK_COLUMNS}")
    df = cross_task[cross_task["method"] == "spearman"]
    if df.empty:
        raise ValueError(f"{source}: no rows with method == 'spearman'")
    rows = []
    for shot, d in df.groupby("shot", sort=True):
        a, b = d["task_a"].astype(str), d["task_b"].astype(str)
        d = d[(a != b) & (a != AGGREGATE) & (b != AGGREGATE)]
        if d.empty:
            raise ValueError(
                f"{source}: no off-diagonal task pair at {shot}-shot; expected at least two tasks"
            )
        pair = [tuple(sorted(p)) for p in zip(d["task_a"].astype(str), d["task_b"].astype(str), strict=True)]
        per = d.assign(pair=pair).groupby("pair")["srcc"].agg(["min", "max"])
        bad = per[~np.isclose(per["min"], per["max"], rtol=0, atol=1e-9)]
        if not bad.empty:
            raise ValueError(f"{source}: pair {bad.index[0]} at {shot}-shot has two different srcc values")
        rows.append({"shot": int(shot), "value": float(per["min"].mean()), "n_pairs": len(per)})
    return pd.DataFrame(rows, columns=["shot", "value", "n_pairs"])


def head_depth_shares(aggregate: pd.DataFrame, variant: str = "bansal", *, source: str = "") -> pd.DataFrame:
    """Share of the top-10% aggregate heads in each depth quartile, per shot
    (:func:`~iclprune.reporting.claims.quartile_shares` of the ``(layers, heads)`` matrix).

    Args:
        aggregate: ``shot, variant, layer, head, score`` (``rankings/<m>/aggregate/<k>shot/heads.parquet``).
        variant: the importance variant (``bansal`` or ``michel``).
        source: how errors name the table.

    Returns:
        ``shot, quartile, value`` (quartile 1..4, value a share in [0, 1]).

    Raises:
        ValueError: no rows of ``variant``, duplicate (shot, layer, head) rows.
    """
    source = source or "aggregate table"
    missing = [c for c in _AGGREGATE_COLUMNS if c not in aggregate.columns]
    if missing:
        raise ValueError(f"{source}: lacks columns {missing}; expected {_AGGREGATE_COLUMNS}")
    df = aggregate[aggregate["variant"] == variant]
    if df.empty:
        have = sorted(map(str, aggregate["variant"].unique()))
        raise ValueError(f"{source}: no rows of variant {variant!r}; has variants {have}")
    if df.duplicated(["shot", "layer", "head"]).any():
        raise ValueError(f"{source}: duplicate (shot, layer, head) rows; expected one table per shot")
    rows = []
    for shot, d in df.groupby("shot", sort=True):
        m = d.pivot(index="layer", columns="head", values="score").sort_index()
        if m.isna().to_numpy().any():
            raise ValueError(f"{source}: {shot}-shot lacks some (layer, head) scores; expected a full grid")
        for q, share in enumerate(quartile_shares(m.to_numpy(float), TOP_HEADS), start=1):
            rows.append({"shot": int(shot), "quartile": q, "value": share})
    return pd.DataFrame(rows, columns=["shot", "quartile", "value"])


def ffn_depth_means(ffn_oracle: pd.DataFrame, *, source: str = "FFN oracle tables") -> pd.DataFrame:
    """Mean FFN oracle score per depth quartile, per shot: each layer's score averaged over tasks, then
    over the layers of a quartile (layer ``l`` of ``n`` in quartile ``min(4 l // n, 3) + 1``, as the
    per-model claims do). A quartile without layers (fewer than 4 layers) is NaN.

    Args:
        ffn_oracle: ``task, shot, layer, score`` (the ``ffns.parquet`` of every task, concatenated).
        source: how errors name the tables.

    Returns:
        ``shot, quartile, value`` (points of accuracy lost when the FFN is knocked out).

    Raises:
        ValueError: duplicate (task, shot, layer) rows, or tasks of a shot with different layers.
    """
    missing = [c for c in _FFN_COLUMNS if c not in ffn_oracle.columns]
    if missing:
        raise ValueError(f"{source}: lack columns {missing}; expected {_FFN_COLUMNS}")
    if ffn_oracle.duplicated(["task", "shot", "layer"]).any():
        first = ffn_oracle[ffn_oracle.duplicated(["task", "shot", "layer"])].iloc[0]
        raise ValueError(f"{source}: duplicate rows for task {first['task']!r} at {first['shot']}-shot")
    rows = []
    for shot, d in ffn_oracle.groupby("shot", sort=True):
        grid = d.pivot(index="layer", columns="task", values="score").sort_index()
        if grid.isna().to_numpy().any():
            raise ValueError(f"{source}: at {shot}-shot the tasks do not share their layers")
        per_layer = grid.mean(axis=1)
        layers = per_layer.index.to_numpy()
        quartile = np.minimum(4 * layers // len(layers), 3)
        for q in range(4):
            vals = per_layer.to_numpy(float)[quartile == q]
            rows.append(
                {"shot": int(shot), "quartile": q + 1, "value": float(vals.mean()) if vals.size else np.nan}
            )
    return pd.DataFrame(rows, columns=["shot", "quartile", "value"])


def _model_rows(m: ModelResults, variant: str) -> list[dict[str, Any]]:
    """One model's rows of :func:`scale_table` (without the model columns)."""
    rows: list[dict[str, Any]] = []

    def add(
        measure: str, shot: int, value: float, low: float = np.nan, high: float = np.nan, **kw: Any
    ) -> None:
        rows.append({"measure": measure, "shot": int(shot), "value": value, "low": low, "high": high, **kw})

    claims = _read(m.label, m.claims, _CLAIMS_COLUMNS)
    src = f"model {m.label!r}: claims table {m.claims}"
    # heads and FFNs are swept at the same shots (one config value): a row missing at one is named
    shots = sorted(
        set(removable_rows(claims, "heads", source=src)["shot"])
        | set(removable_rows(claims, "ffns", source=src)["shot"])
    )
    heads, ffns = (removable_rows(claims, kind, shots, source=src) for kind in ("heads", "ffns"))
    for measure, df in (("heads_removable", heads), ("ffns_removable", ffns)):
        for r in df.itertuples(index=False):
            add(measure, r.shot, r.value, r.low, r.high)
    if m.retained:
        src = f"model {m.label!r}: retained tables {', '.join(map(str, m.retained))}"
        top = top30_share(_read_all(m.label, m.retained, _RETAINED_COLUMNS), source=src)
        for shot, d in top.groupby("shot", sort=True):
            kinds = dict(zip(d["score_kind"], d["value"], strict=True))
            absent = [k for k in ("prefix_matching", "copying") if k not in kinds]
            if absent:
                raise ValueError(f"{src}: no aggregate {absent[0]} rows at {shot}-shot")
            for kind in ("prefix_matching", "copying"):
                add(f"{kind}_top30", shot, kinds[kind])
    for path in m.cross_task:
        means = mean_cross_task(
            _read(m.label, path, _CROSS_TASK_COLUMNS), source=f"model {m.label!r}: {path}"
        )
        for r in means.itertuples(index=False):
            add("cross_task_srcc", r.shot, r.value)
    if m.cross_shot is not None:
        df = _read(m.label, m.cross_shot, _CROSS_SHOT_COLUMNS)
        df = df[df["method"] == "spearman"]
        if df.empty:
            raise ValueError(f"model {m.label!r}: {m.cross_shot} has no rows with method == 'spearman'")
        for r in df.itertuples(index=False):
            add("cross_shot_srcc", r.shot_a, float(r.mean), shot_b=int(r.shot_b))
    if m.aggregate:
        df = _read_all(m.label, m.aggregate, _AGGREGATE_COLUMNS)
        src = f"model {m.label!r}: aggregate tables {', '.join(map(str, m.aggregate))}"
        for r in head_depth_shares(df, variant, source=src).itertuples(index=False):
            add(f"head_depth_q{r.quartile}", r.shot, r.value)
    if m.ffn_oracle:
        df = _read_all(m.label, m.ffn_oracle, _FFN_COLUMNS)
        src = f"model {m.label!r}: FFN oracle tables ({len(m.ffn_oracle)} files)"
        for r in ffn_depth_means(df, source=src).itertuples(index=False):
            add(f"ffn_depth_q{r.quartile}", r.shot, r.value)
    keys = [(r["measure"], r["shot"], r.get("shot_b")) for r in rows]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(
            f"model {m.label!r}: two {dup[0]} values at {dup[1]}-shot; expected one file per shot"
        )
    return rows


def scale_table(models: Sequence[ModelResults], variant: str = "bansal") -> pd.DataFrame:
    """One long table of every model's scale measures.

    Args:
        models: the study's models (sizes and checkpoints; one is enough), unique labels.
        variant: the head-importance variant of the aggregate rankings (the depth profile).

    Returns:
        ``model, n_parameters, step, measure, shot, shot_b, value, low, high``: one row per (model,
        measure, shot[, shot_b]), sorted by model (parameter count, then step: a checkpoint after its
        finished model is not implied) and measure (:data:`MEASURES`, whose units they carry).
        ``step`` and ``shot_b`` are nullable integers (``<NA>`` for a finished model; except for
        ``cross_shot_srcc``), ``low``/``high`` the 95% interval (NaN where none: all but the removable
        measures, and removable rows the claims give without one).

    Raises:
        ValueError: no models, a duplicate label, a missing or unreadable file, a missing claims row or
            table row (named with the model and the file).
    """
    if not models:
        raise ValueError("scale_table: no models; expected at least one ModelResults")
    bad = [m for m in models if not isinstance(m, ModelResults)]
    if bad:
        raise ValueError(f"scale_table: expected ModelResults, got {type(bad[0]).__name__}")
    labels = [m.label for m in models]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f"scale_table: duplicate model label(s) {dup}; each model needs its own label")
    rows = []
    for m in models:
        for r in _model_rows(m, variant):
            rows.append({"model": m.label, "n_parameters": m.n_parameters, "step": m.step, **r})
    table = pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS)
    table = table.astype({
        "model": str, "n_parameters": "int64", "step": "Int64", "measure": str, "shot": "int64",
        "shot_b": "Int64", "value": float, "low": float, "high": float,
    })  # fmt: skip
    order = {name: i for i, name in enumerate(MEASURES)}
    table = table.assign(_m=table["measure"].map(order)).sort_values(
        ["n_parameters", "step", "model", "_m", "shot", "shot_b"], na_position="first", kind="stable"
    )
    return table.drop(columns="_m").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# series and claims
# --------------------------------------------------------------------------------------------------


def check_axis(axis: str) -> Axis:
    """``axis`` if it is ``"n_parameters"`` or ``"step"``; ValueError naming it otherwise."""
    if axis not in AXES:
        raise ValueError(f"unknown scale axis {axis!r}; expected one of {list(AXES)}")
    return axis  # type: ignore[return-value]


def axis_series(table: pd.DataFrame, axis: str) -> pd.DataFrame:
    """The rows of one series of a :func:`scale_table` table, with its x in a column ``x`` (float).

    ``"n_parameters"``: the models without a step (x = parameter count); ``"step"``: the checkpoints
    (x = step), which must be of one model (one parameter count). ``step`` may be nullable or float
    (NaN), as a table read back from TSV has it.

    Raises:
        ValueError: an unknown ``axis``, missing columns, checkpoints of several parameter counts.
    """
    check_axis(axis)
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"scale table lacks columns {missing}; expected {TABLE_COLUMNS}")
    step = pd.to_numeric(table["step"], errors="raise").astype(float)
    if axis == "n_parameters":
        out = table[step.isna().to_numpy()]
        x = out["n_parameters"].astype(float)
    else:
        out = table[step.notna().to_numpy()]
        sizes = sorted(set(out["n_parameters"].astype(int)))
        if len(sizes) > 1:
            by = out.groupby("n_parameters")["model"].unique()
            raise ValueError(
                "the step series must hold the checkpoints of one model; got checkpoints of "
                + "; ".join(f"{n} parameters ({', '.join(map(str, v))})" for n, v in by.items())
            )
        x = step[step.notna()].astype(float)
    return out.assign(x=x.to_numpy()).reset_index(drop=True)


def series_models(series: pd.DataFrame) -> list[tuple[str, float]]:
    """``(model, x)`` of a series' models, sorted by x (then label)."""
    pairs = series[["model", "x"]].drop_duplicates()
    bad = pairs[pairs.duplicated("model", keep=False)]
    if not bad.empty:
        raise ValueError(f"model {bad['model'].iloc[0]!r} has several x values in the scale table")
    return sorted(((str(m), float(x)) for m, x in pairs.itertuples(index=False)), key=lambda p: (p[1], p[0]))


def format_x(axis: str, x: float) -> str:
    """An axis value in words: ``135M``, ``1.4B`` parameters; ``step 1000``."""
    if check_axis(axis) == "step":
        return f"step {int(x)}"
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if x >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{int(x)}"
