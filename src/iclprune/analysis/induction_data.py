"""The inputs of the induction-head scores: random token sequences, and what both scores share.

* the token pool (:func:`token_pool`): mid-frequency BPE tokens, in merge-rank order, the most and least
  frequent 4% dropped;
* one seed's sequence (:func:`induction_sequences`): BOS + ``L = 2·seed + 25`` pool tokens repeated
  :data:`REPEATS` times (prefix matching) or ``REPEATS·L`` unique ones (copying), drawn without
  replacement with ``np.random.default_rng(seed)``;
* the plumbing both scores use (:mod:`iclprune.analysis.induction`, :mod:`iclprune.analysis.copying`):
  :func:`eager_attention` (attention probabilities from a model loaded with SDPA), eval mode, the BOS id,
  the context length, pool checks, and the mean and variance over seeds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

REPEATS = 4
BASE_LENGTH = 25


# ------------------------------------------------------------------------------------------- token pool
def _special_ids(tokenizer: Any) -> set[int]:
    ids = {int(i) for i in getattr(tokenizer, "all_special_ids", []) or []}
    for tid, added in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items():
        if getattr(added, "special", False):
            ids.add(int(tid))
    return ids


def _merge_ranked_ids(tokenizer: Any) -> list[int] | None:
    """Ids of the tokens produced by the BPE merges, in merge-rank order; None without merges."""
    merges: list[Any] | None = None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        spec = json.loads(backend.to_str()).get("model", {})
        merges = spec.get("merges") if spec.get("type") == "BPE" else None
    elif getattr(tokenizer, "bpe_ranks", None):  # slow GPT-2-style tokenizer, as the original used
        merges = sorted(tokenizer.bpe_ranks, key=tokenizer.bpe_ranks.get)
    if not merges:
        return None
    vocab = tokenizer.get_vocab()
    ranked: list[int] = []
    seen: set[int] = set()
    missing = 0
    for merge in merges:
        a, b = merge.split(" ", 1) if isinstance(merge, str) else merge
        tid = vocab.get(a + b)
        if tid is None:
            missing += 1
        elif tid not in seen:  # a token reachable by two merges keeps its first (most frequent) rank
            seen.add(tid)
            ranked.append(int(tid))
    if missing:
        log.debug("%d merge products are not in the vocabulary; skipped", missing)
    return ranked


def token_pool(tokenizer: Any, drop_frac: float = 0.04) -> np.ndarray:
    """Candidate token ids for the random induction sequences, shape ``(n,)``, in frequency-proxy order.

    The tokens produced by the tokenizer's BPE merges, ordered by merge rank (a proxy for pre-training
    frequency: earlier merges are more frequent); special tokens removed; then the first and the last
    ``⌊drop_frac·n⌋`` of the ``n`` remaining dropped (the most and least frequent 4% by default). Special
    tokens are never merge products in practice, so this equals the original's order of operations.

    Tokenizers without merges (e.g. WordLevel, Unigram) fall back, with a warning, to vocabulary id order
    as the frequency proxy (same special-token removal and dropping); this is our choice, the original
    only handled BPE.
    """
    if not 0.0 <= drop_frac < 0.5:
        raise ValueError(f"drop_frac={drop_frac} must be in [0, 0.5): it is dropped at both ends")
    ranked = _merge_ranked_ids(tokenizer)
    if ranked is None:
        warnings.warn(
            f"{type(tokenizer).__name__} has no BPE merges: the induction token pool falls back to vocabulary "
            "id order as the frequency proxy (lowest ids treated as most frequent)",
            UserWarning,
            stacklevel=2,
        )
        ranked = sorted({int(i) for i in tokenizer.get_vocab().values()})
    specials = _special_ids(tokenizer)
    ranked = [t for t in ranked if t not in specials]
    n = len(ranked)
    k = int(drop_frac * n)
    return np.asarray(ranked[k : n - k], dtype=np.int64)


# -------------------------------------------------------------------------------------------- sequences
def base_length(seed: int, base: int = BASE_LENGTH) -> int:
    """``L = 2·seed + base`` (25..223 for seeds 0..99)."""
    if seed < 0:
        raise ValueError(f"seed={seed} must be >= 0")
    return 2 * seed + base


def induction_sequences(
    pool: np.ndarray | Sequence[int],
    seed: int,
    *,
    bos_id: int,
    repeats: int = REPEATS,
    base: int = BASE_LENGTH,
    unique: bool = False,
    max_length: int | None = None,
) -> np.ndarray:
    """One seed's input ids, shape ``(repeats·L + 1,)``, BOS first, ``L = 2·seed + base``.

    ``unique=False`` (prefix matching): BOS + ``L`` tokens drawn without replacement, repeated ``repeats``
    times. ``unique=True`` (copying): BOS + ``repeats·L`` tokens drawn without replacement. Draws use
    ``np.random.default_rng(seed)``, so a seed always gives the same sequence.

    Raises ValueError when the sequence is longer than ``max_length`` (the model's context) or the pool
    holds fewer tokens than one draw needs.
    """
    if repeats < 2:
        raise ValueError(f"repeats={repeats} must be >= 2 (queries are taken in repeats 2..{repeats})")
    L = base_length(seed, base)
    if L < 1:
        raise ValueError(f"base length L = 2·{seed} + {base} = {L} must be >= 1")
    length = repeats * L + 1
    if max_length is not None and length > max_length:
        raise ValueError(
            f"seed {seed}: the induction sequence has {length} tokens (BOS + {repeats}×{L}), longer than "
            f"the model context of {max_length} tokens; use fewer seeds or a smaller base"
        )
    pool = np.asarray(pool, dtype=np.int64).reshape(-1)
    need = repeats * L if unique else L
    if pool.size < need:
        raise ValueError(
            f"seed {seed}: the token pool holds {pool.size} tokens but {need} distinct ones are needed "
            f"({f'{repeats}×{L} unique tokens' if unique else f'L = {L}'})"
        )
    if np.unique(pool).size != pool.size:
        raise ValueError("the token pool contains duplicate ids; draws must be without replacement")
    rng = np.random.default_rng(seed)
    drawn = rng.choice(pool, size=need, replace=False)
    body = drawn if unique else np.tile(drawn, repeats)
    return np.concatenate([[bos_id], body]).astype(np.int64)


# ------------------------------------------------------------------------------------------- plumbing
@contextlib.contextmanager
def eager_attention(model: nn.Module) -> Iterator[None]:
    """Run ``model`` (and every attention module's config) with eager attention; restore in ``finally``.

    Eager attention is what returns attention probabilities. Every config object reachable from the model
    and its attention modules is switched, since transformers reads the implementation at call time.
    """
    configs: dict[int, Any] = {}
    for module in model.modules():
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "_attn_implementation"):
            configs[id(config)] = config
    saved = [(c, c._attn_implementation) for c in configs.values()]
    try:
        for config, impl in saved:
            if impl != "eager":
                config._attn_implementation = "eager"
        yield
    finally:
        for config, impl in saved:
            if config._attn_implementation != impl:
                config._attn_implementation = impl


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _resolve_bos(tokenizer_or_bos: Any, model: nn.Module | None = None) -> int:
    if isinstance(tokenizer_or_bos, (int, np.integer)):
        return int(tokenizer_or_bos)
    bos = getattr(tokenizer_or_bos, "bos_token_id", None) if tokenizer_or_bos is not None else None
    if bos is None and model is not None:
        bos = getattr(model.config, "bos_token_id", None)
    if bos is None:
        raise ValueError(
            "no BOS token id: the tokenizer (or model config) defines none; pass the BOS id explicitly"
        )
    return int(bos)


def _max_length(model: nn.Module, max_length: int | None) -> int | None:
    if max_length is not None:
        return int(max_length)
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    value = getattr(config, "max_position_embeddings", None)
    return int(value) if value else None


def _check_pool(pool: np.ndarray | Sequence[int], model: nn.Module) -> np.ndarray:
    pool = np.asarray(pool, dtype=np.int64).reshape(-1)
    if pool.size == 0:
        raise ValueError("the token pool is empty; build it with token_pool(tokenizer)")
    n_vocab = model.get_input_embeddings().weight.shape[0]
    if pool.min() < 0 or pool.max() >= n_vocab:
        raise ValueError(
            f"the token pool holds ids in [{pool.min()}, {pool.max()}], outside the model's vocabulary "
            f"of {n_vocab} embeddings"
        )
    return pool


def _input_device(model: nn.Module) -> torch.device:
    return model.get_input_embeddings().weight.device


def _mean_var(per_seed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased variance (ddof 1, as the original's ``torch.var``) over axis 0; NaN var for 1 seed."""
    mean = per_seed.mean(axis=0)
    if per_seed.shape[0] < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, per_seed.var(axis=0, ddof=1)


def _seed_list(seeds: Iterable[int]) -> list[int]:
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("no seeds given; expected e.g. range(100)")
    return seeds
