"""Input checks and row selection shared by the figure families.

Every failure is a :class:`ValueError` that names the figure and the offending column or selection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


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


def _mean_chance(chance: dict[str, float], tasks: Sequence[str], name: str) -> float | None:
    if not chance:
        return None
    vals = [chance[t] for t in tasks if t in chance]
    if not vals:
        raise ValueError(f"{name}: chance levels given but none for the plotted tasks {list(tasks)}")
    return float(np.mean(vals))
