"""Tiny timing helpers shared by the benchmarks (stdlib only).

On a shared machine the load drifts while a benchmark runs, so the two sides of a comparison are timed
side by side: :func:`side_by_side` runs them in turn (A, B, A, B, ...) and :func:`median_ratio` takes the
median of the per-round ratios, so both sides of every ratio saw about the same load.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping


def median_seconds(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def side_by_side(
    fns: Mapping[str, Callable[[], object]], *, rounds: int = 5, warmup: int = 1
) -> dict[str, list[float]]:
    """Wall times of every function, run in turn once per round (interleaved), after ``warmup`` rounds."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of ``numerator[i] / denominator[i]``."""
    return statistics.median(n / d for n, d in zip(numerator, denominator, strict=True))


def report(name: str, ratio: float, *, what: str = "", **details: float) -> None:
    """Print one ``name: ratio`` line (what `make bench` collects), the median timings behind it and,
    after ``#``, what the ratio means (``bench/run_all.py`` puts it in ``bench/results.tsv``)."""
    extra = ", ".join(f"{k}={v:.4f}s" for k, v in details.items())
    tail = f"  # {what}" if what else ""
    print(f"{name}: {ratio:.3f}x  ({extra}){tail}", flush=True)


def report_ratio(
    name: str, times: dict[str, list[float]], numerator: str, denominator: str, *, what: str = ""
) -> None:
    """:func:`report` of the median per-round ratio ``times[numerator] / times[denominator]``, with both
    median timings."""
    report(
        name,
        median_ratio(times[numerator], times[denominator]),
        what=what,
        **{
            numerator: statistics.median(times[numerator]),
            denominator: statistics.median(times[denominator]),
        },
    )
