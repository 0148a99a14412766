"""Induction-head scores: prefix matching and copying (Olsson et al. 2022; Bansal et al. 2023, App. A.4).

Both scores are task-agnostic: they are computed on random token sequences, one per seed (seeds 0..99,
base length ``L = 2·seed + 25``), drawn without replacement from a pool of mid-frequency BPE tokens
(:mod:`iclprune.analysis.induction_data`: the token pool, the sequences and the plumbing both scores share).

* **Prefix matching** (this module, :func:`prefix_matching_scores`): input = BOS + the same ``L`` tokens
  repeated 4 times, one forward pass with attention probabilities; for each query in repeats 2–4, the
  attention it pays to the positions that *follow* earlier occurrences of its token, averaged over the
  ``3L`` queries and then over seeds. The reduction is the pure function
  :func:`prefix_matching_from_attention`.
* **Copying** (:mod:`iclprune.analysis.copying`, :func:`copying_scores`): input = BOS + ``4L`` unique tokens,
  fed through each layer's attention on the direct path (token + position embeddings, not the real
  residual stream); a head scores how much of the probability it puts on its most-attended source token,
  relative to the other attendable tokens (the formula is in that module's docstring).

:func:`induction_table` computes both for every head, one row per head.

Both need attention probabilities, i.e. eager attention: :func:`eager_attention` switches the model's
``config._attn_implementation`` to ``"eager"`` for the duration of a call and restores it afterwards, so
callers may pass a model loaded with SDPA.

Architecture differences: attention sites come from :mod:`iclprune.model.sites`; how to build ``h0`` and the
attention module's extra inputs (Llama's rotary ``position_embeddings``) for the direct path is a small
per-family registry, :data:`DIRECT_PATHS` (OPT and Llama-family; GPT-NeoX is not supported for copying).

The names of :mod:`~iclprune.analysis.induction_data` and :mod:`~iclprune.analysis.copying` that callers
use are re-exported here (``__all__``), so ``from iclprune.analysis.induction import ...`` keeps working.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from iclprune.analysis.copying import (
    DIRECT_PATHS,
    CopyingSource,
    DirectPath,
    copying_from_head_vectors,
    copying_scores,
    copying_scores_naive,
    direct_path_layer,
)
from iclprune.analysis.induction_data import (
    BASE_LENGTH,
    REPEATS,
    _check_pool,
    _eval_mode,
    _input_device,
    _max_length,
    _mean_var,
    _resolve_bos,
    _seed_list,
    base_length,
    eager_attention,
    induction_sequences,
    token_pool,
)
from iclprune.core.components import head_table
from iclprune.model.sites import Sites, resolve

__all__ = [
    "BASE_LENGTH",
    "DIRECT_PATHS",
    "REPEATS",
    "CopyingSource",
    "DirectPath",
    "base_length",
    "copying_from_head_vectors",
    "copying_scores",
    "copying_scores_naive",
    "direct_path_layer",
    "eager_attention",
    "induction_sequences",
    "induction_table",
    "prefix_matching_from_attention",
    "prefix_matching_scores",
    "token_pool",
]

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------- prefix matching
@functools.lru_cache(maxsize=256)
def _prefix_pairs(L: int, repeats: int, compat_off_by_one: bool) -> tuple[np.ndarray, np.ndarray]:
    """(query, key) index pairs whose attention prefix matching sums; built once per sequence length.

    Position 0 is BOS; repeat ``r`` (0-based) offset ``i`` sits at ``r·L + i + 1``. A query in repeat
    ``r ≥ 1`` at offset ``i`` targets ``n·L + i + 2`` for ``n < r`` (the position after each earlier
    occurrence; at ``i = L−1`` that is the first token of repeat ``n+1``). The original adds position 1 at
    ``i = L−1`` (its ``j % L`` wraps to 0): ``compat_off_by_one`` reproduces that extra pair.
    """
    r, n, i = np.meshgrid(np.arange(1, repeats), np.arange(repeats - 1), np.arange(L), indexing="ij")
    keep = n < r
    q = (r * L + i + 1)[keep]
    k = (n * L + i + 2)[keep]
    if compat_off_by_one:
        q_last = np.arange(1, repeats) * L + L
        q = np.concatenate([q, q_last])
        k = np.concatenate([k, np.ones_like(q_last)])
    q.setflags(write=False)
    k.setflags(write=False)
    return q, k


def prefix_matching_from_attention(
    attn: torch.Tensor | np.ndarray,
    L: int,
    repeats: int = REPEATS,
    compat_off_by_one: bool = False,
) -> torch.Tensor:
    """Prefix-matching score of each head from its attention probabilities.

    Args:
        attn: ``(heads, T, T)`` or ``(layers, heads, T, T)``, rows = queries, ``T = repeats·L + 1``
            (BOS + ``repeats`` copies of ``L`` tokens).
        L: the base length.
        compat_off_by_one: add the original's spurious term (attention to position 1 from the last
            token of each of repeats 2..``repeats``).

    Returns:
        ``(heads,)`` or ``(layers, heads)`` float32: Σ attention to targets / ((repeats − 1)·L).
    """
    if L < 1 or repeats < 2:
        raise ValueError(f"L={L} must be >= 1 and repeats={repeats} >= 2")
    attn = torch.as_tensor(attn)
    T = repeats * L + 1
    if attn.ndim not in (3, 4) or tuple(attn.shape[-2:]) != (T, T):
        raise ValueError(
            f"attention of shape {tuple(attn.shape)} does not fit L={L}, repeats={repeats}: expected "
            f"(heads, {T}, {T}) or (layers, heads, {T}, {T})"
        )
    q, k = _prefix_pairs(L, repeats, compat_off_by_one)
    q_idx = torch.tensor(q, dtype=torch.long, device=attn.device)
    k_idx = torch.tensor(k, dtype=torch.long, device=attn.device)
    picked = attn[..., q_idx, k_idx].float()
    return picked.sum(-1) / ((repeats - 1) * L)


def prefix_matching_scores(
    model: nn.Module,
    tokenizer_or_bos: Any,
    pool: np.ndarray | Sequence[int],
    seeds: Iterable[int] = range(100),
    *,
    compat_off_by_one: bool = False,
    repeats: int = REPEATS,
    base: int = BASE_LENGTH,
    max_length: int | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Prefix-matching score of every head: ``(mean, var)`` over seeds, each ``(layers, heads)``.

    One forward pass per seed on BOS + ``repeats`` copies of ``L`` pool tokens, with eager attention (the
    model is switched for the call, see :func:`eager_attention`). Each layer's attention probabilities
    ``(heads, T, T)`` are caught by a forward hook on its attention module and reduced at once by
    :func:`prefix_matching_from_attention`, so no ``(layers, heads, T, T)`` stack is ever held.
    ``tokenizer_or_bos`` is a tokenizer (its ``bos_token_id``) or the BOS id. ``max_length`` defaults to
    ``config.max_position_embeddings``. Works for any family with a site map (GQA included: the
    probabilities are per query head).
    """
    sites = resolve(model)
    seeds = _seed_list(seeds)
    pool = _check_pool(pool, model)
    bos = _resolve_bos(tokenizer_or_bos, model)
    limit = _max_length(model, max_length)
    seqs = [
        induction_sequences(pool, s, bos_id=bos, repeats=repeats, base=base, max_length=limit) for s in seeds
    ]
    out = np.zeros((len(seeds), sites.n_layers, sites.n_heads))
    device = _input_device(model)
    with _eval_mode(model), eager_attention(model), torch.inference_mode():
        for si, (seed, ids) in enumerate(
            tqdm(list(zip(seeds, seqs, strict=True)), desc="prefix matching", disable=not progress)
        ):
            L = base_length(seed, base)
            caught: dict[int, torch.Tensor] = {}
            with _catch_attention(sites, L, repeats, compat_off_by_one, caught):
                # the base model only: no vocabulary logits are needed
                model.base_model(input_ids=torch.as_tensor(ids, device=device)[None], use_cache=False)
            for li in range(sites.n_layers):
                out[si, li] = caught[li].cpu().numpy()
    log.info("prefix matching: %d seeds, %d layers x %d heads", len(seeds), *sites.shape)
    return _mean_var(out)


@contextlib.contextmanager
def _catch_attention(
    sites: Sites, L: int, repeats: int, compat_off_by_one: bool, caught: dict[int, torch.Tensor]
) -> Iterator[None]:
    """Forward hooks reducing each layer's attention probabilities to prefix-matching scores."""

    def make(li: int) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            probs = output[1] if isinstance(output, tuple) and len(output) > 1 else None
            if probs is None:
                raise RuntimeError(
                    f"layer {li}: the attention module returned no probabilities; eager attention is needed"
                )
            caught[li] = prefix_matching_from_attention(probs[0], L, repeats, compat_off_by_one)

        return hook

    handles = [ls.attn.register_forward_hook(make(ls.index)) for ls in sites.layers]
    try:
        yield
        missing = [i for i in range(sites.n_layers) if i not in caught]
        if missing:
            raise RuntimeError(f"attention hooks did not fire for layers {missing}")
    finally:
        for handle in handles:
            handle.remove()


# ---------------------------------------------------------------------------------------------- table
def induction_table(
    model: nn.Module,
    tokenizer: Any,
    seeds: Iterable[int] = range(100),
    *,
    pool: np.ndarray | Sequence[int] | None = None,
    drop_frac: float = 0.04,
    compat_off_by_one: bool = False,
    source: CopyingSource = "value",
    repeats: int = REPEATS,
    base: int = BASE_LENGTH,
    max_length: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Both scores for every head, one row per head.

    Columns ``layer, head, prefix_matching, prefix_matching_var, copying, copying_var`` (means and
    unbiased variances over ``seeds``). ``pool`` defaults to :func:`token_pool` of ``tokenizer``.
    """
    seeds = _seed_list(seeds)
    if pool is None:
        pool = token_pool(tokenizer, drop_frac)
    common = dict(repeats=repeats, base=base, max_length=max_length, progress=progress)
    pm, pm_var = prefix_matching_scores(
        model, tokenizer, pool, seeds, compat_off_by_one=compat_off_by_one, **common
    )
    cp, cp_var = copying_scores(
        model, pool, seeds, bos_id=_resolve_bos(tokenizer, model), source=source, **common
    )
    return head_table(prefix_matching=pm, prefix_matching_var=pm_var, copying=cp, copying_var=cp_var)
