"""The config's setting blocks as validated, frozen objects, one per block.

``config/schema.yaml`` checks a config's shape when Snakemake loads it; these dataclasses are what the
code then passes around: a rule hands its block to the script as one plain mapping (``to_dict``), the
script rebuilds the object (``from_dict``), and the stage takes it as one parameter. Adding a setting
touches the schema, the dataclass and the code that reads it, nothing in between.

==========================  ==============================================  ===========================
object                      config                                          read by
==========================  ==============================================  ===========================
:class:`EvaluationSettings` ``evaluation`` + ``seed`` + ``metrics[task]``   FFN oracle, sweeps, tables
:class:`ImportanceSettings` ``importance`` + ``seed``                       gradient importance
:class:`PruningSettings`    ``pruning``                                     head and FFN pruning jobs
:class:`InductionSettings`  ``induction``                                   induction scores
==========================  ==============================================  ===========================

Every object validates its values on construction, so a bad value fails with the setting named, whether
it came from a config, the CLI or Python.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

METRICS = ("acc", "acc_norm", "acc_all", "em", "f1")
NORMALIZERS = ("paper", "answer_tokens", "examples", "none")
VARIANTS = ("bansal", "michel")
HEAD_RANKINGS = ("oracle", "iterative")  # head rankings swept beside the gradient one (pruning.rankings)


class SettingsError(ValueError):
    """A setting outside what it accepts (the message names the block, the key and what was expected)."""


def _check_int(block: str, key: str, value: Any, minimum: int, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = f"an integer >= {minimum}" + (" or null" if optional else "")
        raise SettingsError(f"{block}.{key} = {value!r}; expected {wanted}")


def _check_bool(block: str, key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise SettingsError(f"{block}.{key} = {value!r}; expected true or false")


def _check_choice(block: str, key: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise SettingsError(f"{block}.{key} = {value!r}; expected one of {', '.join(choices)}")


def _percents(block: str, key: str, value: Any) -> tuple[float, ...]:
    """``value`` as a tuple of floats, each a percentage in [0, 100]."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise SettingsError(f"{block}.{key} = {value!r}; expected a list of percentages in [0, 100]")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 100:
            raise SettingsError(f"{block}.{key} holds {v!r}; expected percentages in [0, 100]")
        out.append(float(v))
    return tuple(out)


class _Block:
    """Shared conversions of a settings block (a frozen dataclass)."""

    BLOCK: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able data (lists for tuples): a Snakemake ``params`` value."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict`'s mapping (or any subset; the rest take their defaults). An
        unknown key is refused with the known ones listed."""
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(
                f"unknown {cls.BLOCK} setting(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}"
            )
        return cls(**values)

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class EvaluationSettings(_Block):
    """How a model is scored on a task's evaluation documents.

    ``limit``: the first N documents (None = the whole split); ``batch_size``: contexts per batch with
    ``shared_context`` (each scored once, every choice from its KV cache), else requests per batch;
    ``mask_batch``: pruning masks scored in the same forwards; ``resume``/``layers_per_pass``: FFN oracle
    knock-outs from the residual stream entering their layer, so many per clean pass; ``seed``: lm-eval's
    few-shot seed; ``metric``: the metric a job reads (``config.metrics[task]``, default ``acc``).
    """

    BLOCK: ClassVar[str] = "evaluation"

    limit: int | None = None
    batch_size: int = 8
    shared_context: bool = True
    mask_batch: int = 4
    resume: bool = True
    layers_per_pass: int | None = None
    seed: int = 1234
    metric: str = "acc"

    def __post_init__(self) -> None:
        _check_int(self.BLOCK, "limit", self.limit, 1, optional=True)
        _check_int(self.BLOCK, "batch_size", self.batch_size, 1)
        _check_bool(self.BLOCK, "shared_context", self.shared_context)
        _check_int(self.BLOCK, "mask_batch", self.mask_batch, 1)
        _check_bool(self.BLOCK, "resume", self.resume)
        _check_int(self.BLOCK, "layers_per_pass", self.layers_per_pass, 1, optional=True)
        _check_int("config", "seed", self.seed, 0)
        _check_choice("metrics", "<task>", self.metric, METRICS)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], task: str | None = None) -> Self:
        """From a workflow config: its ``evaluation`` block, ``seed``, and ``metrics[task]``."""
        block = dict(config.get("evaluation") or {})
        block.setdefault("seed", config.get("seed", 1234))
        if task is not None:
            block["metric"] = (config.get("metrics") or {}).get(task, "acc")
        return cls.from_dict(block)


@dataclass(frozen=True)
class ImportanceSettings(_Block):
    """Gradient head importance: on the first ``n_docs`` training documents, ``batch_size`` per backward,
    scores normalised by ``normalizer``; ``variant`` is the scoring (``bansal`` or ``michel``) the
    rankings, sweeps and agreement read; ``seed``: lm-eval's few-shot seed."""

    BLOCK: ClassVar[str] = "importance"

    n_docs: int = 2500
    batch_size: int = 8
    normalizer: str = "paper"
    variant: str = "bansal"
    seed: int = 1234

    def __post_init__(self) -> None:
        _check_int(self.BLOCK, "n_docs", self.n_docs, 1)
        _check_int(self.BLOCK, "batch_size", self.batch_size, 1)
        _check_choice(self.BLOCK, "normalizer", self.normalizer, NORMALIZERS)
        _check_choice(self.BLOCK, "variant", self.variant, VARIANTS)
        _check_int("config", "seed", self.seed, 0)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """From a workflow config: its ``importance`` block and ``seed``."""
        block = dict(config.get("importance") or {})
        block.setdefault("seed", config.get("seed", 1234))
        return cls.from_dict(block)


@dataclass(frozen=True)
class PruningSettings(_Block):
    """The pruning grids, as percentages of heads or FFNs removed least-important first: the head and
    FFN sweeps, the combined heads × FFNs grid, and the transfer sweeps (other tasks' rankings).
    ``random_rankings``: seeded random rankings swept beside every head and FFN sweep (the control: what
    removing components regardless of importance costs); 0 = none. ``rankings``: the head rankings swept
    beside the gradient one on every in-distribution task, over the head grid: ``oracle`` (each head knocked
    out alone on the importance documents) and ``iterative`` (gradient importance re-scored every
    ``iterative_step``% of heads removed)."""

    BLOCK: ClassVar[str] = "pruning"

    head_percents: tuple[float, ...] = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90)
    ffn_percents: tuple[float, ...] = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90)
    combined_head_percents: tuple[float, ...] = (0, 10, 20, 30, 40, 50, 60, 70)
    combined_ffn_percents: tuple[float, ...] = (0, 10, 20, 30, 40, 50)
    transfer_percents: tuple[float, ...] = (10, 30, 50, 70, 90)
    random_rankings: int = 3
    rankings: tuple[str, ...] = HEAD_RANKINGS
    iterative_step: float = 10.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name.endswith("_percents"):
                object.__setattr__(self, f.name, _percents(self.BLOCK, f.name, getattr(self, f.name)))
        _check_int(self.BLOCK, "random_rankings", self.random_rankings, 0)
        if isinstance(self.rankings, str | bytes) or not isinstance(self.rankings, Sequence):
            raise SettingsError(
                f"{self.BLOCK}.rankings = {self.rankings!r}; expected a list of {', '.join(HEAD_RANKINGS)}"
            )
        for name in self.rankings:
            _check_choice(self.BLOCK, "rankings", name, HEAD_RANKINGS)
        object.__setattr__(self, "rankings", tuple(dict.fromkeys(self.rankings)))
        step = self.iterative_step
        if isinstance(step, bool) or not isinstance(step, int | float) or not 0 < step <= 100:
            raise SettingsError(
                f"{self.BLOCK}.iterative_step = {step!r}; expected a percentage of heads in (0, 100]"
            )

    @property
    def head_grid(self) -> list[tuple[float, float]]:
        """``(pct_heads, 0)`` points of the head sweep."""
        return [(p, 0.0) for p in self.head_percents]

    @property
    def ffn_grid(self) -> list[tuple[float, float]]:
        """``(0, pct_ffns)`` points of the FFN sweep."""
        return [(0.0, p) for p in self.ffn_percents]

    @property
    def random_head_grid(self) -> list[tuple[float, float]]:
        """``(pct_heads, 0)`` points of a random head ranking: the head sweep's and the transfer sweeps'."""
        return [(p, 0.0) for p in sorted(set(self.head_percents) | set(self.transfer_percents))]

    @property
    def combined_grid(self) -> list[tuple[float, float]]:
        """Every ``(pct_heads, pct_ffns)`` of the combined grid, heads outer."""
        return [(h, f) for h in self.combined_head_percents for f in self.combined_ffn_percents]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """From a workflow config's ``pruning`` block."""
        return cls.from_dict(config.get("pruning") or {})


@dataclass(frozen=True)
class InductionSettings(_Block):
    """Induction scores over random-token sequences with seeds ``0..n_seeds-1``; ``compat_off_by_one``
    reproduces the original code's prefix-matching off-by-one."""

    BLOCK: ClassVar[str] = "induction"

    n_seeds: int = 100
    compat_off_by_one: bool = False

    def __post_init__(self) -> None:
        _check_int(self.BLOCK, "n_seeds", self.n_seeds, 1)
        _check_bool(self.BLOCK, "compat_off_by_one", self.compat_off_by_one)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """From a workflow config's ``induction`` block."""
        return cls.from_dict(config.get("induction") or {})


__all__ = [
    "EvaluationSettings",
    "ImportanceSettings",
    "InductionSettings",
    "PruningSettings",
    "SettingsError",
]
