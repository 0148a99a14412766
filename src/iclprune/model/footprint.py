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
is one, else :data:`KNOWN_CONFIGS` (every OPT and Pythia size, shipped with the package, so the dry runs
of the paper and of the scale studies, and the tests, work with no network and no download), else the
spec's ``params_b`` (a coarse, size-only estimate).

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

# Architecture numbers of public checkpoints, shipped so that plans, resources and cost estimates need no
# network and no download. The one table of them: iclprune.workflow.cost reads it too (known_config).
#
# OPT (Zhang et al. 2022, "OPT: Open Pre-trained Transformer Language Models", arXiv:2205.01068, Table 1;
# the same numbers as each facebook/opt-* repository's config.json at revision main): FFN 4 × hidden,
# vocabulary 50272, 2048 positions, input and output embeddings tied. OPT-66B: 64 pre-LN decoder layers,
# hidden 9216, 72 heads, FFN 36864, ~65.7B parameters. OPT-350M alone is post-LN
# (do_layer_norm_before false) and projects its 1024-wide layers to 512-wide embeddings.
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
OPT_SIZES: dict[str, tuple[int, int, int]] = {  # size: (layers, heads, hidden)
    "125m": (12, 12, 768), "350m": (24, 16, 1024), "1.3b": (24, 32, 2048), "2.7b": (32, 32, 2560),
    "6.7b": (32, 32, 4096), "13b": (40, 40, 5120), "30b": (48, 56, 7168), "66b": (64, 72, 9216),
}  # fmt: skip
_OPT_350M = {"word_embed_proj_dim": 512, "do_layer_norm_before": False}

# Pythia (Biderman et al. 2023, "Pythia: A Suite for Analyzing Large Language Models Across Training and
# Scaling", arXiv:2304.01373, Table 1; GPT-NeoX): FFN 4 × hidden, 2048 positions, rotary embeddings on 25%
# of each head's dimensions, parallel attention and FFN, untied input and output embeddings. The
# vocabulary is padded: 50304 up to 2.8B, 50432 for 6.9B and 50688 for 12B — the sizes that give exactly
# the total parameter counts published with the models (70,426,624 for 70M … 6,857,302,016 for 6.9B and
# 11,846,072,320 for 12B; tests/test_cost_scale.py checks all eight). The -deduped models (trained on the
# deduplicated Pile) have the same architectures; a training checkpoint (branch step<N>) its final model's.
_PYTHIA_COMMON: dict[str, Any] = {
    "model_type": "gpt_neox",
    "architectures": ["GPTNeoXForCausalLM"],
    "hidden_act": "gelu",
    "max_position_embeddings": 2048,
    "rotary_pct": 0.25,
    "rotary_emb_base": 10000,
    "use_parallel_residual": True,
    "tie_word_embeddings": False,
    "layer_norm_eps": 1e-5,
    "initializer_range": 0.02,
    "bos_token_id": 0,
    "eos_token_id": 0,
    "torch_dtype": "float16",
}
PYTHIA_SIZES: dict[str, tuple[int, int, int, int]] = {  # size: (layers, heads, hidden, vocabulary)
    "70m": (6, 8, 512, 50304), "160m": (12, 12, 768, 50304), "410m": (24, 16, 1024, 50304),
    "1b": (16, 8, 2048, 50304), "1.4b": (24, 16, 2048, 50304), "2.8b": (32, 32, 2560, 50304),
    "6.9b": (32, 32, 4096, 50432), "12b": (36, 40, 5120, 50688),
}  # fmt: skip
# where each family's numbers come from (model_type → the table they are quoted from)
KNOWN_CITATIONS: dict[str, str] = {"opt": "OPT paper, Table 1", "gpt_neox": "Pythia paper, Table 1"}


def _opt_config(size: str) -> dict[str, Any]:
    layers, heads, hidden = OPT_SIZES[size]
    shape = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads}
    return (
        _OPT_COMMON
        | shape
        | {"ffn_dim": 4 * hidden, "word_embed_proj_dim": hidden}
        | (_OPT_350M if size == "350m" else {})
    )


def _pythia_config(size: str) -> dict[str, Any]:
    layers, heads, hidden, vocab = PYTHIA_SIZES[size]
    shape = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads}
    return _PYTHIA_COMMON | shape | {"intermediate_size": 4 * hidden, "vocab_size": vocab}


KNOWN_CONFIGS: dict[str, dict[str, Any]] = {
    **{f"facebook/opt-{size}": _opt_config(size) for size in OPT_SIZES},
    **{f"EleutherAI/pythia-{size}": _pythia_config(size) for size in PYTHIA_SIZES},
    **{f"EleutherAI/pythia-{size}-deduped": _pythia_config(size) for size in PYTHIA_SIZES},
}


def known_names() -> str:
    """The models of :data:`KNOWN_CONFIGS`, in short: ``facebook/opt-{125m, …}, EleutherAI/pythia-{…}``."""
    return (
        f"facebook/opt-{{{', '.join(OPT_SIZES)}}}, EleutherAI/pythia-{{{', '.join(PYTHIA_SIZES)}}} "
        "and their -deduped variants"
    )


def known_config(source: str) -> tuple[str, dict[str, Any]] | None:
    """``(hub id, config.json mapping)`` of a model in :data:`KNOWN_CONFIGS` (hub ids compared without
    regard to case, as the hub does: ``facebook/OPT-66B`` is ``facebook/opt-66b``), or None."""
    if source in KNOWN_CONFIGS:
        return source, KNOWN_CONFIGS[source]
    folded = {name.lower(): name for name in KNOWN_CONFIGS}
    name = folded.get(str(source).strip().lower())
    return (name, KNOWN_CONFIGS[name]) if name else None


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
    known = known_config(source)
    if known is not None:
        return ModelSize(source, config_from_dict(known[1]), "iclprune.model.placement.KNOWN_CONFIGS")
    if spec.get("params_b") is not None:
        return ModelSize(source, None, "params_b in the model spec", float(spec["params_b"]))
    raise PlacementError(
        f"cannot size model {source!r}: no config.json in a local directory or the Hugging Face cache "
        f"(HF_HOME={os.environ.get('HF_HOME', '~/.cache/huggingface')}), and it is not one of the known "
        f"configs ({known_names()}); download it first, or add `params_b: <billions of parameters>` to its "
        "model spec"
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
