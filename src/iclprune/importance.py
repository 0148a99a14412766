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

from iclprune.sites import Sites, resolve

log = logging.getLogger(__name__)

Variant = Literal["bansal", "michel"]
VARIANTS: tuple[Variant, ...] = ("bansal", "michel")
Normalizer = Literal["paper", "answer_tokens", "examples", "none"]
PaddingSide = Literal["right", "left"]


@dataclass(frozen=True)
class Example:
    """One (context, continuation) pair of token ids; the loss covers the continuation only."""

    context: tuple[int, ...]
    continuation: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", tuple(int(t) for t in self.context))
        object.__setattr__(self, "continuation", tuple(int(t) for t in self.continuation))
        if not self.continuation:
            raise ValueError("empty continuation: an importance example needs at least one answer token")
        if not self.context:
            raise ValueError("empty context: the first continuation token needs a position to predict it from")


def encode_pair(tokenizer: Any, context: str, continuation: str) -> Example:
    """Tokenise like lm-eval's HFLM: trailing context whitespace moves to the continuation, the whole string
    is encoded once, and the continuation is what follows the context's tokens. No special tokens."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
    return Example(tuple(ctx), tuple(whole[len(ctx) :]))


@dataclass
class HeadImportance:
    """Scores of every head, ``(layers, heads)`` per variant, plus the counts behind the normalisers."""

    bansal: np.ndarray
    michel: np.ndarray
    n_examples: int
    n_positions: int  # Σ_i (N_i − 1): positions that receive gradient below the last layer
    n_answer_tokens: int
    normalizer: Normalizer
    meta: dict[str, Any] = field(default_factory=dict)

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
            layer, head = np.divmod(np.arange(m.size), m.shape[1])
            frames.append(pd.DataFrame({"variant": variant, "layer": layer, "head": head, "score": m.ravel()}))
        return pd.concat(frames, ignore_index=True)


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

    def make(index: int):  # noqa: ANN202
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


def _max_length(model: nn.Module) -> int:
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return int(getattr(config, "max_position_embeddings", 2048))


def _truncate(ex: Example, max_length: int) -> Example:
    n = len(ex.context) + len(ex.continuation)
    if n <= max_length:
        return ex
    if len(ex.continuation) >= max_length:
        raise ValueError(
            f"continuation of {len(ex.continuation)} tokens does not fit the model's context of {max_length} tokens"
        )
    return Example(ex.context[n - max_length :], ex.continuation)


@dataclass(frozen=True)
class _Batch:
    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T), 1 = real token
    position_ids: torch.Tensor  # (B, T)
    keep: torch.Tensor  # (K,) sorted positions whose logits are needed
    rows: torch.Tensor  # (P,) batch row of each predicted answer token
    cols: torch.Tensor  # (P,) index into `keep` of its predicting position
    targets: torch.Tensor  # (P,) answer token ids
    weights: torch.Tensor  # (P,) 1 / len(continuation) of its example


def _collate(batch: Sequence[Example], padding_side: PaddingSide, pad_id: int, device: torch.device) -> _Batch:
    lengths = [len(e.context) + len(e.continuation) for e in batch]
    T = max(lengths)
    ids = torch.full((len(batch), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), T), dtype=torch.long)
    pos = torch.zeros((len(batch), T), dtype=torch.long)
    pred_pos: list[list[int]] = []
    for b, (e, n) in enumerate(zip(batch, lengths, strict=True)):
        off = 0 if padding_side == "right" else T - n
        ids[b, off : off + n] = torch.tensor(e.context + e.continuation)
        mask[b, off : off + n] = 1
        pos[b, off : off + n] = torch.arange(n)
        c = len(e.context)
        pred_pos.append([off + p for p in range(c - 1, n - 1)])
    keep = sorted({p for ps in pred_pos for p in ps})
    index = {p: i for i, p in enumerate(keep)}
    rows, cols, targets, weights = [], [], [], []
    for b, (e, ps) in enumerate(zip(batch, pred_pos, strict=True)):
        rows += [b] * len(ps)
        cols += [index[p] for p in ps]
        targets += list(e.continuation)
        weights += [1.0 / len(e.continuation)] * len(ps)
    return _Batch(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        position_ids=pos.to(device),
        keep=torch.tensor(keep, device=device),
        rows=torch.tensor(rows, device=device),
        cols=torch.tensor(cols, device=device),
        targets=torch.tensor(targets, device=device),
        weights=torch.tensor(weights, dtype=torch.float64, device=device),
    )


def batch_loss(model: nn.Module, batch: _Batch) -> torch.Tensor:
    """Σ over examples of each example's mean continuation NLL (float64 scalar)."""
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        logits_to_keep=batch.keep,
        use_cache=False,
    )
    logprobs = torch.log_softmax(out.logits.float(), dim=-1)  # (B, K, V)
    picked = logprobs[batch.rows, batch.cols, batch.targets]
    return -(picked.double() * batch.weights).sum()


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

    Returns:
        :class:`HeadImportance` with ``(layers, heads)`` float64 matrices for ``bansal`` and ``michel``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}; expected a positive integer")
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side={padding_side!r}; expected 'right' or 'left'")
    if normalizer not in ("paper", "answer_tokens", "examples", "none"):
        raise ValueError(f"normalizer={normalizer!r}; expected 'paper', 'answer_tokens', 'examples' or 'none'")
    if not examples:
        raise ValueError("no examples to score; expected at least one (context, continuation) pair")
    sites = resolve(model)
    limit = max_length or _max_length(model)
    items = [_truncate(e if isinstance(e, Example) else Example(*e), limit) for e in examples]
    # Longest first, as lm-eval orders requests: less padding per batch; scores are order-invariant.
    order = sorted(range(len(items)), key=lambda i: -(len(items[i].context) + len(items[i].continuation)))
    device = next(model.parameters()).device
    L, H = sites.shape
    abs_sum = torch.zeros(L, H, dtype=torch.float64)
    signed_sum = torch.zeros(L, H, dtype=torch.float64)
    n_positions = sum(len(e.context) + len(e.continuation) - 1 for e in items)
    n_answer = sum(len(e.continuation) for e in items)
    starts = range(0, len(order), batch_size)
    with frozen(model), torch.enable_grad(), token_head_gates(model, sites) as gates:
        for start in tqdm(starts, desc="head importance", disable=not progress, unit="batch"):
            batch = _collate([items[i] for i in order[start : start + batch_size]], padding_side, pad_token_id, device)
            gates[:] = [None] * L
            loss = batch_loss(model, batch)
            missing = [i for i, g in enumerate(gates) if g is None]
            if missing:
                raise RuntimeError(f"the out-projection hook of layers {missing} never ran; site map is wrong")
            dots = torch.autograd.grad(loss, gates, allow_unused=True)
            valid = batch.attention_mask.unsqueeze(-1).to(torch.float64).cpu()
            for layer, dot in enumerate(dots):
                if dot is None:  # the layer cannot reach the loss (no answer token after it)
                    continue
                dot = dot.double().cpu() * valid
                abs_sum[layer] += dot.abs().sum(dim=(0, 1))
                signed_sum[layer] += dot.sum(dim=(0, 1))
    bansal = abs_sum.numpy().copy()
    if normalizer == "paper":
        bansal[:-1] /= n_positions
        bansal[-1] /= n_answer
    elif normalizer == "answer_tokens":
        bansal /= n_answer
    elif normalizer == "examples":
        bansal /= len(items)
    michel = np.abs(signed_sum.numpy()) / len(items)
    for name, m in (("bansal", bansal), ("michel", michel)):
        if not np.isfinite(m).all():
            bad = np.argwhere(~np.isfinite(m))[0]
            raise FloatingPointError(f"non-finite {name} head score at layer {bad[0]}, head {bad[1]}")
    return HeadImportance(
        bansal=bansal,
        michel=michel,
        n_examples=len(items),
        n_positions=n_positions,
        n_answer_tokens=n_answer,
        normalizer=normalizer,
        meta={"batch_size": batch_size, "padding_side": padding_side, "max_length": limit},
    )
