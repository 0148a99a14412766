"""Gradient-based head importance from ONE forward + backward per batch (method.md, "Head importance").

For each layer, let ``A`` be the attention output projection's input, shape ``(batch, T, heads, d_head)``,
and ``g = dL/dA``. The per-token, per-head attribution is ``dot[b, t, h] = Σ_d A·g``. A forward pre-hook
multiplies ``A`` by a fresh all-ones gate of shape ``(batch, T, heads)`` that requires grad; autograd's
gradient with respect to that gate is exactly ``dot``, with no parameter gradient ever built (every
parameter is frozen while scoring).

* ``bansal`` (default; the published figures): ``Σ_b Σ_t |dot|`` divided by the positions that receive
  gradient — ``Σ_i (N_i − 1)`` for layers ``0..L−2`` and the number of answer tokens for the last layer
  (``normalizer="paper"``; other normalisers behind the flag).
* ``michel`` (Michel et al. 2019): ``|Σ_b Σ_t dot| / #examples`` = ``|dL/dξ_h|`` for a head gate ``ξ_h = 1``.

Each example's share is kept too (``doc_abs``: ``Σ_t |dot|``, ``doc_signed``: ``Σ_t dot``, per head, and its
counts), so the scores can be re-aggregated on any resample of the documents
(:mod:`iclprune.analysis.importance_bootstrap`, the one formula both use: :func:`normalise`).

The loss of a batch is the sum over its examples of each example's mean NLL of its continuation tokens,
so batching and padding never change a score (padded positions are masked out of every sum).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from iclprune.analysis.importance_bootstrap import DocScores, normalise
from iclprune.core.components import head_table
from iclprune.evaluate.batching import Example, PaddingSide, batch_loss, collate, model_max_length, truncate
from iclprune.model.sites import Sites, resolve

log = logging.getLogger(__name__)

Variant = Literal["bansal", "michel"]
VARIANTS: tuple[Variant, ...] = ("bansal", "michel")
Normalizer = Literal["paper", "answer_tokens", "examples", "none"]


@dataclass
class HeadImportance:
    """Scores of every head, ``(layers, heads)`` per variant, plus the counts behind the normalisers; with
    the per-example sums ``doc_abs``/``doc_signed`` ``(n_examples, layers, heads)`` and counts
    ``doc_n_positions`` (``N_i − 1``)/``doc_n_answer_tokens``, in the order of the examples given."""

    bansal: np.ndarray
    michel: np.ndarray
    n_examples: int
    n_positions: int  # Σ_i (N_i − 1): positions that receive gradient below the last layer
    n_answer_tokens: int
    normalizer: Normalizer
    meta: dict[str, Any] = field(default_factory=dict)
    doc_abs: np.ndarray | None = field(default=None, repr=False)
    doc_signed: np.ndarray | None = field(default=None, repr=False)
    doc_n_positions: np.ndarray | None = field(default=None, repr=False)
    doc_n_answer_tokens: np.ndarray | None = field(default=None, repr=False)

    def scores(self, variant: Variant) -> np.ndarray:
        """The ``(layers, heads)`` matrix of one variant."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown importance variant {variant!r}; expected one of {list(VARIANTS)}")
        return getattr(self, variant)

    def to_frame(self) -> pd.DataFrame:
        """Long table with columns ``variant, layer, head, score`` (one row per head and variant)."""
        frames = []
        for variant in VARIANTS:
            m = self.scores(variant)
            frames.append(head_table(score=m).assign(variant=variant)[["variant", "layer", "head", "score"]])
        return pd.concat(frames, ignore_index=True)

    def doc_scores(self, doc_ids: Sequence[int] | None = None) -> DocScores:
        """The per-example sums as :class:`DocScores` (``doc_ids``: one per example; default 0..n−1), whose
        ``scores(variant, index)`` re-aggregates them on a resample of the examples."""
        if self.doc_abs is None or self.doc_signed is None:
            raise ValueError("this HeadImportance has no per-example sums")
        return DocScores(
            self.doc_abs, self.doc_signed, self.doc_n_positions, self.doc_n_answer_tokens,
            normalizer=self.normalizer, doc_ids=None if doc_ids is None else np.asarray(doc_ids),
        )  # fmt: skip

    def to_docs_frame(self, doc_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """Long per-example table ``doc_id, layer, head, abs_sum, signed_sum, n_positions,
        n_answer_tokens, normalizer`` (``doc_id``: ``doc_ids``, e.g. lm-eval's, else the example index)."""
        return self.doc_scores(doc_ids).to_frame()


@contextmanager
def frozen(model: nn.Module) -> Iterator[None]:
    """Eval mode and ``requires_grad=False`` on every parameter; both restored on exit."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    was_training = model.training
    try:
        for p, _ in flags:
            p.requires_grad_(False)
        model.eval()
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        model.train(was_training)


@contextmanager
def token_head_gates(model: nn.Module, sites: Sites) -> Iterator[list[torch.Tensor | None]]:
    """Install per-(batch, position, head) all-ones gates on every layer's out-projection input.

    Yields a list (one slot per layer) that each forward fills with that layer's gate, shape
    ``(batch, T, heads)``, requiring grad. Hooks are removed on exit.
    """
    gates: list[torch.Tensor | None] = [None] * sites.n_layers
    H, d = sites.n_heads, sites.d_head

    def make(index: int):
        def hook(module: nn.Module, args: tuple) -> tuple:
            x = args[0]
            B, T, _ = x.shape
            gate = torch.ones(B, T, H, dtype=x.dtype, device=x.device, requires_grad=True)
            gates[index] = gate
            return ((x.reshape(B, T, H, d) * gate.unsqueeze(-1)).reshape(B, T, H * d), *args[1:])

        return hook

    handles = [ls.o.register_forward_pre_hook(make(ls.index)) for ls in sites.layers]
    try:
        yield gates
    finally:
        for handle in handles:
            handle.remove()


def head_importance(
    model: nn.Module,
    examples: Sequence[Example],
    *,
    batch_size: int = 8,
    padding_side: PaddingSide = "right",
    normalizer: Normalizer = "paper",
    max_length: int | None = None,
    pad_token_id: int = 0,
    progress: bool = False,
    label: str = "",
) -> HeadImportance:
    """Score every head of ``model`` on ``examples`` with one forward + backward per batch.

    Args:
        model: a causal LM with a site map (OPT, Llama with GQA, GPT-NeoX, ...).
        examples: (context, continuation) token-id pairs; contexts longer than the model's window lose
            tokens from the left (as lm-eval truncates).
        batch_size: examples per forward pass; results do not depend on it.
        padding_side: where padding goes; results do not depend on it.
        normalizer: ``bansal``'s denominator — ``paper`` (``Σ(N_i−1)`` below the last layer, answer tokens
            for the last), ``answer_tokens``, ``examples`` or ``none`` (raw sums).
        max_length: the context window (default: the model's ``max_position_embeddings``).
        label: what is being scored (e.g. ``"task 'icl_copa', 5-shot"``), named in a NaN/Inf error.

    Returns:
        :class:`HeadImportance` with ``(layers, heads)`` float64 matrices for ``bansal`` and ``michel``, and
        the per-example sums behind them (``doc_abs``, ``doc_signed``: ``(n_examples, layers, heads)``).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}; expected a positive integer")
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side={padding_side!r}; expected 'right' or 'left'")
    if normalizer not in ("paper", "answer_tokens", "examples", "none"):
        raise ValueError(
            f"normalizer={normalizer!r}; expected 'paper', 'answer_tokens', 'examples' or 'none'"
        )
    if not examples:
        raise ValueError("no examples to score; expected at least one (context, continuation) pair")
    sites = resolve(model)
    limit = max_length or model_max_length(model)
    items = [truncate(e if isinstance(e, Example) else Example(*e), limit) for e in examples]
    # Longest first, as lm-eval orders requests: less padding per batch; scores are order-invariant.
    order = sorted(range(len(items)), key=lambda i: -(len(items[i].context) + len(items[i].continuation)))
    device = next(model.parameters()).device
    L, H = sites.shape
    abs_sum = torch.zeros(L, H, dtype=torch.float64)
    signed_sum = torch.zeros(L, H, dtype=torch.float64)
    doc_abs = torch.zeros(len(items), L, H, dtype=torch.float64)  # per example, in the given order
    doc_signed = torch.zeros(len(items), L, H, dtype=torch.float64)
    doc_positions = np.array([len(e.context) + len(e.continuation) - 1 for e in items], dtype=np.int64)
    doc_answer = np.array([len(e.continuation) for e in items], dtype=np.int64)
    n_positions = int(doc_positions.sum())
    n_answer = int(doc_answer.sum())
    starts = range(0, len(order), batch_size)
    with frozen(model), torch.enable_grad(), token_head_gates(model, sites) as gates:
        for start in tqdm(starts, desc="head importance", disable=not progress, unit="batch"):
            batch = collate(
                [items[i] for i in order[start : start + batch_size]], padding_side, pad_token_id, device
            )
            gates[:] = [None] * L
            loss = batch_loss(model, batch)
            if not bool(torch.isfinite(loss)):
                from iclprune.evaluate.scoring import NonFiniteScoreError, nonfinite_layers

                chunk = [items[i] for i in order[start : start + batch_size]]
                raise NonFiniteScoreError(
                    f"non-finite importance loss {float(loss.detach())} ({label or 'unlabelled examples'}, batch "
                    f"starting at example {order[start]}); {nonfinite_layers(model, chunk)}"
                )
            missing = [i for i, g in enumerate(gates) if g is None]
            if missing:
                raise RuntimeError(
                    f"the out-projection hook of layers {missing} never ran; site map is wrong"
                )
            dots = torch.autograd.grad(loss, gates, allow_unused=True)
            valid = batch.attention_mask.unsqueeze(-1).to(torch.float64).cpu()
            rows = torch.tensor(order[start : start + batch_size])  # the batch's examples, given order
            for layer, dot in enumerate(dots):
                if dot is None:  # the layer cannot reach the loss (no answer token after it)
                    continue
                dot = dot.double().cpu() * valid
                magnitude = dot.abs()
                abs_sum[layer] += magnitude.sum(dim=(0, 1))
                signed_sum[layer] += dot.sum(dim=(0, 1))
                doc_abs[rows, layer] = magnitude.sum(dim=1)
                doc_signed[rows, layer] = dot.sum(dim=1)
    bansal, michel = normalise(
        abs_sum.numpy(), signed_sum.numpy(), len(items), n_positions, n_answer, normalizer
    )
    for name, m in (("bansal", bansal), ("michel", michel)):
        if not np.isfinite(m).all():
            bad = np.argwhere(~np.isfinite(m))[0]
            raise FloatingPointError(
                f"non-finite {name} head score ({label or 'unlabelled examples'}) at layer {bad[0]}, "
                f"head {bad[1]}"
            )
    return HeadImportance(
        bansal=bansal,
        michel=michel,
        n_examples=len(items),
        n_positions=n_positions,
        n_answer_tokens=n_answer,
        normalizer=normalizer,
        meta={"batch_size": batch_size, "padding_side": padding_side, "max_length": limit},
        doc_abs=doc_abs.numpy(),
        doc_signed=doc_signed.numpy(),
        doc_n_positions=doc_positions,
        doc_n_answer_tokens=doc_answer,
    )
