"""What a model weighs before it is placed: its architecture, its weights and its activations.

Everything here works without loading a single weight (the planner in :mod:`iclprune.model.placement`
builds on it):

* memory sizes and dtypes: :func:`parse_memory` (``"80GiB"``, ``"75GB"``), :func:`parse_max_memory`
  (per-device caps), :func:`dtype_bytes`;
* the architecture of a model spec (:func:`model_size`) and the model built from it on the meta device
  (:func:`meta_model`), with its unsplittable decoder layers (:func:`decoder_layers`);
* the workload run on it (:class:`Workload`) and the activation memory it needs
  (:func:`activation_reserve`).

Where the architecture comes from, for a hub id: the ``config.json`` of its cached snapshot when there
is one, else :data:`KNOWN_CONFIGS` (shipped with the package, so the paper's dry run and the tests work
with no network and no download), else the spec's ``params_b`` (a coarse, size-only estimate).

Activation estimates (bytes, per decoder layer, per token; ``d`` hidden size, ``f`` FFN width, ``h``
heads, ``T`` sequence length, ``b`` bytes per element of the dtype) — upper estimates, not measurements:

* backward stage, saved until the backward pass (parameters are frozen, so no linear keeps its input;
  what remains is each LayerNorm's input, SDPA's q/k/v/output, the head-gate product's operand and the
  activation function's output): ``b·(8·d + f)``; with eager attention also the probabilities ``b·h·T``;
* every stage, transient (one layer's working set, never freed before the next layer starts):
  ``b·(4·d + f)`` (+ ``b·h·T`` eager), plus the logits and their log-softmax in float32,
  ``2·4·vocab`` per token, plus a fixed 2 GiB per GPU for the CUDA context and allocator slack.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from torch import nn
    from transformers import PretrainedConfig

GiB = 1 << 30
MiB = 1 << 20
GPU_OVERHEAD = 2 * GiB  # CUDA context, cuBLAS workspace, allocator fragmentation (per GPU)
DEFAULT_SEQ_CAP = 2048  # tokens per sequence assumed when a model allows more (lm-eval truncates to this)
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
WorkloadKind = Literal["forward", "backward"]
DeviceKey = int | str

# Architecture numbers of public checkpoints, exactly as in each repository's config.json on the Hugging
# Face hub (facebook/opt-13b, -30b, -66b at revision main; the same numbers are Table 1 of Zhang et al.
# 2022, "OPT: Open Pre-trained Transformer Language Models", arXiv:2205.01068). OPT-66B: 64 pre-LN decoder
# layers, hidden 9216, 72 heads, FFN 36864, vocabulary 50272, 2048 positions, ~65.7B parameters
# (input and output embeddings tied). Shipped so plans and resources need no network and no download.
_OPT_COMMON: dict[str, Any] = {
    "model_type": "opt",
    "architectures": ["OPTForCausalLM"],
    "activation_function": "relu",
    "do_layer_norm_before": True,
    "enable_bias": True,
    "max_position_embeddings": 2048,
    "vocab_size": 50272,
    "pad_token_id": 1,
    "bos_token_id": 2,
    "eos_token_id": 2,
    "dropout": 0.1,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "layerdrop": 0.0,
    "init_std": 0.02,
    "torch_dtype": "float16",
}
KNOWN_CONFIGS: dict[str, dict[str, Any]] = {
    "facebook/opt-13b": _OPT_COMMON
    | {"hidden_size": 5120, "num_hidden_layers": 40, "num_attention_heads": 40, "ffn_dim": 20480}
    | {"word_embed_proj_dim": 5120},
    "facebook/opt-30b": _OPT_COMMON
    | {"hidden_size": 7168, "num_hidden_layers": 48, "num_attention_heads": 56, "ffn_dim": 28672}
    | {"word_embed_proj_dim": 7168},
    "facebook/opt-66b": _OPT_COMMON
    | {"hidden_size": 9216, "num_hidden_layers": 64, "num_attention_heads": 72, "ffn_dim": 36864}
    | {"word_embed_proj_dim": 9216},
}


class PlacementError(ValueError):
    """A model cannot be placed as asked (too big for the caps, bad dtype or memory size, unknown size)."""


# ------------------------------------------------------------------------------------------- parsing
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
}


def parse_memory(value: int | str, *, what: str = "memory size") -> int:
    """Bytes of a memory size: an integer (bytes) or a string such as ``"80GiB"``, ``"75GB"``, ``"512MiB"``."""
    if isinstance(value, bool):
        raise PlacementError(f"bad {what} {value!r}; expected bytes or a size such as '80GiB' or '75GB'")
    if isinstance(value, int):
        if value <= 0:
            raise PlacementError(f"bad {what} {value!r}; expected a positive number of bytes")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise PlacementError(
            f"bad {what} {value!r}; expected a number with a unit such as '80GiB', '75GB' or '512MiB' "
            "(units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
        )
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size <= 0:
        raise PlacementError(f"bad {what} {value!r}; expected a positive size")
    return size


def dtype_bytes(dtype: str) -> int:
    """Bytes per parameter of a dtype name (``float16``, ``bfloat16``, ``float32``, ``float64``)."""
    if dtype not in DTYPE_BYTES:
        raise PlacementError(f"unknown dtype {dtype!r}; expected one of {sorted(DTYPE_BYTES)}")
    return DTYPE_BYTES[dtype]


def _device_key(key: Any) -> DeviceKey:
    if isinstance(key, int) and not isinstance(key, bool) and key >= 0:
        return key
    text = str(key).strip().lower()
    if text.isdigit():
        return int(text)
    if text in ("cpu", "disk"):
        return text
    raise PlacementError(f"bad device {key!r} in max_memory; expected a GPU index (0, 1, ...) or 'cpu'")


def parse_max_memory(max_memory: Mapping[Any, int | str], n_gpus: int | None = None) -> dict[DeviceKey, int]:
    """Per-device caps in bytes. Keys: GPU indices, ``cpu``, or ``gpu`` (every one of ``n_gpus`` GPUs)."""
    caps: dict[DeviceKey, int] = {}
    for key, value in max_memory.items():
        if str(key).strip().lower() == "gpu":
            if n_gpus is None:
                raise PlacementError(
                    "max_memory key 'gpu' (every GPU) needs a GPU count; give indices instead"
                )
            for i in range(n_gpus):
                caps.setdefault(i, parse_memory(value, what=f"max_memory for GPU {i}"))
            continue
        device = _device_key(key)
        caps[device] = parse_memory(value, what=f"max_memory[{key!r}]")
    return caps


def _gib(n: float) -> str:
    return f"{n / GiB:.1f} GiB"


# -------------------------------------------------------------------------------------- architecture
def _hub_cached_config(repo: str, revision: str | None) -> Path | None:
    """The ``config.json`` of a cached hub snapshot, or None (never touches the network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub is a transformers dependency
        return None
    found = try_to_load_from_cache(repo, "config.json", revision=revision)
    return Path(found) if isinstance(found, str) else None


@dataclass(frozen=True)
class ModelSize:
    """What a model spec weighs: its HF config (None when only ``params_b`` is known) and where from."""

    name: str
    config: PretrainedConfig | None
    source: str
    params_b: float | None = None


def model_size(spec: Mapping[str, Any]) -> ModelSize:
    """Resolve a model spec's architecture: local ``config.json``, cached hub config, known configs, or
    ``params_b``; a clear error when none is available."""
    from transformers import AutoConfig

    source = str(spec["source"])
    if source == "embedded" or source.startswith(("embedded:", "tiny:")):
        raise PlacementError(f"model {source!r} runs on CPU; it has no placement plan")
    if spec.get("params_b") is not None and float(spec["params_b"]) <= 0:
        raise PlacementError(f"bad params_b {spec['params_b']!r}; expected billions of parameters > 0")
    path = Path(source).expanduser()
    if (path / "config.json").is_file():
        return ModelSize(source, AutoConfig.from_pretrained(str(path)), f"{path / 'config.json'}")
    cached = None if path.exists() else _hub_cached_config(source, spec.get("revision"))
    if cached is not None:
        return ModelSize(source, AutoConfig.from_pretrained(str(cached)), f"cached {cached}")
    if source in KNOWN_CONFIGS:
        return ModelSize(
            source, config_from_dict(KNOWN_CONFIGS[source]), "iclprune.model.placement.KNOWN_CONFIGS"
        )
    if spec.get("params_b") is not None:
        return ModelSize(source, None, "params_b in the model spec", float(spec["params_b"]))
    raise PlacementError(
        f"cannot size model {source!r}: no config.json in a local directory or the Hugging Face cache "
        f"(HF_HOME={os.environ.get('HF_HOME', '~/.cache/huggingface')}), and it is not one of the known "
        f"configs ({', '.join(KNOWN_CONFIGS)}); download it first, or add `params_b: <billions of "
        "parameters>` to its model spec"
    )


def config_from_dict(data: Mapping[str, Any]) -> PretrainedConfig:
    """A transformers config from a ``config.json``-style mapping (``model_type`` selects the class)."""
    from transformers import AutoConfig

    fields = dict(data)
    model_type = fields.pop("model_type", None)
    if model_type is None:
        raise PlacementError("config has no model_type; expected a transformers config.json mapping")
    return AutoConfig.for_model(model_type, **fields)


def meta_model(config: PretrainedConfig, dtype: str = "float16") -> nn.Module:
    """The causal LM of ``config`` on the meta device (shapes and dtypes, no storage), weights tied."""
    import torch
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM

    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # pragma: no cover - older transformers
        no_init_weights = nullcontext
    dtype_bytes(dtype)
    with init_empty_weights(), no_init_weights():
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    model.tie_weights()
    return model


def decoder_layers(model: nn.Module) -> list[str]:
    """Names of the model's unsplittable blocks (its ``_no_split_modules``: the decoder layers)."""
    classes = set(getattr(model, "_no_split_modules", None) or [])
    if not classes:
        raise PlacementError(
            f"{type(model).__name__} declares no _no_split_modules; cannot place it by layer"
        )
    return [name for name, module in model.named_modules() if type(module).__name__ in classes]


def _tensor_bytes(tensor: Any, dtype: str) -> int:
    return tensor.numel() * (DTYPE_BYTES[dtype] if tensor.is_floating_point() else tensor.element_size())


# ------------------------------------------------------------------------------------------ workload
@dataclass(frozen=True)
class Workload:
    """What runs on the placed model: ``forward`` (evaluation) or ``backward`` (importance), at
    ``batch_size`` sequences of ``seq_len`` tokens (None: the model's maximum, at most 2048)."""

    kind: WorkloadKind = "forward"
    batch_size: int = 8
    seq_len: int | None = None
    attn_implementation: str = "sdpa"

    def __post_init__(self) -> None:
        if self.kind not in ("forward", "backward"):
            raise PlacementError(f"unknown workload {self.kind!r}; expected 'forward' or 'backward'")
        if self.batch_size < 1 or (self.seq_len is not None and self.seq_len < 1):
            raise PlacementError(
                f"bad workload batch_size={self.batch_size} seq_len={self.seq_len}; expected positive integers"
            )


@dataclass(frozen=True)
class ActivationReserve:
    """Activation bytes: ``per_layer`` saved for the backward pass by each decoder layer a GPU holds, and
    ``per_gpu`` held transiently on every GPU (overhead + one layer's working set + logits)."""

    per_layer: int
    per_gpu: int
    tokens: int


def _geometry(config: PretrainedConfig) -> tuple[int, int, int, int, int]:
    d = int(config.hidden_size)
    heads = int(config.num_attention_heads)
    ffn = int(getattr(config, "ffn_dim", 0) or getattr(config, "intermediate_size", 0) or 4 * d)
    vocab = int(config.vocab_size)
    positions = int(getattr(config, "max_position_embeddings", DEFAULT_SEQ_CAP) or DEFAULT_SEQ_CAP)
    return d, heads, ffn, vocab, positions


def activation_reserve(config: PretrainedConfig, workload: Workload, dtype: str) -> ActivationReserve:
    """Activation bytes of ``workload`` (see the module docstring for the formulas)."""
    b = dtype_bytes(dtype)
    d, heads, ffn, vocab, positions = _geometry(config)
    seq = min(workload.seq_len, positions) if workload.seq_len else min(positions, DEFAULT_SEQ_CAP)
    tokens = workload.batch_size * seq
    eager = heads * seq if workload.attn_implementation == "eager" else 0
    per_layer = tokens * b * (8 * d + ffn + eager) if workload.kind == "backward" else 0
    transient = tokens * b * (4 * d + ffn + eager) + tokens * vocab * 4 * 2
    return ActivationReserve(per_layer=per_layer, per_gpu=GPU_OVERHEAD + transient, tokens=tokens)
