"""Architecture site maps: where each family keeps its layers, attention projections, FFN and norms.

Every other module reaches into a model only through :func:`resolve`, so supporting a new family is one
new :class:`SiteMap` entry in :data:`SITE_MAPS` (see the GPT-NeoX entry), not edits across the code.

Paths are dotted attribute paths: ``layers`` from the ``*ForCausalLM`` object, ``attn``/``ffn_*``/norms
from one decoder layer, ``q``/``k``/``v``/``o`` from the attention module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

QKVLayout = Literal["separate", "fused_per_head"]


class UnsupportedArchitectureError(ValueError):
    """The model's family has no site map, or a site did not resolve to the expected module."""


@dataclass(frozen=True)
class SiteMap:
    """Where one architecture family keeps the components the study removes.

    Attributes:
        family: short family name used in tables and errors.
        model_types: ``config.model_type`` values this entry serves.
        layers: path from the causal-LM object to the ``nn.ModuleList`` of decoder layers.
        attn: path from a layer to its attention module.
        o: path from the attention module to its output projection; the projection's input is all heads'
            outputs concatenated, shape ``(batch, T, heads * d_head)`` (head-major).
        qkv_layout: ``"separate"`` (``q``, ``k``, ``v`` linears) or ``"fused_per_head"`` (one linear whose
            output is ``heads`` blocks of ``[q; k; v]``, as GPT-NeoX).
        q, k, v: paths from the attention module (``q`` names the fused linear for ``fused_per_head``).
        ffn_block: path from a layer to the module whose output is the FFN's whole contribution to the
            residual stream (output bias included); removing the FFN zeroes that output.
        ffn_in: paths from a layer to the linears whose output features are the FFN's hidden units.
        ffn_out: path from a layer to the linear whose input features are the FFN's hidden units.
        attn_norm, ffn_norm: paths from a layer to the norms before attention and before the FFN.
        head_count_attrs: attention-module attributes that the stock forward reads and that must follow
            physical slicing; values say which count: ``"heads"``, ``"kv_heads"`` or ``"groups"``.
        final_norm: path from the causal-LM object to the norm applied after the last decoder layer.
        project_out: path from the causal-LM object to an optional linear between the final norm and the
            unembedding (OPT's ``project_out`` when ``word_embed_proj_dim != hidden_size``; the attribute
            may hold ``None``); empty when the family has none.
        unembed: path from the causal-LM object to the unembedding linear (hidden → vocabulary logits).
    """

    family: str
    model_types: tuple[str, ...]
    layers: str
    attn: str
    o: str
    q: str
    k: str = ""
    v: str = ""
    qkv_layout: QKVLayout = "separate"
    ffn_block: str = "mlp"
    ffn_in: tuple[str, ...] = ()
    ffn_out: str = ""
    attn_norm: str = ""
    ffn_norm: str = ""
    head_count_attrs: dict[str, str] = field(default_factory=dict)
    final_norm: str = ""
    project_out: str = ""
    unembed: str = ""


SITE_MAPS: dict[str, SiteMap] = {
    "opt": SiteMap(
        family="opt",
        model_types=("opt",),
        layers="model.decoder.layers",
        attn="self_attn",
        q="q_proj",
        k="k_proj",
        v="v_proj",
        o="out_proj",
        # OPT's FFN is not a submodule: fc2's output (bias included) is its residual contribution.
        ffn_block="fc2",
        ffn_in=("fc1",),
        ffn_out="fc2",
        attn_norm="self_attn_layer_norm",
        ffn_norm="final_layer_norm",
        head_count_attrs={"num_heads": "heads"},
        final_norm="model.decoder.final_layer_norm",
        project_out="model.decoder.project_out",
        unembed="lm_head",
    ),
    "llama": SiteMap(
        family="llama",
        model_types=("llama", "mistral", "qwen2"),
        layers="model.layers",
        attn="self_attn",
        q="q_proj",
        k="k_proj",
        v="v_proj",
        o="o_proj",
        ffn_block="mlp",
        ffn_in=("mlp.gate_proj", "mlp.up_proj"),
        ffn_out="mlp.down_proj",
        attn_norm="input_layernorm",
        ffn_norm="post_attention_layernorm",
        head_count_attrs={"num_key_value_groups": "groups"},
        final_norm="model.norm",
        unembed="lm_head",
    ),
    "gpt_neox": SiteMap(
        family="gpt_neox",
        model_types=("gpt_neox",),
        layers="gpt_neox.layers",
        attn="attention",
        q="query_key_value",
        qkv_layout="fused_per_head",
        o="dense",
        ffn_block="mlp",
        ffn_in=("mlp.dense_h_to_4h",),
        ffn_out="mlp.dense_4h_to_h",
        attn_norm="input_layernorm",
        ffn_norm="post_attention_layernorm",
        final_norm="gpt_neox.final_layer_norm",
        unembed="lm_head",  # `embed_out` before transformers 5
    ),
}


def supported_model_types() -> list[str]:
    """All ``config.model_type`` values with a site map, sorted."""
    return sorted(t for m in SITE_MAPS.values() for t in m.model_types)


def site_map_for(model_type: str) -> SiteMap:
    """The site map serving ``model_type``; a clear error listing what is supported otherwise."""
    for entry in SITE_MAPS.values():
        if model_type in entry.model_types:
            return entry
    raise UnsupportedArchitectureError(
        f"unknown architecture model_type={model_type!r}: no site map; expected one of "
        f"{supported_model_types()} (add a SiteMap entry in iclprune.model.sites.SITE_MAPS)"
    )


def _get(root: nn.Module, path: str, what: str, family: str) -> nn.Module:
    obj: object = root
    for part in path.split("."):
        if not hasattr(obj, part):
            raise UnsupportedArchitectureError(
                f"site {what}={path!r} of the {family!r} site map did not resolve on "
                f"{type(root).__name__} (missing attribute {part!r})"
            )
        obj = getattr(obj, part)
    if not isinstance(obj, nn.Module):
        raise UnsupportedArchitectureError(
            f"site {what}={path!r} resolved to {type(obj).__name__}, not a module"
        )
    return obj


@dataclass(frozen=True)
class LayerSites:
    """The resolved modules of one decoder layer."""

    index: int
    layer: nn.Module
    attn: nn.Module
    o: nn.Linear
    q: nn.Linear
    k: nn.Linear | None
    v: nn.Linear | None
    ffn_block: nn.Module
    ffn_in: tuple[nn.Linear, ...]
    ffn_out: nn.Linear
    attn_norm: nn.Module | None
    ffn_norm: nn.Module | None


@dataclass(frozen=True)
class Sites:
    """A model's resolved sites plus its head geometry.

    ``n_heads`` query heads and ``n_kv_heads`` key/value heads per layer, ``d_head`` features per head;
    query head ``h`` reads KV head ``h // (n_heads // n_kv_heads)``.
    """

    spec: SiteMap
    layers: tuple[LayerSites, ...]
    n_heads: int
    n_kv_heads: int
    d_head: int

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def group_size(self) -> int:
        """Query heads per KV head (1 for multi-head attention)."""
        return self.n_heads // self.n_kv_heads

    @property
    def shape(self) -> tuple[int, int]:
        """``(layers, heads)``, the shape of every head-score matrix of this model."""
        return (self.n_layers, self.n_heads)


def _text_config(model: nn.Module):
    config = getattr(model, "config", None)
    if config is None:
        raise UnsupportedArchitectureError(
            f"{type(model).__name__} has no `config`: not a transformers model"
        )
    return config.get_text_config() if hasattr(config, "get_text_config") else config


def resolve(model: nn.Module) -> Sites:
    """Resolve every site of ``model`` and check shapes; raises UnsupportedArchitectureError otherwise."""
    config = _text_config(model)
    spec = site_map_for(getattr(config, "model_type", "<missing>"))
    if spec.family == "opt" and not getattr(config, "do_layer_norm_before", True):
        raise UnsupportedArchitectureError(
            "OPT with do_layer_norm_before=False (post-LN, e.g. opt-350m) is not supported: removing its FFN "
            "cannot skip the norm applied after the residual add; expected a pre-LN OPT"
        )
    n_heads = int(config.num_attention_heads)
    n_kv = int(getattr(config, "num_key_value_heads", None) or n_heads)
    if n_heads % n_kv:
        raise UnsupportedArchitectureError(
            f"num_attention_heads={n_heads} not divisible by num_kv_heads={n_kv}"
        )
    layer_list = _get(model, spec.layers, "layers", spec.family)
    if not isinstance(layer_list, nn.ModuleList) or len(layer_list) == 0:
        raise UnsupportedArchitectureError(f"site layers={spec.layers!r} is not a non-empty ModuleList")
    resolved = []
    d_head = 0
    for i, layer in enumerate(layer_list):
        attn = _get(layer, spec.attn, "attn", spec.family)

        def sub(root: nn.Module, path: str, what: str) -> nn.Module | None:
            return _get(root, path, what, spec.family) if path else None

        o = sub(attn, spec.o, "o")
        q = sub(attn, spec.q, "q")
        ffn_out = sub(layer, spec.ffn_out, "ffn_out")
        for name, mod in (("o", o), ("q", q), ("ffn_out", ffn_out)):
            if not isinstance(mod, nn.Linear):
                raise UnsupportedArchitectureError(
                    f"site {name} of layer {i} is {type(mod).__name__}; expected nn.Linear"
                )
        if o.in_features % n_heads:
            raise UnsupportedArchitectureError(
                f"layer {i}: {spec.o} has {o.in_features} input features, not a multiple of {n_heads} heads"
            )
        d_head = o.in_features // n_heads
        resolved.append(
            LayerSites(
                index=i,
                layer=layer,
                attn=attn,
                o=o,
                q=q,
                k=sub(attn, spec.k, "k"),
                v=sub(attn, spec.v, "v"),
                ffn_block=_get(layer, spec.ffn_block, "ffn_block", spec.family),
                ffn_in=tuple(_get(layer, p, "ffn_in", spec.family) for p in spec.ffn_in),
                ffn_out=ffn_out,
                attn_norm=sub(layer, spec.attn_norm, "attn_norm"),
                ffn_norm=sub(layer, spec.ffn_norm, "ffn_norm"),
            )
        )
    return Sites(spec=spec, layers=tuple(resolved), n_heads=n_heads, n_kv_heads=n_kv, d_head=d_head)


def param_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the model's first floating parameter."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


@dataclass(frozen=True)
class OutputSites:
    """The path from the last decoder layer's output (the residual stream) to the logits.

    ``logits = unembed(project_out(final_norm(h)))``, with ``project_out`` skipped when it is ``None``.
    """

    final_norm: nn.Module
    project_out: nn.Module | None
    unembed: nn.Linear

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits of residual-stream vectors: ``(..., d_model)`` → ``(..., vocab)``."""
        hidden = self.final_norm(hidden)
        if self.project_out is not None:
            hidden = self.project_out(hidden)
        return self.unembed(hidden)


def resolve_output(model: nn.Module) -> OutputSites:
    """The final norm, optional output projection and unembedding of ``model`` (from its site map)."""
    config = _text_config(model)
    spec = site_map_for(getattr(config, "model_type", "<missing>"))
    if not spec.final_norm or not spec.unembed:
        raise UnsupportedArchitectureError(
            f"the {spec.family!r} site map names no final_norm/unembed; expected both for the output path"
        )
    project_out = None
    if spec.project_out:
        *parents, name = spec.project_out.split(".")
        owner = _get(model, ".".join(parents), "project_out", spec.family) if parents else model
        project_out = getattr(owner, name, None)
        if project_out is not None and not isinstance(project_out, nn.Module):
            raise UnsupportedArchitectureError(
                f"site project_out={spec.project_out!r} resolved to {type(project_out).__name__}, "
                "not a module or None"
            )
    unembed = _get(model, spec.unembed, "unembed", spec.family)
    if not isinstance(unembed, nn.Linear):
        raise UnsupportedArchitectureError(
            f"site unembed={spec.unembed!r} is {type(unembed).__name__}; expected nn.Linear"
        )
    return OutputSites(_get(model, spec.final_norm, "final_norm", spec.family), project_out, unembed)
