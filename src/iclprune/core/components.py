"""Canonical component keys and their one string form.

A head is ``("head", layer, head)`` and an FFN is ``("ffn", layer)``; in every table they are written
``head:<layer>:<head>`` and ``ffn:<layer>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

HeadKey: TypeAlias = tuple[Literal["head"], int, int]
FFNKey: TypeAlias = tuple[Literal["ffn"], int]
Component: TypeAlias = HeadKey | FFNKey

_PATTERN = re.compile(r"^(?:head:(\d+):(\d+)|ffn:(\d+))$")


def component_str(key: Component) -> str:
    """``("head", 3, 5)`` → ``"head:3:5"``; ``("ffn", 3)`` → ``"ffn:3"``."""
    if key[0] == "head":
        return f"head:{key[1]}:{key[2]}"
    if key[0] == "ffn":
        return f"ffn:{key[1]}"
    raise ValueError(f"unknown component kind {key[0]!r}; expected 'head' or 'ffn'")


def parse_component(text: str) -> Component:
    """Inverse of :func:`component_str`; a clear error for anything else."""
    m = _PATTERN.match(text.strip())
    if not m:
        raise ValueError(f"bad component {text!r}; expected 'head:<layer>:<head>' or 'ffn:<layer>'")
    if m.group(3) is not None:
        return ("ffn", int(m.group(3)))
    return ("head", int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True)
class Mask:
    """A set of removed components: heads as ``(layer, head)`` pairs, FFNs as layer indices.

    Validated against a model's shape by :meth:`check`; the empty mask is the full model.
    """

    heads: frozenset[tuple[int, int]] = frozenset()
    ffns: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", frozenset((int(l_), int(h)) for l_, h in self.heads))
        object.__setattr__(self, "ffns", frozenset(int(f) for f in self.ffns))

    @classmethod
    def of(cls, components: Iterable[Component | str]) -> Mask:
        """Build from canonical keys or their string forms, e.g. ``["head:0:1", ("ffn", 2)]``."""
        heads: set[tuple[int, int]] = set()
        ffns: set[int] = set()
        for c in components:
            key = parse_component(c) if isinstance(c, str) else c
            if key[0] == "head" and len(key) == 3:
                heads.add((key[1], key[2]))
            elif key[0] == "ffn" and len(key) == 2:
                ffns.add(key[1])
            else:
                raise ValueError(f"bad component {c!r}; expected ('head', layer, head) or ('ffn', layer)")
        return cls(frozenset(heads), frozenset(ffns))

    def check(self, n_layers: int, n_heads: int) -> None:
        """Raise ValueError naming the first index out of range for a ``(n_layers, n_heads)`` model."""
        for layer, head in sorted(self.heads):
            if not (0 <= layer < n_layers and 0 <= head < n_heads):
                raise ValueError(
                    f"head index out of range: head:{layer}:{head}; expected layer in [0, {n_layers}) "
                    f"and head in [0, {n_heads})"
                )
        for layer in sorted(self.ffns):
            if not 0 <= layer < n_layers:
                raise ValueError(f"FFN index out of range: ffn:{layer}; expected layer in [0, {n_layers})")

    def components(self) -> list[Component]:
        """Sorted canonical keys, heads first."""
        return [("head", l_, h) for l_, h in sorted(self.heads)] + [("ffn", f) for f in sorted(self.ffns)]

    def __len__(self) -> int:
        return len(self.heads) + len(self.ffns)


def head_table(**matrices: Any) -> pd.DataFrame:
    """A long table of per-head values: columns ``layer``, ``head`` (row-major over ``(layers, heads)``)
    and one column per keyword, each a ``(layers, heads)`` array of the same shape, flattened."""
    arrays = {name: np.asarray(m) for name, m in matrices.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"head_table needs (layers, heads) matrices of one shape; got {sorted(shapes)}")
    n_layers, n_heads = shapes.pop()
    layer, head = np.divmod(np.arange(n_layers * n_heads), n_heads)
    return pd.DataFrame({"layer": layer, "head": head, **{k: a.reshape(-1) for k, a in arrays.items()}})
