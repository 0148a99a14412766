"""Tiny timing helpers shared by the benchmarks (stdlib only)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


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


def report(name: str, ratio: float, **details: float) -> None:
    """Print one ``name: ratio`` line (what `make bench` collects) and the timings behind it."""
    extra = ", ".join(f"{k}={v:.4f}s" for k, v in details.items())
    print(f"{name}: {ratio:.3f}x  ({extra})", flush=True)
