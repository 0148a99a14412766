"""The copying score of every head (Bansal et al. 2023, App. A.4, as the original code computes it).

Input = BOS + ``4L`` unique tokens (:func:`iclprune.analysis.induction_data.induction_sequences` with
``unique=True``). ``h0`` (token + position embeddings) is fed to every layer's attention norm and attention
module (the direct path, not the real residual stream). For head ``h`` and position ``j``, ``P[h, j, :]`` =
softmax over the vocabulary of ``unembed(o_proj(head h's value at j, other heads zero, bias included))``,
with no final norm; ``m`` = the most-attended source of query ``j``; over attendable ``s ≤ j``:
``p_s = P[h, j, token(s)]``, ``r_s = ReLU(p_s − mean_s p_s)``, ``c_j = r_m / Σ_s r_s`` (0 if the sum is 0).
Head score = mean over ``j ≥ 1`` of ``c_j``, then mean over seeds. :func:`copying_scores` is the vectorised
computation, :func:`copying_scores_naive` the per-head, per-position reference.

How to build ``h0`` and the attention module's extra inputs (Llama's rotary ``position_embeddings``) for
the direct path is a small per-family registry, :data:`DIRECT_PATHS` (OPT and Llama-family; GPT-NeoX is
not supported for copying).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

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
    eager_attention,
    induction_sequences,
)
from iclprune.model.sites import LayerSites, Sites, resolve

log = logging.getLogger(__name__)

CopyingSource = Literal["value", "attention_output"]


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
