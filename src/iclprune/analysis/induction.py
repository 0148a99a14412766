"""Induction-head scores: prefix matching and copying (Olsson et al. 2022; Bansal et al. 2023, App. A.4).

Both scores are task-agnostic: they are computed on random token sequences, one per seed (seeds 0..99,
base length ``L = 2·seed + 25``), drawn without replacement from a pool of mid-frequency BPE tokens.

* **Prefix matching** (:func:`prefix_matching_scores`): input = BOS + the same ``L`` tokens repeated 4 times,
  one forward pass with attention probabilities; for each query in repeats 2–4, the attention it pays to
  the positions that *follow* earlier occurrences of its token, averaged over the ``3L`` queries and then
  over seeds. The reduction is the pure function :func:`prefix_matching_from_attention`.
* **Copying** (:func:`copying_scores`, as the original code computes it): input = BOS + ``4L`` unique tokens.
  ``h0`` (token + position embeddings) is fed to every layer's attention norm and attention module (the
  direct path, not the real residual stream). For head ``h`` and position ``j``, ``P[h, j, :]`` = softmax over
  the vocabulary of ``unembed(o_proj(head h's value at j, other heads zero, bias included))``, with no final
  norm; ``m`` = the most-attended source of query ``j``; over attendable ``s ≤ j``: ``p_s = P[h, j, token(s)]``,
  ``r_s = ReLU(p_s − mean_s p_s)``, ``c_j = r_m / Σ_s r_s`` (0 if the sum is 0). Head score = mean over
  ``j ≥ 1`` of ``c_j``, then mean over seeds. :func:`copying_scores_naive` is the per-head, per-position
  reference.

Both need attention probabilities, i.e. eager attention: :func:`eager_attention` switches the model's
``config._attn_implementation`` to ``"eager"`` for the duration of a call and restores it afterwards, so
callers may pass a model loaded with SDPA.

Architecture differences: attention sites come from :mod:`iclprune.model.sites`; how to build ``h0`` and the
attention module's extra inputs (Llama's rotary ``position_embeddings``) for the direct path is a small
per-family registry, :data:`DIRECT_PATHS` (OPT and Llama-family; GPT-NeoX is not supported for copying).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from iclprune.core.components import head_table
from iclprune.model.sites import LayerSites, Sites, resolve

log = logging.getLogger(__name__)

CopyingSource = Literal["value", "attention_output"]
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


# ----------------------------------------------------------------------------------------- direct path
@dataclass(frozen=True)
class DirectPath:
    """How one family builds the copying score's direct path.

    Attributes:
        embed: ``(model, ids (1, T)) -> h0 (1, T, d_model)``, token (+ learned position) embeddings.
        attn_kwargs: ``(model, h0, position_ids (1, T)) -> dict`` of extra keyword arguments the attention
            module needs (Llama: rotary ``position_embeddings``).
        pre_unembed: ``model -> linear or None`` applied between the residual stream and the unembedding
            (OPT's ``project_out`` when ``word_embed_proj_dim`` differs from ``hidden_size``).
    """

    embed: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    attn_kwargs: Callable[[nn.Module, torch.Tensor, torch.Tensor], dict[str, Any]]
    pre_unembed: Callable[[nn.Module], nn.Module | None]


def _opt_embed(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    decoder = model.base_model.decoder
    x = decoder.embed_tokens(ids)
    if decoder.project_in is not None:
        x = decoder.project_in(x)
    positions = torch.arange(ids.shape[1], device=ids.device)[None]
    # OPTLearnedPositionalEmbedding adds its offset of 2 itself.
    pos = decoder.embed_positions(torch.ones_like(ids), 0, position_ids=positions)
    return x + pos.to(x.device)


def _llama_rotary(model: nn.Module, h0: torch.Tensor, position_ids: torch.Tensor) -> dict[str, Any]:
    return {"position_embeddings": model.base_model.rotary_emb(h0, position_ids)}


DIRECT_PATHS: dict[str, DirectPath] = {
    "opt": DirectPath(
        embed=_opt_embed,
        attn_kwargs=lambda model, h0, pos: {},
        pre_unembed=lambda model: model.base_model.decoder.project_out,
    ),
    "llama": DirectPath(
        embed=lambda model, ids: model.base_model.embed_tokens(ids),
        attn_kwargs=_llama_rotary,
        pre_unembed=lambda model: None,
    ),
}


def _direct_path_for(sites: Sites) -> DirectPath:
    if sites.spec.family not in DIRECT_PATHS:
        raise NotImplementedError(
            f"copying scores are not implemented for the {sites.spec.family!r} family (no direct-path recipe "
            f"in iclprune.analysis.induction.DIRECT_PATHS; supported: {sorted(DIRECT_PATHS)}); prefix matching works"
        )
    return DIRECT_PATHS[sites.spec.family]


def _causal_mask(T: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Additive causal mask ``(1, 1, T, T)``: 0 on and below the diagonal, the dtype's minimum above."""
    return torch.full((T, T), torch.finfo(dtype).min, dtype=dtype, device=device).triu(1)[None, None]


@dataclass
class _DirectInput:
    """One seed's direct-path input: ids ``(T,)``, ``h0 (1, T, d_model)``, extra attention kwargs."""

    ids: torch.Tensor
    h0: torch.Tensor
    kwargs: dict[str, Any]


def _direct_inputs(model: nn.Module, path: DirectPath, seqs: list[np.ndarray]) -> list[_DirectInput]:
    device = _input_device(model)
    inputs = []
    for seq in seqs:
        ids = torch.as_tensor(seq, device=device)
        h0 = path.embed(model, ids[None])
        positions = torch.arange(ids.shape[0], device=device)[None]
        inputs.append(_DirectInput(ids=ids, h0=h0, kwargs=path.attn_kwargs(model, h0, positions)))
    return inputs


def direct_path_layer(
    sites: Sites, ls: LayerSites, h0: torch.Tensor, kwargs: dict[str, Any], source: CopyingSource = "value"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run one layer's attention on ``attn_norm(h0)`` alone (causal mask, eager).

    Returns ``(probs (heads, T, T), vectors (heads, T, d_head))``: the attention probabilities and, per
    query head, the vector that goes into its slot of the output projection: its value at each position
    (``source="value"``, what the original uses; GQA heads read their KV head's value) or its attention
    output (``source="attention_output"``, caught by a pre-hook on the output projection).
    """
    device = ls.o.weight.device
    x = h0.to(device)
    if ls.attn_norm is not None:
        x = ls.attn_norm(x)
    T = x.shape[1]
    mask = _causal_mask(T, x.dtype, device)
    kwargs = {k: tuple(t.to(device) for t in v) if isinstance(v, tuple) else v for k, v in kwargs.items()}
    caught: list[torch.Tensor] = []
    handle = None
    if source == "attention_output":
        handle = ls.o.register_forward_pre_hook(lambda module, args: caught.append(args[0]))
    try:
        result = ls.attn(hidden_states=x, attention_mask=mask, **kwargs)
    finally:
        if handle is not None:
            handle.remove()
    probs = result[1] if isinstance(result, tuple) and len(result) > 1 else None
    if probs is None:
        raise RuntimeError(
            f"layer {ls.index}: no attention probabilities returned; eager attention is needed"
        )
    H, d = sites.n_heads, sites.d_head
    if source == "value":
        if ls.v is None:
            raise NotImplementedError(f"family {sites.spec.family!r} has no separate v projection")
        v = ls.v(x)[0].view(T, sites.n_kv_heads, d).transpose(0, 1)
        vectors = v.repeat_interleave(sites.group_size, dim=0)
    elif source == "attention_output":
        vectors = caught[0][0].view(T, H, d).transpose(0, 1)
    else:
        raise ValueError(f"source={source!r}; expected 'value' or 'attention_output'")
    return probs[0], vectors


def _copying_from_probabilities(p: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """``p (heads, T, T)``: ``p[h, j, s] = P[h, j, token(s)]``; ``probs``: attention. Returns ``(heads,)``."""
    T = p.shape[-1]
    causal = torch.ones(T, T, dtype=torch.bool, device=p.device).tril()
    p = p.masked_fill(~causal, 0.0)
    mean = p.sum(-1, keepdim=True) / torch.arange(1, T + 1, device=p.device, dtype=p.dtype)[:, None]
    r = torch.relu(p - mean).masked_fill(~causal, 0.0)
    m = probs.argmax(-1, keepdim=True).to(p.device)
    r_m = r.gather(-1, m).squeeze(-1)
    total = r.sum(-1)
    c = torch.where(total != 0, r_m / torch.where(total != 0, total, 1.0), 0.0)
    return c[:, 1:].mean(-1)  # queries j = 1..T-1 (BOS is not a query)


def _unembedding(model: nn.Module, path: DirectPath) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The unembedding as one affine map of the residual stream: ``(W (vocab, d_model), bias or None)``."""
    head = model.get_output_embeddings()
    W = head.weight
    bias = getattr(head, "bias", None)
    pre = path.pre_unembed(model)
    if pre is not None:
        W = W @ pre.weight.to(W.device)
        if getattr(pre, "bias", None) is not None:
            extra = head.weight @ pre.bias.to(W.device)
            bias = extra if bias is None else bias + extra
    return W, bias


def _head_unembedding(
    o: nn.Linear, W_U: torch.Tensor, b_U: torch.Tensor | None, n_heads: int, d_head: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per head, unembed ∘ out-proj slice: ``M (heads, d_head, vocab)`` and the shared ``c (vocab,)``.

    ``logits[h, j] = vec[h, j] @ M[h] + c`` with ``M[h] = (W_U W_O[:, h·d:(h+1)·d])ᵀ`` and
    ``c = W_U b_O + b_U``; computed once per layer and shared across seeds.
    """
    device = o.weight.device
    W_U = W_U.to(device)
    M = (W_U @ o.weight).view(W_U.shape[0], n_heads, d_head).permute(1, 2, 0).contiguous()
    c = W_U @ o.bias if o.bias is not None else torch.zeros(W_U.shape[0], device=device, dtype=W_U.dtype)
    if b_U is not None:
        c = c + b_U.to(device)
    return M, c


def copying_from_head_vectors(
    vectors: torch.Tensor,
    probs: torch.Tensor,
    ids: torch.Tensor,
    M: torch.Tensor,
    c: torch.Tensor,
    max_logit_elems: int = 2**25,
) -> torch.Tensor:
    """Vectorised copying score of one layer on one sequence.

    Args:
        vectors: ``(heads, T, d_head)`` per-head vectors fed to the output projection.
        probs: ``(heads, T, T)`` attention probabilities (for the most-attended source ``m``).
        ids: ``(T,)`` token ids of the sequence.
        M, c: from :func:`_head_unembedding`: ``(heads, d_head, vocab)`` and ``(vocab,)``.
        max_logit_elems: bound on the ``heads × chunk × vocab`` logit block used for the softmax
            normaliser (chunked over positions).

    Returns:
        ``(heads,)`` mean over queries ``j = 1..T−1`` of ``c_j``.
    """
    H, T, _ = vectors.shape
    V = M.shape[-1]
    vectors = vectors.to(M.dtype)
    chunk = max(1, max_logit_elems // (H * V))
    lse = torch.empty(H, T, dtype=torch.float32, device=M.device)
    for start in range(0, T, chunk):
        stop = min(T, start + chunk)
        logits = torch.baddbmm(c.expand(H, stop - start, V), vectors[:, start:stop], M)
        lse[:, start:stop] = torch.logsumexp(logits.float(), dim=-1)
    # logits at the sequence's own tokens only: G[h, j, s] = logit of token(s) at (h, j)
    G = torch.baddbmm(c[ids].expand(H, T, T), vectors, M[:, :, ids])
    p = torch.exp(G.float() - lse[..., None])
    return _copying_from_probabilities(p, probs)


def copying_scores(
    model: nn.Module,
    pool: np.ndarray | Sequence[int],
    seeds: Iterable[int] = range(100),
    *,
    bos_id: int | Any | None = None,
    source: CopyingSource = "value",
    repeats: int = REPEATS,
    base: int = BASE_LENGTH,
    max_length: int | None = None,
    layers: Sequence[int] | None = None,
    max_logit_elems: int = 2**25,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Copying score of every head (see the module docstring): ``(mean, var)`` over seeds, ``(layers, heads)``.

    Vectorised: per layer, the map "head vector → vocabulary logits" is precomputed once as
    ``M (heads, d_head, vocab)`` (shared by all seeds); per seed, the softmax normaliser is a logsumexp over
    the vocabulary in position chunks of at most ``max_logit_elems`` logits, and the probabilities needed
    are only those of the sequence's own tokens, a ``(heads, T, T)`` matrix.

    ``bos_id``: an id or a tokenizer; default ``model.config.bos_token_id``. ``source="value"`` (default,
    the original's choice) feeds each head's value vector at ``j`` to the output projection;
    ``"attention_output"`` feeds its attention output at ``j`` instead. ``layers`` restricts the work to
    some layers (the others are NaN). Raises NotImplementedError for families without a
    :data:`DIRECT_PATHS` entry (GPT-NeoX).
    """
    sites = resolve(model)
    path = _direct_path_for(sites)
    seeds = _seed_list(seeds)
    pool = _check_pool(pool, model)
    bos = _resolve_bos(bos_id, model)
    limit = _max_length(model, max_length)
    seqs = [
        induction_sequences(pool, s, bos_id=bos, repeats=repeats, base=base, unique=True, max_length=limit)
        for s in seeds
    ]
    chosen = list(range(sites.n_layers)) if layers is None else sorted({int(i) for i in layers})
    if any(not 0 <= i < sites.n_layers for i in chosen):
        raise ValueError(f"layers {chosen} out of range for a model with {sites.n_layers} layers")
    out = np.full((len(seeds), sites.n_layers, sites.n_heads), np.nan)
    with _eval_mode(model), eager_attention(model), torch.inference_mode():
        inputs = _direct_inputs(model, path, seqs)
        W_U, b_U = _unembedding(model, path)
        for li in tqdm(chosen, desc="copying", disable=not progress):
            ls = sites.layers[li]
            M, c = _head_unembedding(ls.o, W_U, b_U, sites.n_heads, sites.d_head)
            for si, inp in enumerate(inputs):
                probs, vectors = direct_path_layer(sites, ls, inp.h0, inp.kwargs, source)
                ids = inp.ids.to(M.device)
                out[si, li] = (
                    copying_from_head_vectors(vectors, probs, ids, M, c, max_logit_elems).cpu().numpy()
                )
            del M, c
    log.info("copying: %d seeds, %d of %d layers, %d heads", len(seeds), len(chosen), *sites.shape)
    return _mean_var(out)


def copying_scores_naive(
    model: nn.Module,
    pool: np.ndarray | Sequence[int],
    seeds: Iterable[int] = range(100),
    *,
    bos_id: int | Any | None = None,
    source: CopyingSource = "value",
    repeats: int = REPEATS,
    base: int = BASE_LENGTH,
    max_length: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference copying score: Python loops over heads and positions, as the paper's Algorithm 2 reads.

    Per head, the head's vectors are placed in its slot of an otherwise-zero output-projection input, the
    real ``o_proj`` module (bias included) and the real unembedding module are applied, a full softmax over
    the vocabulary is taken, and ``c_j`` is computed position by position. For tests and the benchmark only
    (slow); shares only the direct-path inputs with :func:`copying_scores`.
    """
    sites = resolve(model)
    path = _direct_path_for(sites)
    seeds = _seed_list(seeds)
    pool = _check_pool(pool, model)
    bos = _resolve_bos(bos_id, model)
    limit = _max_length(model, max_length)
    H, d = sites.n_heads, sites.d_head
    unembed = model.get_output_embeddings()
    pre = path.pre_unembed(model)
    out = np.zeros((len(seeds), sites.n_layers, H))
    with _eval_mode(model), eager_attention(model), torch.inference_mode():
        for si, seed in enumerate(seeds):
            seq = induction_sequences(
                pool, seed, bos_id=bos, repeats=repeats, base=base, unique=True, max_length=limit
            )
            (inp,) = _direct_inputs(model, path, [seq])
            ids = inp.ids.tolist()
            for ls in sites.layers:
                probs, vectors = direct_path_layer(sites, ls, inp.h0, inp.kwargs, source)
                T = vectors.shape[1]
                for h in range(H):
                    padded = torch.zeros(T, H * d, dtype=vectors.dtype, device=vectors.device)
                    padded[:, h * d : (h + 1) * d] = vectors[h]
                    resid = ls.o(padded)
                    if pre is not None:
                        resid = pre(resid)
                    P = torch.softmax(unembed(resid.to(unembed.weight.device)).float(), dim=-1)
                    total = 0.0
                    for j in range(1, T):
                        m = int(torch.argmax(probs[h, j]))
                        p = P[j, ids[: j + 1]]
                        r = torch.relu(p - p.mean())
                        denom = float(r.sum())
                        total += float(r[m]) / denom if denom != 0 else 0.0
                    out[si, ls.index, h] = total / (T - 1)
    return _mean_var(out)


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
