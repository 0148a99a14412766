"""Timing helpers shared by the benchmarks (stdlib only).

On a shared machine the load drifts while a benchmark runs, so the two sides of a comparison are timed
side by side: :func:`side_by_side` runs them in turn (A, B, A, B, ...). A ratio is reported as the ratio
of the two sides' median times, with the range of the per-round ratios (round i: A's time / B's time,
both seen under about the same load) and the number of rounds: :class:`Ratio`.

Where a speed-up has an analytic bound (the work one side does that the other skips), the bench passes it
to :func:`report_ratio`, which prints it beside the measurement and fails (:class:`BoundExceededError`) when
the whole per-round range lies above it: then the two sides computed something different, or the
measurement was disturbed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


class BoundExceededError(AssertionError):
    """A measured speed-up whose every round lies above the analytic bound of the method."""


@dataclass(frozen=True)
class Ratio:
    """A side-by-side speed-up: ``value`` = median(numerator) / median(denominator); ``low``, ``high`` =
    the smallest and largest per-round ratio over ``rounds`` rounds."""

    value: float
    low: float
    high: float
    rounds: int

    @classmethod
    def of(cls, numerator: list[float], denominator: list[float]) -> Ratio:
        """The ratio of two sides' per-round times (same number of rounds, interleaved)."""
        per_round = [n / d for n, d in zip(numerator, denominator, strict=True)]
        if not per_round:
            raise ValueError("no rounds to take a ratio of; expected at least one")
        value = statistics.median(numerator) / statistics.median(denominator)
        return cls(value, min(per_round), max(per_round), len(per_round))


def check_bound(ratio: Ratio, bound: float | None) -> str | None:
    """None when ``ratio`` is compatible with ``bound`` (no bound, or some round at or below it); else
    why not. Only a range lying wholly above the bound fails: one round above it is noise."""
    if bound is None or ratio.low <= bound:
        return None
    return (
        f"every round's ratio ({ratio.low:.3f}–{ratio.high:.3f} over {ratio.rounds} rounds) lies above the "
        f"method's bound {bound:.3f}: the two sides did different work, or the machine was disturbed"
    )


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


def format_line(
    name: str, ratio: Ratio, *, bound: float | None = None, what: str = "", **details: float
) -> str:
    """The ``name: value`` line `make bench` collects (``bench/run_all.py``):
    ``name: 1.234x [1.100, 1.300] n=5 bound=1.636 (a=0.1000s, b=0.0810s)  # what``."""
    extra = ", ".join(f"{k}={v:.4f}s" for k, v in details.items())
    limit = f" bound={bound:.3f}" if bound is not None else ""
    tail = f"  # {what}" if what else ""
    return f"{name}: {ratio.value:.3f}x [{ratio.low:.3f}, {ratio.high:.3f}] n={ratio.rounds}{limit}  ({extra}){tail}"


def report(name: str, ratio: Ratio, *, bound: float | None = None, what: str = "", **details: float) -> None:
    """Print :func:`format_line`; then raise :class:`BoundExceededError` if the ratio lies above ``bound``."""
    print(format_line(name, ratio, bound=bound, what=what, **details), flush=True)
    problem = check_bound(ratio, bound)
    if problem:
        raise BoundExceededError(f"{name}: {problem}")


def report_ratio(
    name: str,
    times: dict[str, list[float]],
    numerator: str,
    denominator: str,
    *,
    bound: float | None = None,
    what: str = "",
) -> Ratio:
    """:func:`report` of ``times[numerator] / times[denominator]`` with both median timings; returns it."""
    ratio = Ratio.of(times[numerator], times[denominator])
    report(
        name,
        ratio,
        bound=bound,
        what=what,
        **{
            numerator: statistics.median(times[numerator]),
            denominator: statistics.median(times[denominator]),
        },
    )
    return ratio
