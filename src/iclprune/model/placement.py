"""Where a big model's layers go, and what each workflow stage asks the scheduler for.

A model too large for one GPU is placed layer by layer over several (accelerate's ``device_map``). The
plan is made without loading a single weight: the model is built from its config on the meta device
(:func:`~iclprune.model.footprint.meta_model`), and ``accelerate.infer_auto_device_map`` assigns its
top-level modules to GPUs (then CPU, with offload) under per-device caps, never splitting the model's
``_no_split_modules`` (its decoder layers). Weights are not all a GPU holds: each GPU keeps a reserve for
activations, and importance (forward + backward) keeps every layer's saved tensors until the backward
pass, so it needs far more headroom than evaluation (forward only, one layer's tensors at a time). The
sizes, the architectures and the activation estimates are :mod:`iclprune.model.footprint`'s; this module
re-exports them (``__all__``), so ``from iclprune.model.placement import ...`` keeps working for them.

The same plan sizes the workflow: :func:`stage_resources` turns a model spec and a stage into Snakemake
resources (``gpu``, ``mem_mb``, ``runtime``) for ``rules/common.smk``. Models that run on CPU (the
embedded default, ``tiny:*``) get ``gpu=0`` and the CPU path's memory and time, unchanged.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iclprune.model.footprint import (
    DEFAULT_SEQ_CAP,
    DTYPE_BYTES,
    GPU_OVERHEAD,
    KNOWN_CONFIGS,
    ActivationReserve,
    DeviceKey,
    GiB,
    MiB,
    ModelSize,
    PlacementError,
    Workload,
    WorkloadKind,
    _gib,
    _tensor_bytes,
    activation_reserve,
    config_from_dict,
    decoder_layers,
    dtype_bytes,
    known_config,
    meta_model,
    model_size,
    parse_max_memory,
    parse_memory,
)

if TYPE_CHECKING:
    from torch import nn
    from transformers import PretrainedConfig

__all__ = [
    "DEFAULT_SEQ_CAP",
    "DTYPE_BYTES",
    "GPU_JOB_HOST_MEM",
    "GPU_OVERHEAD",
    "HARDWARE_MODELS",
    "KNOWN_CONFIGS",
    "LIGHT_RESOURCES",
    "MINUTES_PER_BILLION",
    "STAGES",
    "ActivationReserve",
    "ClusterSpec",
    "DeviceKey",
    "GiB",
    "MiB",
    "ModelSize",
    "PlacementError",
    "PlacementPlan",
    "Workload",
    "WorkloadKind",
    "activation_reserve",
    "check_gpu_requests",
    "config_from_dict",
    "decoder_layers",
    "device_of",
    "dtype_bytes",
    "gpus_needed",
    "hardware_table",
    "known_config",
    "meta_model",
    "model_size",
    "parse_max_memory",
    "parse_memory",
    "plan_placement",
    "runs_on_cpu",
    "stage_resources",
]

log = logging.getLogger(__name__)

# Workflow stages: what each computes (forward only or forward + backward) and its CPU-path resources
# (memory MiB, runtime minutes), which the CPU models keep and which floor the GPU models' numbers.
STAGES: dict[str, tuple[WorkloadKind, int, int]] = {
    "model": ("forward", 4000, 30),
    "importance": ("backward", 8000, 60),
    "ffn_oracle": ("forward", 8000, 120),
    "head_oracle": ("forward", 8000, 240),  # every head knocked out alone on the importance documents
    "iterative": ("backward", 8000, 120),  # gradient importance re-scored every pruning.iterative_step%
    "head_pruning": ("forward", 8000, 240),  # head sweep + three transfer sweeps
    "ffn_pruning": ("forward", 8000, 360),  # FFN sweep + combined grid
    "induction": ("forward", 8000, 120),
}
LIGHT_RESOURCES = {"mem_mb": 2000, "runtime": 10}  # tables and figures: no model, no GPU
# Wall-clock limit per billion parameters for the GPU path (minutes, the paper's workload: N = 2500
# importance documents, full evaluation splits, the default grids). Limits, not estimates of cost; scale
# them with cluster.runtime_scale (the sweeps resume from their checkpoints when a job hits its limit).
MINUTES_PER_BILLION = {
    "model": 1.0,
    "importance": 2.0,
    "ffn_oracle": 20.0,
    "head_oracle": 120.0,
    "iterative": 20.0,
    "head_pruning": 40.0,
    "ffn_pruning": 75.0,
    "induction": 1.0,
}
GPU_JOB_HOST_MEM = 32 * GiB  # host RAM of a GPU job: one checkpoint shard in flight, data, Python


# ---------------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class PlacementPlan:
    """Where every module goes and what each device holds.

    Attributes:
        model: the model's name. dtype: the weights' dtype name.
        device_map: module name → device (GPU index, ``"cpu"`` or ``"disk"``), for ``from_pretrained``.
        weight_bytes: device → bytes of weights placed there.
        activation_bytes: device → bytes reserved for activations (offloaded layers compute on GPU 0).
        max_memory: device → the cap it was planned under (bytes).
        layers: device → number of decoder layers placed there.
        n_gpus: GPUs holding at least one module. n_params: parameters (tied ones once).
    """

    model: str
    dtype: str
    workload: Workload
    device_map: dict[str, DeviceKey]
    weight_bytes: dict[DeviceKey, int]
    activation_bytes: dict[DeviceKey, int]
    max_memory: dict[DeviceKey, int]
    layers: dict[DeviceKey, int]
    n_gpus: int
    n_params: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_weight_bytes(self) -> int:
        return sum(self.weight_bytes.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): every mapping keyed by strings."""

        def keyed(d: Mapping[Any, Any]) -> dict[str, Any]:
            return {str(k): v for k, v in d.items()}

        return {
            "model": self.model,
            "dtype": self.dtype,
            "workload": {
                "kind": self.workload.kind,
                "batch_size": self.workload.batch_size,
                "seq_len": self.workload.seq_len,
            },
            "n_gpus": self.n_gpus,
            "n_params": self.n_params,
            "device_map": dict(self.device_map),
            "weight_bytes": keyed(self.weight_bytes),
            "activation_bytes": keyed(self.activation_bytes),
            "max_memory": keyed(self.max_memory),
            "layers": keyed(self.layers),
            "notes": list(self.notes),
        }


def device_of(name: str, device_map: Mapping[str, DeviceKey]) -> DeviceKey:
    """The device of module or parameter ``name`` under ``device_map`` (longest matching prefix)."""
    best, found = -1, None
    for key, device in device_map.items():
        if (key == "" or name == key or name.startswith(key + ".")) and len(key) > best:
            best, found = len(key), device
    if found is None:
        raise PlacementError(f"{name!r} is not placed by the device map; every module must be")
    return found


def _not_fit_message(
    name: str, n_params: int, weights: int, dtype: str, workload: Workload, reserve: ActivationReserve,
    caps: Mapping[DeviceKey, int], needed: int | None, why: str,
) -> str:  # fmt: skip
    gpus = {k: v for k, v in caps.items() if isinstance(k, int)}
    cap_text = ", ".join(f"{k}: {_gib(v)}" for k, v in caps.items()) or "none"
    per_gpu = max(gpus.values()) if gpus else None
    need_text = (
        f"it needs about {needed} GPUs of {_gib(per_gpu)}"
        if needed and per_gpu
        else "it does not fit in any number of GPUs of this size"
        if per_gpu
        else "no GPU was given"
    )
    act = (
        f"{_gib(reserve.per_layer)} saved per layer for the backward pass + {_gib(reserve.per_gpu)} per GPU"
        if workload.kind == "backward"
        else f"{_gib(reserve.per_gpu)} per GPU"
    )
    return (
        f"model {name} ({n_params / 1e9:.1f}B parameters = {weights / 1e9:.1f} GB of {dtype} weights, plus "
        f"activations for {workload.kind} at batch {workload.batch_size} x {reserve.tokens // workload.batch_size}"
        f" tokens: {act}) does not fit in {len(gpus)} GPU(s) with caps {{{cap_text}}}: {why}; {need_text} "
        "(or allow CPU offload with offload: {cpu: true} and a max_memory cpu cap, or lower the batch size)"
    )


class _NoFitError(Exception):
    """Internal: a placement attempt did not fit (``why`` says where)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def plan_placement(
    config: PretrainedConfig | nn.Module,
    *,
    max_memory: Mapping[Any, int | str],
    dtype: str = "float16",
    workload: Workload | None = None,
    cpu_offload: bool = False,
    offload_folder: str | Path | None = None,
    balanced: bool = False,
    name: str | None = None,
) -> PlacementPlan:
    """Plan a device map for the model of ``config`` (built on the meta device; an ``nn.Module`` already
    on the meta device is used as is) under per-device caps ``max_memory`` (``{0: "80GiB", ..., "cpu":
    "200GiB"}``), reserving activation memory for ``workload`` on every GPU.

    Layers go to GPUs first; with ``cpu_offload`` (and a ``cpu`` cap) the rest to CPU RAM, with an
    ``offload_folder`` to disk. ``balanced`` spreads the layers evenly over all the GPUs given instead of
    filling GPU 0 first (used at load time, when the job holds exactly the GPUs it asked for). Raises
    :class:`PlacementError` naming the model size, the caps and how many GPUs it would need when it does
    not fit.
    """
    from torch import nn as _nn

    workload = workload or Workload()
    dtype_bytes(dtype)
    model = config if isinstance(config, _nn.Module) else meta_model(config, dtype)
    name = name or getattr(model.config, "_name_or_path", "") or type(model).__name__
    caps = parse_max_memory(max_memory)
    try:
        return _plan(model, caps, dtype, workload, cpu_offload, offload_folder, balanced, name)
    except _NoFitError as no_fit:
        gpus = [v for k, v in caps.items() if isinstance(k, int)]
        needed = gpus_needed(model, dtype=dtype, workload=workload, gpu_bytes=max(gpus)) if gpus else None
        n_params = sum(p.numel() for p in model.parameters())
        weights = sum(_tensor_bytes(t, dtype) for t in list(model.parameters()) + list(model.buffers()))
        reserve = activation_reserve(model.config, workload, dtype)
        raise PlacementError(
            _not_fit_message(name, n_params, weights, dtype, workload, reserve, caps, needed, no_fit.why)
        ) from None


@contextmanager
def _quiet_accelerate() -> Iterator[None]:
    """Silence accelerate's per-call warnings about GPUs this (planning) machine does not have."""
    logger = logging.getLogger("accelerate.utils.modeling")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _plan(
    model: nn.Module,
    caps: dict[DeviceKey, int],
    dtype: str,
    workload: Workload,
    cpu_offload: bool,
    offload_folder: str | Path | None,
    balanced: bool,
    name: str,
) -> PlacementPlan:
    from accelerate.utils import get_balanced_memory, infer_auto_device_map

    caps = dict(caps)
    if not cpu_offload:
        caps.pop("cpu", None)
    caps.pop("disk", None)
    if not caps:
        raise PlacementError(f"no device to place {name} on: max_memory gives no GPU (and no cpu cap)")
    gpus = sorted(k for k in caps if isinstance(k, int))
    layers = decoder_layers(model)
    if not layers:
        raise PlacementError(f"{name}: no decoder layers found; cannot plan a placement")
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    n_params = sum(p.numel() for p in params.values())
    sizes = {n: _tensor_bytes(t, dtype) for n, t in (params | buffers).items()}
    layer_bytes = max(sum(v for n, v in sizes.items() if n.startswith(layer + ".")) for layer in layers)
    reserve = activation_reserve(model.config, workload, dtype)

    # Weight budget per GPU: the cap less the per-GPU reserve, shared between a layer's weights and the
    # activations it saves for the backward pass (uniform layers: k layers need k·(w + a) bytes).
    share = layer_bytes / (layer_bytes + reserve.per_layer)
    budget: dict[DeviceKey, int] = {}
    for device, cap in caps.items():
        budget[device] = int((cap - reserve.per_gpu) * share) if isinstance(device, int) else cap
    if gpus and not cpu_offload and all(budget[g] < layer_bytes for g in gpus):
        raise _NoFitError(
            f"each GPU holds less than one decoder layer ({_gib(layer_bytes)}) after its reserve"
        )
    budget = {k: v for k, v in budget.items() if v > 0}
    no_split = list(model._no_split_modules)
    with _quiet_accelerate():
        if balanced and len(gpus) > 1:
            budget = get_balanced_memory(
                model, max_memory=budget, no_split_module_classes=no_split, dtype=dtype
            )
        device_map = dict(
            infer_auto_device_map(model, max_memory=budget, no_split_module_classes=no_split, dtype=dtype)
        )
    weight_bytes: dict[DeviceKey, int] = {}
    for tensor_name, size in sizes.items():
        device = device_of(tensor_name, device_map)
        weight_bytes[device] = weight_bytes.get(device, 0) + size
    layer_count: dict[DeviceKey, int] = {}
    for layer in layers:
        device = device_of(layer, device_map)
        layer_count[device] = layer_count.get(device, 0) + 1
    on_disk = weight_bytes.get("disk", 0)
    if on_disk and offload_folder is None:
        raise _NoFitError(f"{_gib(on_disk)} of weights ({layer_count.get('disk', 0)} layers) are left over")
    activation: dict[DeviceKey, int] = {}
    for g in gpus:
        if weight_bytes.get(g) or g == gpus[0]:
            activation[g] = reserve.per_gpu + layer_count.get(g, 0) * reserve.per_layer
    offloaded = layer_count.get("cpu", 0) + layer_count.get("disk", 0)
    notes: list[str] = []
    if gpus and offloaded:
        activation[gpus[0]] += offloaded * reserve.per_layer
        notes.append(f"{offloaded} offloaded layers compute on GPU {gpus[0]}")
    for g in gpus:
        used = weight_bytes.get(g, 0) + activation.get(g, 0)
        if used > caps[g]:
            raise _NoFitError(f"GPU {g} would hold {_gib(used)} (weights and activations)")
    n_gpus = sum(1 for g in gpus if weight_bytes.get(g))
    return PlacementPlan(
        model=name, dtype=dtype, workload=workload, device_map=device_map, weight_bytes=weight_bytes,
        activation_bytes=activation, max_memory=caps, layers=layer_count, n_gpus=n_gpus, n_params=n_params,
        notes=tuple(notes),
    )  # fmt: skip


def gpus_needed(
    model: nn.Module, *, dtype: str, workload: Workload, gpu_bytes: int, limit: int = 512
) -> int | None:
    """The fewest GPUs of ``gpu_bytes`` each that hold ``model`` (on the meta device) for ``workload``,
    by planning with 1, 2, ... GPUs from a lower bound on; None when it needs more than ``limit``."""
    weights = sum(_tensor_bytes(t, dtype) for t in list(model.parameters()) + list(model.buffers()))
    reserve = activation_reserve(model.config, workload, dtype)
    usable = gpu_bytes - reserve.per_gpu
    if usable <= 0:
        return None
    n = max(1, math.ceil((weights + reserve.per_layer * len(decoder_layers(model))) / usable))
    caps: dict[DeviceKey, int]
    while n <= limit:
        caps = dict.fromkeys(range(n), gpu_bytes)
        try:
            plan = _plan(model, caps, dtype, workload, False, None, False, "probe")
        except _NoFitError:
            n += 1
            continue
        return max(plan.n_gpus, 1)
    return None


# ------------------------------------------------------------------------------------ stage resources
@dataclass(frozen=True)
class ClusterSpec:
    """The nodes jobs run on: GPU memory (GiB), GPUs per node, runtime scale and limit, sequence cap."""

    gpu_mem_gib: float = 80.0
    gpus_per_node: int = 8
    runtime_scale: float = 1.0
    max_runtime_min: int | None = None
    max_seq_len: int | None = None

    @classmethod
    def from_config(cls, cluster: Mapping[str, Any] | None) -> ClusterSpec:
        cluster = dict(cluster or {})
        unknown = sorted(set(cluster) - set(cls.__dataclass_fields__))
        if unknown:
            raise PlacementError(
                f"unknown cluster setting(s) {unknown}; expected {sorted(cls.__dataclass_fields__)}"
            )
        spec = cls(**cluster)
        if spec.gpu_mem_gib <= 0 or spec.gpus_per_node < 1 or spec.runtime_scale <= 0:
            raise PlacementError(
                f"bad cluster settings {cluster}; expected gpu_mem_gib > 0, gpus_per_node >= 1, runtime_scale > 0"
            )
        return spec


def runs_on_cpu(spec: Mapping[str, Any]) -> bool:
    """Whether the spec's model takes the CPU path (the embedded default and ``tiny:*``)."""
    source = str(spec["source"]).strip()
    return (
        source == "embedded" or source.startswith(("embedded:", "tiny:")) or spec.get("device_map") == "cpu"
    )


def stage_resources(
    spec: Mapping[str, Any],
    stage: str,
    *,
    cluster: Mapping[str, Any] | ClusterSpec | None = None,
    batch_size: int = 8,
    rule: str | None = None,
) -> dict[str, int]:
    """Snakemake resources ``{gpu, mem_mb, runtime}`` for ``stage`` (a key of :data:`STAGES`, or
    ``"light"`` for tables and figures: no ``gpu`` key at all) on the model of ``spec``.

    CPU models get ``gpu=0`` and the CPU path's numbers. Others get the fewest GPUs of
    ``cluster.gpu_mem_gib`` that hold weights + activations (:func:`plan_placement`; importance plans a
    backward pass), host memory for one checkpoint shard plus any CPU-offloaded weights, and a runtime
    limit that grows with the parameter count. Raises :class:`PlacementError` naming ``rule`` when the
    stage needs more GPUs than ``cluster.gpus_per_node``.
    """
    if stage == "light":
        return dict(LIGHT_RESOURCES)
    if stage not in STAGES:
        raise PlacementError(f"unknown stage {stage!r}; expected one of {[*STAGES, 'light']}")
    kind, cpu_mem, cpu_runtime = STAGES[stage]
    if runs_on_cpu(spec):
        return {"gpu": 0, "mem_mb": cpu_mem, "runtime": cpu_runtime}
    cl = cluster if isinstance(cluster, ClusterSpec) else ClusterSpec.from_config(cluster)
    dtype = str(spec.get("dtype", "float32"))
    dtype_bytes(dtype)
    size = model_size(spec)
    gpu_bytes = int(cl.gpu_mem_gib * GiB)
    workload = Workload(
        kind=kind, batch_size=batch_size, seq_len=cl.max_seq_len,
        attn_implementation=str(spec.get("attn_implementation") or "sdpa"),
    )  # fmt: skip
    offload = dict(spec.get("offload") or {})
    host_offload = 0
    if size.config is None:
        n_params = float(size.params_b or 0) * 1e9
        weights = n_params * DTYPE_BYTES[dtype]
        # size only: activations as a fraction of the weights (backward keeps every layer's tensors)
        need = weights * (2.0 if kind == "backward" else 1.15)
        n_gpus = max(1, math.ceil(need / (gpu_bytes - GPU_OVERHEAD)))
    else:
        model = _cached_meta_model(size, dtype)
        n_params = sum(p.numel() for p in model.parameters())
        if offload.get("cpu") and "cpu" in (spec.get("max_memory") or {}):
            caps = {**dict.fromkeys(range(cl.gpus_per_node), gpu_bytes), "cpu": spec["max_memory"]["cpu"]}
            plan = plan_placement(
                model, max_memory=caps, dtype=dtype, workload=workload, cpu_offload=True, name=size.name
            )
            n_gpus, host_offload = max(plan.n_gpus, 1), plan.weight_bytes.get("cpu", 0)
        else:
            needed = _gpus_needed_cached(size, model, dtype, workload, gpu_bytes)
            if needed is None:
                raise PlacementError(
                    f"rule {rule or stage}: model {size.name} does not fit in any number of GPUs of "
                    f"{cl.gpu_mem_gib:g} GiB for {kind} at batch {batch_size}; lower the batch size or "
                    "use bigger GPUs (cluster.gpu_mem_gib)"
                )
            n_gpus = needed
    if n_gpus > cl.gpus_per_node:
        raise PlacementError(
            f"rule {rule or stage} needs {n_gpus} GPUs of {cl.gpu_mem_gib:g} GiB for {size.name} "
            f"({n_params / 1e9:.1f}B parameters, {dtype}, {kind} at batch {batch_size}) but a node has "
            f"cluster.gpus_per_node = {cl.gpus_per_node}; use bigger GPUs, CPU offload or a smaller batch"
        )
    mem_mb = max(cpu_mem, math.ceil((GPU_JOB_HOST_MEM + host_offload * 1.1) / MiB))
    runtime = max(cpu_runtime, math.ceil(MINUTES_PER_BILLION[stage] * n_params / 1e9 * cl.runtime_scale))
    if cl.max_runtime_min is not None:
        runtime = min(runtime, cl.max_runtime_min)
    return {"gpu": n_gpus, "mem_mb": mem_mb, "runtime": runtime}


_META_CACHE: dict[tuple[str, str, str], nn.Module] = {}
_NEEDED_CACHE: dict[tuple[Any, ...], int | None] = {}


def _gpus_needed_cached(
    size: ModelSize, model: nn.Module, dtype: str, workload: Workload, gpu_bytes: int
) -> int | None:
    """:func:`gpus_needed`, once per (model, dtype, workload, GPU size): stages share workloads."""
    key = (id(model), size.name, dtype, workload, gpu_bytes)
    if key not in _NEEDED_CACHE:
        _NEEDED_CACHE[key] = gpus_needed(model, dtype=dtype, workload=workload, gpu_bytes=gpu_bytes)
    return _NEEDED_CACHE[key]


def _cached_meta_model(size: ModelSize, dtype: str) -> nn.Module:
    key = (size.name, json.dumps(size.config.to_dict(), sort_keys=True, default=str), dtype)
    if key not in _META_CACHE:
        _META_CACHE[key] = meta_model(size.config, dtype)
    return _META_CACHE[key]


def check_gpu_requests(
    requests: Mapping[str, Any], gpus_per_node: int, *, source: str = "--set-resources"
) -> None:
    """Refuse a GPU request larger than a node: ``requests`` maps rule name (``*``: every rule) → GPUs
    asked on the command line or in a profile (``source`` names which option)."""
    for rule, asked in requests.items():
        try:
            n = int(asked)
        except (TypeError, ValueError):
            raise PlacementError(f"rule {rule}: gpu={asked!r} from {source} is not a whole number") from None
        if n > gpus_per_node:
            who = "every rule" if rule == "*" else f"rule {rule}"
            raise PlacementError(
                f"{who} asks for {n} GPUs ({source}) but a node has {gpus_per_node} "
                "(cluster.gpus_per_node); no job can be scheduled: lower the request or raise gpus_per_node"
            )


# ------------------------------------------------------------------------------ hardware per model size
HARDWARE_MODELS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("SmolLM2-135M (embedded default)", {"source": "embedded", "dtype": "float32"}),
    ("OPT-13B", {"source": "facebook/opt-13b", "dtype": "float16"}),
    ("OPT-30B", {"source": "facebook/opt-30b", "dtype": "float16"}),
    ("OPT-66B (the paper)", {"source": "facebook/opt-66b", "dtype": "float16"}),
)


def hardware_table(
    models: Sequence[tuple[str, Mapping[str, Any]]] = HARDWARE_MODELS,
    *,
    cluster: Mapping[str, Any] | None = None,
    batch_size: int = 8,
    importance_batch_size: int = 4,
) -> str:
    """Markdown table of what each model needs per job, computed by :func:`stage_resources` (the
    numbers the workflow itself requests): parameters, weight memory, GPUs for an evaluation job (FFN
    oracle, sweeps) and for an importance job (forward + backward), host memory per job."""
    cl = ClusterSpec.from_config(cluster)
    lines = [
        f"| model | parameters | weights | GPUs ({cl.gpu_mem_gib:g} GiB) per evaluation job "
        "| GPUs per importance job | host memory requested per job |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, spec in models:
        evaluation = stage_resources(spec, "ffn_oracle", cluster=cl, batch_size=batch_size)
        importance = stage_resources(spec, "importance", cluster=cl, batch_size=importance_batch_size)
        if runs_on_cpu(spec):
            n_params, dtype = 134.5e6, str(spec.get("dtype", "float32"))  # measured (platform facts)
            gpus_eval = gpus_imp = "none (2 CPU cores)"
        else:
            size = model_size(spec)
            dtype = str(spec.get("dtype", "float32"))
            n_params = sum(p.numel() for p in _cached_meta_model(size, dtype).parameters())
            gpus_eval, gpus_imp = str(evaluation["gpu"]), str(importance["gpu"])
        weights_gb = n_params * DTYPE_BYTES[dtype] / 1e9
        host = max(evaluation["mem_mb"], importance["mem_mb"]) / 1024
        lines.append(
            f"| {label} | {n_params / 1e9:.2f}B | {weights_gb:.1f} GB {dtype} | {gpus_eval} | {gpus_imp} "
            f"| {host:.0f} GiB |"
        )
    return "\n".join(lines) + "\n"
