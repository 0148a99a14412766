"""Batches of (context, continuation) token pairs: lm-eval-style encoding, padding, continuation NLL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

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
            raise ValueError(
                "empty context: the first continuation token needs a position to predict it from"
            )


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


def model_max_length(model: nn.Module) -> int:
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return int(getattr(config, "max_position_embeddings", 2048))


def truncate(ex: Example, max_length: int) -> Example:
    n = len(ex.context) + len(ex.continuation)
    if n <= max_length:
        return ex
    if len(ex.continuation) >= max_length:
        raise ValueError(
            f"continuation of {len(ex.continuation)} tokens does not fit the model's context of {max_length} tokens"
        )
    return Example(ex.context[n - max_length :], ex.continuation)


@dataclass(frozen=True)
class Batch:
    """A padded batch and the gather indices of its answer tokens."""

    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T), 1 = real token
    position_ids: torch.Tensor  # (B, T)
    keep: torch.Tensor  # (K,) sorted positions whose logits are needed
    rows: torch.Tensor  # (P,) batch row of each predicted answer token
    cols: torch.Tensor  # (P,) index into `keep` of its predicting position
    targets: torch.Tensor  # (P,) answer token ids
    weights: torch.Tensor  # (P,) 1 / len(continuation) of its example


def collate(batch: Sequence[Example], padding_side: PaddingSide, pad_id: int, device: torch.device) -> Batch:
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
    return Batch(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        position_ids=pos.to(device),
        keep=torch.tensor(keep, device=device),
        rows=torch.tensor(rows, device=device),
        cols=torch.tensor(cols, device=device),
        targets=torch.tensor(targets, device=device),
        weights=torch.tensor(weights, dtype=torch.float64, device=device),
    )


def batch_loss(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Σ over the batch's examples of each example's mean continuation NLL (float64 scalar)."""
    return -(_forward_logprobs(model, batch).double() * batch.weights).sum()


def vocab_logprobs(logits: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Log-softmax over the vocabulary (last axis), ``(..., V)`` → ``(..., V)``, in ``dtype`` promoted to at
    least float32 (None: the logits' dtype, so fp16/bf16 logits are upcast): in half precision a
    log-softmax in the logits' own dtype, as lm-eval's HFLM takes it, costs tenths of a nat per request."""
    wanted = torch.promote_types(dtype or logits.dtype, torch.float32)
    return torch.log_softmax(logits.to(wanted), dim=-1)


def _forward_logprobs(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Log-probabilities of every answer token, shape ``(P,)``, in the order of ``batch.targets``."""
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        logits_to_keep=batch.keep,
        use_cache=False,
    )
    logprobs = vocab_logprobs(out.logits)  # (B, K, V)
    return logprobs[batch.rows, batch.cols, batch.targets]


def continuation_logprobs(
    model: nn.Module, examples: Sequence[Example], *, batch_size: int = 8, pad_token_id: int = 0
) -> list[float]:
    """Total log-probability of each example's continuation given its context (no grad)."""
    device = next(model.parameters()).device
    limit = model_max_length(model)
    out: list[float] = []
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            chunk = [truncate(e, limit) for e in examples[start : start + batch_size]]
            batch = collate(chunk, "right", pad_token_id, device)
            picked = _forward_logprobs(model, batch).double()
            sums = torch.zeros(len(chunk), dtype=torch.float64, device=picked.device)
            out += sums.index_add_(0, batch.rows, picked).tolist()
    return out
