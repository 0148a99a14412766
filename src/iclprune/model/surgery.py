"""Model surgery on stock Hugging Face modules: gate or remove heads and FFNs, with hooks or by slicing.

* Removing head ``h`` of layer ``l`` zeroes that head's slice of the attention output projection's
  *input* (a forward pre-hook on ``o_proj``/``out_proj``); the projection's bias stays.
* Removing FFN ``l`` zeroes the FFN block's whole output (a forward hook on the site map's
  ``ffn_block``), so the layer's output is its post-attention residual stream (output bias included).
* :func:`prune` slices the same components out of the weights, giving a smaller model with equal logits.

Nothing here patches a library: hooks are registered on module instances and always removed.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.utils import skip_init

from iclprune.core.components import Mask
from iclprune.model.sites import LayerSites, Sites, resolve


def _head_gate_hook(gate: torch.Tensor, d_head: int):
    """Pre-hook scaling the out-projection input per head; ``gate`` has shape ``(heads,)``."""

    def hook(module: nn.Module, args: tuple) -> tuple:
        x = args[0]
        g = gate.to(device=x.device, dtype=x.dtype).repeat_interleave(d_head)
        return (x * g, *args[1:])

    return hook


def _ffn_gate_hook(gate: torch.Tensor):
    """Forward hook scaling the FFN block's output by a scalar ``gate`` (exact zeros when it is 0)."""

    def zero(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(output)

    def scale(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        return output * gate.to(device=output.device, dtype=output.dtype)

    return zero if not gate.requires_grad and float(gate) == 0.0 else scale


@contextmanager
def gated(
    model: nn.Module,
    head_gates: torch.Tensor | None = None,
    ffn_gates: torch.Tensor | None = None,
    *,
    skip_ones: bool = False,
) -> Iterator[Sites]:
    """Scale every head's and FFN's output by a gate while the context is open.

    Args:
        model: a causal LM whose family has a site map.
        head_gates: ``(layers, heads)`` multipliers of each head's attention output (may require grad).
        ffn_gates: ``(layers,)`` multipliers of each FFN block's output (may require grad).
        skip_ones: register no hook for a layer whose gates are all exactly 1 and need no grad.

    Yields the resolved :class:`~iclprune.model.sites.Sites`. Every hook is removed on exit, error or not.
    """
    sites = resolve(model)
    if head_gates is not None and tuple(head_gates.shape) != sites.shape:
        raise ValueError(
            f"head_gates has shape {tuple(head_gates.shape)}; expected (layers, heads)={sites.shape}"
        )
    if ffn_gates is not None and tuple(ffn_gates.shape) != (sites.n_layers,):
        raise ValueError(f"ffn_gates has shape {tuple(ffn_gates.shape)}; expected ({sites.n_layers},)")
    handles = []
    try:
        for ls in sites.layers:
            if head_gates is not None:
                g = head_gates[ls.index]
                if not (skip_ones and not g.requires_grad and bool((g == 1).all())):
                    handles.append(ls.o.register_forward_pre_hook(_head_gate_hook(g, sites.d_head)))
            if ffn_gates is not None:
                g = ffn_gates[ls.index]
                if not (skip_ones and not g.requires_grad and float(g) == 1.0):
                    handles.append(ls.ffn_block.register_forward_hook(_ffn_gate_hook(g)))
        yield sites
    finally:
        for handle in handles:
            handle.remove()


def mask_gates(mask: Mask, sites: Sites) -> tuple[torch.Tensor, torch.Tensor]:
    """0/1 gates for ``mask``: ``(layers, heads)`` head gates and ``(layers,)`` FFN gates."""
    mask.check(sites.n_layers, sites.n_heads)
    heads = torch.ones(sites.shape)
    for layer, head in mask.heads:
        heads[layer, head] = 0.0
    ffns = torch.ones(sites.n_layers)
    for layer in mask.ffns:
        ffns[layer] = 0.0
    return heads, ffns


@contextmanager
def masked(model: nn.Module, mask: Mask, *, hook_all_layers: bool = False) -> Iterator[Sites]:
    """Remove ``mask``'s heads and FFNs from ``model`` while the context is open.

    By default only layers with something removed get a hook; ``hook_all_layers=True`` hooks every
    layer (gates of 1 elsewhere), which leaves logits bit-identical to the unhooked model.
    """
    heads, ffns = mask_gates(mask, resolve(model))
    with gated(model, heads, ffns, skip_ones=not hook_all_layers) as sites:
        yield sites


def _row_gates(gates: torch.Tensor, n_rows: int, like: torch.Tensor) -> torch.Tensor:
    """Per-row gates of a variant-major batch: ``gates`` ``(K, ...)`` → ``(n_rows, ...)``, block ``k`` of
    ``n_rows // K`` consecutive rows getting variant ``k``'s gates."""
    k = gates.shape[0]
    if n_rows % k:
        raise ValueError(f"a batch of {n_rows} rows cannot hold {k} mask variants in equal blocks")
    return gates.to(device=like.device, dtype=like.dtype).repeat_interleave(n_rows // k, dim=0)


@contextmanager
def variants_masked(model: nn.Module, masks: Sequence[Mask]) -> Iterator[Sites]:
    """Remove a different mask from each block of rows of every forward while the context is open.

    A forward's batch of ``N`` rows must be ``K = len(masks)`` equal blocks, variant-major: rows
    ``k·N/K … (k+1)·N/K − 1`` run without ``masks[k]``'s heads and FFNs (inputs, positions, attention
    mask and any KV cache tiled the same way). Each block's outputs equal those of the same rows under
    :func:`masked` with ``masks[k]``, up to floating-point reassociation in the bigger matmuls (a removed
    FFN's output is multiplied by 0 instead of replaced by zeros). Only layers where some mask removes
    something are hooked.
    """
    if not masks:
        raise ValueError("variants_masked needs at least one mask")
    sites = resolve(model)
    gates = [mask_gates(m, sites) for m in masks]
    heads = torch.stack([h for h, _ in gates])  # (K, layers, heads)
    ffns = torch.stack([f for _, f in gates])  # (K, layers)
    d_head = sites.d_head

    def head_hook(g: torch.Tensor):  # g: (K, heads)
        def hook(module: nn.Module, args: tuple) -> tuple:
            x = args[0]  # (N, T, heads·d_head)
            rows = _row_gates(g, x.shape[0], x).repeat_interleave(d_head, dim=1)  # (N, heads·d_head)
            return (x * rows.unsqueeze(1), *args[1:])

        return hook

    def ffn_hook(g: torch.Tensor):  # g: (K,)
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            return output * _row_gates(g, output.shape[0], output).view(-1, *[1] * (output.dim() - 1))

        return hook

    handles = []
    try:
        for ls in sites.layers:
            if bool((heads[:, ls.index] != 1).any()):
                handles.append(ls.o.register_forward_pre_hook(head_hook(heads[:, ls.index])))
            if bool((ffns[:, ls.index] != 1).any()):
                handles.append(ls.ffn_block.register_forward_hook(ffn_hook(ffns[:, ls.index])))
        yield sites
    finally:
        for handle in handles:
            handle.remove()


# --------------------------------------------------------------------------------------- physical pruning
def _set(root: nn.Module, path: str, module: nn.Module) -> None:
    *parents, name = path.split(".")
    for p in parents:
        root = getattr(root, p)
    setattr(root, name, module)


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    out_f, in_f = weight.shape
    # skip_init: no random initialisation of weights that are overwritten at once (and none of size 0).
    with warnings.catch_warnings():  # "Initializing zero-element tensors is a no-op" for removed FFNs
        warnings.simplefilter("ignore", UserWarning)
        lin = skip_init(
            nn.Linear, in_f, out_f, bias=bias is not None, device=weight.device, dtype=weight.dtype
        )
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    return lin


def _rows(lin: nn.Linear, blocks: list[int | None], block: int) -> nn.Linear:
    """A linear keeping output-row blocks ``blocks`` (size ``block``); ``None`` = an all-zero block."""
    w = lin.weight.detach().view(-1, block, lin.in_features)
    b = lin.bias.detach().view(-1, block) if lin.bias is not None else None
    zw = torch.zeros_like(w[0])
    new_w = torch.stack([w[i] if i is not None else zw for i in blocks]).reshape(-1, lin.in_features)
    new_b = None
    if b is not None:
        zb = torch.zeros_like(b[0])
        new_b = torch.stack([b[i] if i is not None else zb for i in blocks]).reshape(-1)
    return _linear(new_w, new_b)


def _cols(lin: nn.Linear, blocks: list[int | None], block: int) -> nn.Linear:
    """A linear keeping input-column blocks ``blocks``; ``None`` = an all-zero block. Bias kept."""
    w = lin.weight.detach().view(lin.out_features, -1, block)
    zw = torch.zeros_like(w[:, 0])
    new_w = torch.stack([w[:, i] if i is not None else zw for i in blocks], dim=1).reshape(
        lin.out_features, -1
    )
    return _linear(new_w, None if lin.bias is None else lin.bias.detach())


def _prune_heads(sites: Sites, ls: LayerSites, removed: set[int]) -> None:
    spec, d, G = sites.spec, sites.d_head, sites.group_size
    kept_by_group = [
        [h for h in range(g * G, (g + 1) * G) if h not in removed] for g in range(sites.n_kv_heads)
    ]
    groups = [g for g, kept in enumerate(kept_by_group) if kept]
    if not groups:
        # Every head is gone: keep one all-zero dummy head so the stock forward still runs; its output
        # projection column is zero, so the layer adds exactly the out-projection bias, like the mask.
        q_blocks: list[int | None] = [None]
        kv_blocks = [0]
        rep = 1
    else:
        # Uneven groups are padded with dummy query heads (zero q rows, zero o columns) so every kept KV
        # head serves the same number of query slots, as the stock repeat_kv expects.
        rep = max(len(kept_by_group[g]) for g in groups)
        q_blocks = []
        for g in groups:
            kept = kept_by_group[g]
            q_blocks += kept + [None] * (rep - len(kept))
        kv_blocks = groups
    if spec.qkv_layout == "separate":
        _set(ls.attn, spec.q, _rows(ls.q, q_blocks, d))
        _set(ls.attn, spec.k, _rows(ls.k, list(kv_blocks), d))
        _set(ls.attn, spec.v, _rows(ls.v, list(kv_blocks), d))
    else:  # fused_per_head: multi-head only, blocks of [q; k; v] per head
        _set(ls.attn, spec.q, _rows(ls.q, q_blocks, 3 * d))
    _set(ls.attn, spec.o, _cols(ls.o, q_blocks, d))
    counts = {"heads": len(q_blocks), "kv_heads": len(kv_blocks), "groups": rep}
    for attr, which in spec.head_count_attrs.items():
        setattr(ls.attn, attr, counts[which])


def _drop_ffn(sites: Sites, ls: LayerSites) -> None:
    # Zero hidden units: the input linears produce nothing and the output linear, without its bias,
    # maps the empty hidden state to exact zeros, so the layer returns its post-attention residual.
    for path, lin in zip(sites.spec.ffn_in, ls.ffn_in, strict=True):
        empty_b = None if lin.bias is None else lin.bias.detach()[:0]
        _set(ls.layer, path, _linear(lin.weight.detach()[:0], empty_b))
    _set(ls.layer, sites.spec.ffn_out, _linear(ls.ffn_out.weight.detach()[:, :0], None))


def prune(model: nn.Module, mask: Mask, *, inplace: bool = False) -> nn.Module:
    """Physically remove ``mask``'s heads and FFNs, returning a smaller model with the masked logits.

    Query heads are sliced out of q and o; a KV head (GQA) goes only when its whole group goes. A
    layer that loses every head keeps one zero dummy head; groups left uneven are padded with zero
    dummy query heads. Removed FFNs keep no hidden unit and no output bias.
    The model is deep-copied first unless ``inplace``. Its config still describes the original sizes,
    so the result is for in-memory use (evaluation, timing), not for ``save_pretrained``.
    """
    sites = resolve(model)
    mask.check(sites.n_layers, sites.n_heads)
    if not inplace:
        model = copy.deepcopy(model)
        sites = resolve(model)
    for ls in sites.layers:
        removed = {h for (layer, h) in mask.heads if layer == ls.index}
        if removed:
            _prune_heads(sites, ls, removed)
        if ls.index in mask.ffns:
            _drop_ffn(sites, ls)
    return model


def n_parameters(model: nn.Module) -> int:
    """Number of parameter elements (tied weights counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
