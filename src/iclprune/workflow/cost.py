"""What a configuration will cost before it is submitted: requests, tokens and GPU-hours per stage.

The stages and their multiplicities mirror the workflow's DAG (``rules/*.smk``):

==============  ==========================================  =========================================
stage           jobs                                        passes over a (task, shot)'s documents
==============  ==========================================  =========================================
importance      tasks × shots + ood_tasks × sweep shots     one forward + backward over ``n_docs``
                                                            training documents (backward = 2 forwards)
ffn_oracle      tasks × sweep shots                         ``layers + 1`` evaluations (full model +
                                                            each FFN knocked out)
head_oracle     tasks × sweep shots (``pruning.rankings``)  ``1 + heads·(layers+1)/2`` passes over the
                                                            ``n_docs`` importance documents (every head
                                                            knocked out, resumed at its layer)
iterative       tasks × sweep shots (``pruning.rankings``)  one forward + backward over the importance
                                                            documents per re-scoring step
head_pruning    (tasks + ood_tasks) × sweep shots           ``len(head_percents)`` × (1 + rankings) + 3
                                                            (OOD: 1) × ``len(transfer_percents)`` (head
                                                            sweeps + transfer sweeps, one job)
ffn_pruning     tasks × sweep shots                         the distinct points of the FFN sweep and
                                                            the combined grid (one job; a shared
                                                            ``(0, pct_ffns)`` point is evaluated once)
induction       1                                           ``n_seeds`` sequences, prefix matching (a
                                                            forward) + copying (direct path + unembed)
==============  ==========================================  =========================================

An *evaluation* scores every lm-eval request of the (task, shot) (one per answer choice) under one mask;
a masked head or FFN is zeroed by a hook, so it costs as much as the full model. Tokens per request are
counted from the real prompts where the data is here (bundled tasks: the requests
:func:`iclprune.evaluate.evaluation.build_requests` builds, tokenised with the model's tokenizer — or SmolLM2's
byte BPE when the model's is not cached) and estimated otherwise from :data:`TASK_SIZES`, documented
per-task averages for the paper's 16 lm-eval tasks. Each request is truncated to the model's context.
Compute is converted to time at ``tokens_per_s`` forward tokens per second for one job (default: an
assumed sustained :data:`ASSUMED_FLOPS` divided by ``2 × parameters`` FLOPs per token) and to GPU-hours
by multiplying by the GPUs one job holds. Small stages (rankings, agreement, figures) are CPU-only and
not counted.

A study of several models (``model: [labels]``, :mod:`iclprune.workflow.study`) is estimated model by
model (:func:`estimate_study`: :func:`estimate` on each model's spec, at its own throughput and GPUs per
job) and rendered as each model's table then a summary with the total (:func:`render_study`). A model's
geometry needs no download: a cached or local config.json, else the shipped table of every OPT and Pythia
size (:data:`iclprune.model.footprint.KNOWN_CONFIGS`, which also sizes the workflow's GPU requests).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

ASSUMED_FLOPS = 1.0e14  # FLOP/s one job sustains; see default_tokens_per_s
GPU_MEMORY_BYTES = 80e9  # one 80 GB GPU (A100/H100)
WEIGHT_OVERHEAD = 1.2  # weights × this must fit: activations, KV, CUDA context
BYTES_PER_PARAM = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
TRANSFER_RANKINGS = 3  # high, low, aggregate (out-of-distribution tasks: aggregate only)
STAGES = ("importance", "ffn_oracle", "head_oracle", "iterative", "head_pruning", "ffn_pruning", "induction")


class CostError(ValueError):
    """A configuration or option the estimate cannot use; the message names it and what was expected."""


@dataclass(frozen=True)
class TaskSize:
    """Documented averages of one lm-eval task (see :data:`TASK_SIZES`)."""

    eval_split: str
    eval_docs: int  # documents in the evaluation split
    train_docs: int  # documents importance can draw from (training split; the eval split where none)
    choices: float  # lm-eval requests per document (answer choices; 1 for LAMBADA)
    doc_tokens: int  # tokens of one formatted document with its answer (GPT-2/OPT byte BPE)


# The paper's 16 tasks. Split sizes are the datasets' published sizes (HF dataset cards: HellaSwag,
# PIQA, ARC, OpenBookQA (main), WinoGrande (xl), SuperGLUE BoolQ/CB/COPA/MultiRC (answer rows)/ReCoRD/
# WiC/WSC.fixed, GLUE RTE, MathQA, LAMBADA (OpenAI test)). `choices` is the number of answers lm-eval
# scores per document (ReCoRD: its candidate entities, about 14 on average — approximate). `doc_tokens`
# is an APPROXIMATE average length of one formatted lm-eval document with its answer, rounded from the
# datasets' typical passage/question lengths at ~1.3 BPE tokens per word; these were NOT measured here
# (the data and OPT's tokenizer cannot be downloaded on the development machine). A k-shot prompt is
# taken as (k + 1) documents.
TASK_SIZES: dict[str, TaskSize] = {
    "hellaswag": TaskSize("validation", 10042, 39905, 4, 65),
    "piqa": TaskSize("validation", 1838, 16113, 2, 35),
    "arc_easy": TaskSize("test", 2376, 2251, 4, 32),
    "arc_challenge": TaskSize("test", 1172, 1119, 4, 38),
    "openbookqa": TaskSize("test", 500, 4957, 4, 20),
    "winogrande": TaskSize("validation", 1267, 40398, 2, 28),
    "boolq": TaskSize("validation", 3270, 9427, 2, 155),
    "cb": TaskSize("validation", 56, 250, 3, 80),
    "copa": TaskSize("validation", 100, 400, 2, 18),
    "multirc_fixed": TaskSize("validation", 4848, 27243, 2, 350),
    "record_fixed": TaskSize("validation", 10000, 100730, 14, 250),
    "rte": TaskSize("validation", 277, 2490, 2, 70),
    "wic": TaskSize("validation", 638, 5428, 2, 35),
    "wsc": TaskSize("validation", 104, 554, 2, 40),
    "mathqa": TaskSize("test", 2985, 29837, 5, 60),
    "lambada_openai": TaskSize("test", 5153, 5153, 1, 80),
}


@dataclass(frozen=True)
class Geometry:
    """What the estimate needs of a model: shape, parameter count, context length."""

    n_layers: int
    n_heads: int
    d_model: int
    vocab_size: int
    n_parameters: int
    max_length: int
    source: str  # where these numbers came from


# ------------------------------------------------------------------------------------------ the config
def _update(base: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Snakemake's config merge: nested mappings updated key by key, everything else replaced."""
    out = dict(base)
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _update(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def load_config(configfile: str | os.PathLike[str], *, base: str | os.PathLike[str] | None = None) -> dict:
    """The workflow's configuration for ``--configfile configfile``: the Snakefile's default
    ``config/config.yaml`` (``base``) updated with ``configfile``, validated against
    ``config/schema.yaml`` with its defaults filled in (as the Snakefile does)."""
    import yaml

    path = Path(configfile)
    if not path.is_file():
        raise CostError(f"config file {str(configfile)!r} does not exist; expected a workflow config such as "
                        "config/paper.yaml")  # fmt: skip
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise CostError(f"config file {str(configfile)!r} is not valid YAML: {err}") from err
    if not isinstance(config, dict):
        raise CostError(f"config file {str(configfile)!r} is not a mapping; expected a workflow config")
    base_path = Path(base) if base is not None else _repo_root() / "config" / "config.yaml"
    if base_path.is_file() and base_path.resolve() != path.resolve():
        config = _update(yaml.safe_load(base_path.read_text()) or {}, config)
    schema = _repo_root() / "config" / "schema.yaml"
    if schema.is_file():
        from snakemake.exceptions import WorkflowError
        from snakemake.utils import validate

        try:
            validate(config, str(schema), set_default=True)
        except WorkflowError as err:
            raise CostError(f"config file {str(configfile)!r} is invalid: {err}") from err
    from iclprune.workflow.study import StudyError, study_models

    try:
        study_models(config)
    except StudyError as err:
        raise CostError(f"config file {str(configfile)!r}: {err}") from err
    return config


# ------------------------------------------------------------------------------------------- geometry
def _count_on_meta(config: Any) -> int:
    """Parameters of a model built without memory (tied embeddings counted once)."""
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM

    with init_empty_weights():
        model = AutoModelForCausalLM.from_config(config)
    model.tie_weights()
    return sum(p.numel() for p in model.parameters())


def _geometry_of(config: Any, source: str) -> Geometry:
    n_layers = getattr(config, "num_hidden_layers", None)
    n_heads = getattr(config, "num_attention_heads", None)
    d_model = getattr(config, "hidden_size", None)
    if not (n_layers and n_heads and d_model):
        raise CostError(f"model config from {source} lacks num_hidden_layers/num_attention_heads/hidden_size")
    max_length = next(
        (
            int(v)
            for k in ("max_position_embeddings", "n_positions", "n_ctx")
            if (v := getattr(config, k, None))
        ),
        2048,
    )
    return Geometry(
        n_layers, n_heads, d_model, int(config.vocab_size), _count_on_meta(config), max_length, source
    )


def model_geometry(spec: Mapping[str, Any]) -> Geometry:
    """Geometry of a model spec without loading weights: tiny configs (with the spec's ``tiny`` sizes), the
    embedded model's or a local directory's config.json, a cached hub config, else the shipped table of
    every OPT and Pythia size (:data:`iclprune.model.footprint.KNOWN_CONFIGS`; a training checkpoint,
    ``step``, has its final model's geometry); a clear error otherwise."""
    from transformers import AutoConfig

    from iclprune.model.footprint import KNOWN_CITATIONS, config_from_dict, known_config, known_names
    from iclprune.model.models import EMBEDDED_NAME, TINY_SIZES, ModelRef, embedded_cache_dir, tiny_config

    source = str(spec["source"])
    ref = ModelRef.parse(source)
    tiny = dict(spec.get("tiny") or {})
    if tiny and ref.kind != "tiny":
        raise CostError(f"tiny sizes {tiny} given for model {source!r}; expected a tiny:<family> model")
    if ref.kind == "tiny":
        unknown = sorted(set(tiny) - set(TINY_SIZES))
        if unknown:
            raise CostError(
                f"unknown tiny size(s) {unknown} of model {source!r}; expected some of {list(TINY_SIZES)}"
            )
        sizes = "".join(f", {k}={v!r}" for k, v in tiny.items())
        return _geometry_of(
            tiny_config(ref.name, vocab_size=49152, **tiny), f"tiny_config({ref.name!r}{sizes})"
        )
    if ref.kind == "embedded":
        folder = embedded_cache_dir()
        if (folder / "config.json").is_file():
            return _geometry_of(AutoConfig.from_pretrained(str(folder)), str(folder / "config.json"))
        from transformers import LlamaConfig

        smollm2 = LlamaConfig(  # SmolLM2-135M-Instruct's config.json
            vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
            num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192, tie_word_embeddings=True,
        )  # fmt: skip
        return _geometry_of(smollm2, f"{EMBEDDED_NAME} (published config)")
    path = Path(source).expanduser()
    if path.is_dir():
        return _geometry_of(AutoConfig.from_pretrained(str(path)), str(path / "config.json"))
    try:
        config = AutoConfig.from_pretrained(source, revision=spec.get("revision"), local_files_only=True)
        return _geometry_of(config, f"{source} (cached config.json)")
    except OSError:
        pass
    known = known_config(source)
    if known is not None:
        _, fields = known
        return _geometry_of(config_from_dict(fields), f"{source} ({KNOWN_CITATIONS[fields['model_type']]})")
    raise CostError(
        f"cannot find the geometry of model {source!r}: its config.json is not in the local Hugging Face cache "
        f"and it is not one of {known_names()}; expected a cached or local model"
    )


def _tokenizer(spec: Mapping[str, Any]) -> tuple[Any, str]:
    """The model's tokenizer if it loads offline, else SmolLM2's byte BPE as a stand-in (named)."""
    from transformers import AutoTokenizer

    from iclprune.model.models import EMBEDDED_NAME, ModelRef, cache_embedded, embedded_cache_dir

    source = str(spec["source"])
    if ModelRef.parse(source).kind == "pretrained":
        try:
            return AutoTokenizer.from_pretrained(
                source, revision=spec.get("revision"), local_files_only=True
            ), source
        except (OSError, ValueError):
            pass
    folder = embedded_cache_dir()
    if not (folder / "tokenizer.json").is_file():
        cache_embedded()
    label = EMBEDDED_NAME if ModelRef.parse(source).kind != "pretrained" else f"{EMBEDDED_NAME} (stand-in)"
    return AutoTokenizer.from_pretrained(str(folder)), label


# --------------------------------------------------------------------------------------- token counts
@dataclass(frozen=True)
class PassSize:
    """One pass over a (task, shot): lm-eval requests, documents and tokens (context + continuation)."""

    requests: int
    docs: int
    tokens: int
    measured: bool  # True: counted from real prompts; False: from TASK_SIZES


def _bundled(name: str) -> bool:
    from iclprune.evaluate.taskdefs import tasks_dir

    return (tasks_dir() / f"{name}.yaml").is_file()


@lru_cache(maxsize=512)
def _measured_pass(task: str, shots: int, seed: int, limit: int | None, role: str, tok_key: str) -> PassSize:
    from iclprune.evaluate.evaluation import build_requests
    from iclprune.evaluate.taskdefs import task_config

    tokenizer, max_length = _TOKENIZERS[tok_key]
    reqs = build_requests(task_config(task), shots, seed=seed, limit=limit, role=role)
    args = [inst.args for inst in reqs.instances]
    ctx = tokenizer([a[0] for a in args], add_special_tokens=False)["input_ids"]
    cont = tokenizer([a[1] for a in args], add_special_tokens=False)["input_ids"]
    lengths = [min(len(c) + len(a), max_length) for c, a in zip(ctx, cont, strict=True)]
    if role == "importance":  # one sequence per document: its context and an answer
        per_doc: dict[int, list[int]] = {}
        for inst, n in zip(reqs.instances, lengths, strict=True):
            per_doc.setdefault(inst.doc_id, []).append(n)
        tokens = sum(round(sum(v) / len(v)) for v in per_doc.values())
        return PassSize(len(per_doc), len(per_doc), tokens, True)
    return PassSize(len(lengths), reqs.n_docs, sum(lengths), True)


_TOKENIZERS: dict[str, tuple[Any, int]] = {}


def pass_size(
    task: str, shots: int, *, role: str, limit: int | None, seed: int, tokenizer: Any, max_length: int
) -> PassSize:
    """Requests, documents and tokens of one pass over ``task`` at ``shots`` (``role`` eval: the first
    ``limit`` evaluation documents, every answer choice; ``role`` importance: the first ``limit``
    training documents, one sequence each)."""
    if _bundled(task):
        key = f"{id(tokenizer)}:{max_length}"
        _TOKENIZERS[key] = (tokenizer, max_length)
        return _measured_pass(task, shots, seed, limit, role, key)
    if task not in TASK_SIZES:
        raise CostError(
            f"task {task!r} is neither bundled nor in the table of documented task sizes; expected one of "
            f"{sorted(TASK_SIZES)} or a bundled task"
        )
    size = TASK_SIZES[task]
    pool = size.train_docs if role == "importance" else size.eval_docs
    docs = min(pool, limit) if limit else pool
    per_request = min((shots + 1) * size.doc_tokens, max_length)
    if role == "importance":
        return PassSize(docs, docs, docs * per_request, False)
    requests = round(docs * size.choices)
    return PassSize(requests, docs, requests * per_request, False)


# ------------------------------------------------------------------------------------------ the estimate
def default_tokens_per_s(n_parameters: int) -> float:
    """Forward tokens per second of one job at :data:`ASSUMED_FLOPS` (2 FLOPs per parameter per token).

    1e14 FLOP/s is about a third of one A100's dense fp16 peak (312 TFLOP/s): a model spread over several
    GPUs by a device map runs its layers one GPU at a time, so a job goes about as fast as one GPU. An
    assumption, not a measurement: pass the throughput you measured (``--tokens-per-s``).
    """
    return ASSUMED_FLOPS / (2.0 * n_parameters)


def default_gpus_per_job(n_parameters: int, dtype: str) -> int:
    """80 GB GPUs needed to hold the weights × :data:`WEIGHT_OVERHEAD` (at least 1)."""
    if dtype not in BYTES_PER_PARAM:
        raise CostError(f"unknown dtype {dtype!r}; expected one of {sorted(BYTES_PER_PARAM)}")
    return max(1, math.ceil(n_parameters * BYTES_PER_PARAM[dtype] * WEIGHT_OVERHEAD / GPU_MEMORY_BYTES))


@dataclass
class Estimate:
    """The estimate: one row per stage (``table``) and what it assumed."""

    table: pd.DataFrame  # stage, jobs, requests, tokens, forward_tokens, gpu_hours
    geometry: Geometry
    tokens_per_s: float
    gpus_per_job: int
    measured_tasks: list[str]
    documented_tasks: list[str]
    tokenizer: str | None

    @property
    def total_gpu_hours(self) -> float:
        return float(self.table["gpu_hours"].sum())


def _induction_tokens(n_seeds: int, g: Geometry) -> tuple[int, int, float]:
    """(sequences, tokens, forward-equivalent tokens) of the induction stage over seeds 0..n_seeds-1:
    prefix matching = one forward of BOS + 4L tokens; copying = the direct path (attention only, counted
    as one forward) plus the per-head unembedding, layers·heads·positions·2·d_model·vocab FLOPs."""
    from iclprune.analysis.induction import REPEATS, base_length

    lengths = [REPEATS * base_length(s) + 1 for s in range(n_seeds)]
    tokens = 2 * sum(lengths)
    unembed = sum(g.n_layers * g.n_heads * n * 2 * g.d_model * g.vocab_size for n in lengths)
    return 2 * n_seeds, tokens, tokens + unembed / (2.0 * g.n_parameters)


def _model_label(config: Mapping[str, Any], model: str | None) -> str:
    """The label whose spec is estimated: ``model``, else the config's one model."""
    models = config.get("models") or {}
    if model is None:
        model = config.get("model")
        if not isinstance(model, str):
            raise CostError(
                f"config has several models ({model!r}); expected one label (estimate(config, model=...)) or "
                "estimate_study(config) for every model"
            )
    if model not in models:
        raise CostError(f"model {model!r} is not defined under `models` ({', '.join(models)})")
    return model


def estimate(
    config: Mapping[str, Any],
    *,
    tokens_per_s: float | None = None,
    gpus_per_job: int | None = None,
    geometry: Geometry | None = None,
    model: str | None = None,
) -> Estimate:
    """Requests, tokens and GPU-hours per stage of ``config`` (a loaded workflow configuration) on its
    model, or on ``model`` (a label of ``config["models"]``; required when ``config["model"]`` is a list:
    :func:`estimate_study` estimates every model of a study)."""
    if tokens_per_s is not None and not (isinstance(tokens_per_s, int | float) and tokens_per_s > 0):
        raise CostError(f"tokens per second {tokens_per_s!r} must be a positive number")
    if gpus_per_job is not None and not (isinstance(gpus_per_job, int) and gpus_per_job >= 1):
        raise CostError(f"GPUs per job {gpus_per_job!r} must be a positive integer")
    spec = config["models"][_model_label(config, model)]
    g = geometry or model_geometry(spec)
    tasks, ood, shots = list(config["tasks"]), list(config.get("ood_tasks", [])), list(config["shots"])
    seed, limit = int(config.get("seed", 1234)), config["evaluation"].get("limit")
    n_docs = int(config["importance"]["n_docs"])
    pruning = config["pruning"]
    everything = tasks + ood
    tokenizer, tok_label = (None, None)
    if any(_bundled(t) for t in everything):
        tokenizer, tok_label = _tokenizer(spec)

    sweep_shots = [k for k in shots if k in (config.get("sweep_shots") or shots)]

    def passes(names: Sequence[str], role: str, lim: int | None, at: Sequence[int]) -> list[PassSize]:
        return [
            pass_size(t, k, role=role, limit=lim, seed=seed, tokenizer=tokenizer, max_length=g.max_length)
            for t in names
            for k in at
        ]

    # OOD tasks' importance only ranks their own head sweeps: needed at the sweep shots only
    imp = passes(tasks, "importance", n_docs, shots) + passes(ood, "importance", n_docs, sweep_shots)
    ev_in, ev_ood = passes(tasks, "eval", limit, sweep_shots), passes(ood, "eval", limit, sweep_shots)
    transfer = len(pruning["transfer_percents"])
    rankings = list(pruning.get("rankings", ["oracle", "iterative"]))
    head_in = len(pruning["head_percents"]) * (1 + len(rankings)) + TRANSFER_RANKINGS * transfer
    head_ood = len(pruning["head_percents"]) + transfer
    ffn_points = {(0.0, float(f)) for f in pruning["ffn_percents"]} | {
        (float(h), float(f))
        for h in pruning["combined_head_percents"]
        for f in pruning["combined_ffn_percents"]
    }

    def row(stage: str, jobs: int, sizes: Sequence[PassSize], times: int, backward: bool = False) -> dict:
        requests = times * sum(s.requests for s in sizes)
        tokens = times * sum(s.tokens for s in sizes)
        return dict(stage=stage, jobs=jobs, requests=requests, tokens=tokens,
                    forward_tokens=tokens * (3 if backward else 1))  # fmt: skip

    n_in, n_all, n_sweep = len(tasks), len(everything), len(sweep_shots)
    head_row = row("head_pruning", n_all * n_sweep, ev_in, head_in)
    ood_row = row("head_pruning", 0, ev_ood, head_ood)
    for key in ("requests", "tokens", "forward_tokens"):
        head_row[key] += ood_row[key]
    rows = [
        row("importance", n_in * len(shots) + len(ood) * n_sweep, imp, 1, backward=True),
        row("ffn_oracle", n_in * n_sweep, ev_in, g.n_layers + 1),
    ]
    imp_sweep = passes(tasks, "importance", n_docs, sweep_shots) if rankings else []
    if "oracle" in rankings:  # layer forwards L + H·L(L+1)/2 per batch = 1 + H(L+1)/2 full passes
        rows.append(
            row("head_oracle", n_in * n_sweep, imp_sweep, 1 + math.ceil(g.n_heads * (g.n_layers + 1) / 2))
        )
    if "iterative" in rankings:
        top = max((float(p) for p in pruning["head_percents"]), default=0.0)
        steps = max(1, math.ceil(top / float(pruning.get("iterative_step", 10))))
        rows.append(row("iterative", n_in * n_sweep, imp_sweep, steps, backward=True))
    rows += [
        head_row,
        row("ffn_pruning", n_in * n_sweep, ev_in, len(ffn_points)),
    ]
    seqs, ind_tokens, ind_forward = _induction_tokens(int(config["induction"]["n_seeds"]), g)
    rows.append(
        dict(stage="induction", jobs=1, requests=seqs, tokens=ind_tokens, forward_tokens=round(ind_forward))
    )
    table = pd.DataFrame(rows)
    tps = float(tokens_per_s) if tokens_per_s is not None else default_tokens_per_s(g.n_parameters)
    gpus = (
        gpus_per_job
        if gpus_per_job is not None
        else default_gpus_per_job(g.n_parameters, spec.get("dtype", "float32"))
    )
    table["gpu_hours"] = table["forward_tokens"] / tps / 3600.0 * gpus
    measured = sorted({t for t in everything if _bundled(t)})
    return Estimate(table, g, tps, gpus, measured, sorted(set(everything) - set(measured)), tok_label)


def _count(n: float) -> str:
    return f"{n / 1e9:.3g}B" if n >= 1e9 else f"{n / 1e6:.3g}M"


def _hours(hours: float) -> str:
    return f"{hours:,.1f}" if hours >= 1 or hours == 0 else f"{hours:.2g}"


def render(est: Estimate, config_name: str = "") -> str:
    """The estimate as a plain-text table with its assumptions."""
    g = est.geometry
    total = est.table[["jobs", "requests", "tokens", "forward_tokens", "gpu_hours"]].sum()
    lines = [
        f"cost estimate{f' of {config_name}' if config_name else ''}: {_count(g.n_parameters)} parameters, "
        f"{g.n_layers} layers × {g.n_heads} heads, context {g.max_length} ({g.source})",
        f"{'stage':<16}{'jobs':>8}{'requests':>16}{'tokens':>18}{'fwd-equiv tokens':>20}{'GPU-hours':>13}",
    ]
    rows = [
        (r.stage, r.jobs, r.requests, r.tokens, r.forward_tokens, r.gpu_hours) for r in est.table.itertuples()
    ]
    for i, (name, jobs, requests, tokens, forward, hours) in enumerate(
        [*rows, ("total", total.jobs, total.requests, total.tokens, total.forward_tokens, total.gpu_hours)]
    ):
        if i == len(rows):
            lines.append("-" * 91)
        lines.append(
            f"{name:<16}{int(jobs):>8,}{int(requests):>16,}{int(tokens):>18,}{int(forward):>20,}{_hours(hours):>13}"
        )
    lines.append(
        f"at {est.tokens_per_s:,.0f} forward tokens/s per job and {est.gpus_per_job} GPU(s) per job; importance "
        "counts its backward as 2 forwards; fwd-equiv adds induction's per-head unembedding"
    )
    if est.measured_tasks:
        lines.append(
            f"tokens counted from the real prompts ({est.tokenizer} tokenizer): {', '.join(est.measured_tasks)}"
        )
    if est.documented_tasks:
        lines.append(
            "tokens estimated from documented approximate per-task averages (iclprune.workflow.cost.TASK_SIZES, not "
            f"measured here): {', '.join(est.documented_tasks)}"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------ a study of several models
@dataclass
class StudyEstimate:
    """The estimate of every model of a study (``model: [labels]``), in the config's order."""

    study: str
    estimates: dict[str, Estimate]  # label → that model's estimate (:func:`estimate`)
    steps: dict[str, int | None]  # label → training step of a checkpoint entry (``models.<label>.step``)

    @property
    def total_gpu_hours(self) -> float:
        return float(sum(est.total_gpu_hours for est in self.estimates.values()))

    def summary(self) -> pd.DataFrame:
        """One row per model: ``model, n_parameters, step, gpus_per_job, gpu_hours`` (step: None for a
        final model)."""
        return pd.DataFrame(
            [
                {
                    "model": label,
                    "n_parameters": est.geometry.n_parameters,
                    "step": self.steps[label],
                    "gpus_per_job": est.gpus_per_job,
                    "gpu_hours": est.total_gpu_hours,
                }
                for label, est in self.estimates.items()
            ],
            columns=["model", "n_parameters", "step", "gpus_per_job", "gpu_hours"],
        )

    def table(self) -> pd.DataFrame:
        """Every model's per-stage table, stacked: ``model, stage, jobs, requests, tokens, forward_tokens,
        gpu_hours`` (rows: models × stages)."""
        return pd.concat(
            [
                est.table.assign(model=label)[["model", *est.table.columns]]
                for label, est in self.estimates.items()
            ],
            ignore_index=True,
        )


def estimate_study(
    config: Mapping[str, Any], *, tokens_per_s: float | None = None, gpus_per_job: int | None = None
) -> StudyEstimate:
    """:func:`estimate` for every model of ``config``'s study (``model``: one label or a list, checked by
    :func:`iclprune.workflow.study.study_models`). ``tokens_per_s`` and ``gpus_per_job``, when given,
    apply to every model (default: each model's own, from its size)."""
    from iclprune.workflow.study import StudyError, study_models

    try:
        labels = study_models(config)
    except StudyError as err:
        raise CostError(str(err)) from err
    estimates = {
        label: estimate(config, tokens_per_s=tokens_per_s, gpus_per_job=gpus_per_job, model=label)
        for label in labels
    }
    steps = {label: config["models"][label].get("step") for label in labels}
    return StudyEstimate(str(config["study"]), estimates, steps)


def render_study(study: StudyEstimate, config_name: str = "", *, summary_only: bool = False) -> str:
    """Every model's table (:func:`render`, headed by its label), then a summary: one row per model
    (parameters, training step where any model has one, GPUs per job, GPU-hours) and the total;
    ``summary_only``: the summary alone."""
    n = len(study.estimates)
    where = f" of {config_name}" if config_name else ""
    blocks = [f"cost estimate{where}: study {study.study}, {n} model{'s' if n != 1 else ''}"]
    if not summary_only:
        blocks += [render(est, label) for label, est in study.estimates.items()]
    summary = study.summary()
    with_step = summary["step"].notna().any()
    width = max(16, *(len(label) + 2 for label in summary["model"]))
    head = f"{'model':<{width}}{'parameters':>12}" + (f"{'step':>10}" if with_step else "")
    head += f"{'GPUs per job':>14}{'GPU-hours':>13}"
    lines = [f"summary{where}: study {study.study}", head]
    for row in summary.itertuples():
        step = "" if row.step is None or pd.isna(row.step) else f"{int(row.step):,}"
        lines.append(
            f"{row.model:<{width}}{_count(row.n_parameters):>12}" + (f"{step:>10}" if with_step else "")
            + f"{int(row.gpus_per_job):>14}{_hours(row.gpu_hours):>13}"
        )  # fmt: skip
    lines.append("-" * len(head))
    lines.append(f"{'total':<{len(head) - 13}}{_hours(study.total_gpu_hours):>13}")
    lines.append(
        "each model at its own throughput and GPUs per job"
        + (
            " (`iclprune cost` without --summary: one table per model)"
            if summary_only
            else " (its table above)"
        )
        + "; the total is the sum over models"
        + ("; a checkpoint (step) has its final model's geometry" if with_step else "")
    )
    blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def write_readme_block(readme: str | os.PathLike[str], name: str, text: str) -> None:
    """Write ``text`` (a rendered estimate) in a ```text fence between ``<!-- name:start -->`` and
    ``<!-- name:end -->`` in the Markdown file ``readme``; a :class:`CostError` naming the file when it or
    its markers are missing."""
    from iclprune.reporting.timings import markers, write_block

    path = Path(readme)
    if not path.is_file():
        raise CostError(f"--readme {str(readme)!r} does not exist; expected a Markdown file with the markers "
                        f"{' … '.join(markers(name))}")  # fmt: skip
    try:
        write_block(path, name, f"```text\n{text.rstrip()}\n```\n")
    except ValueError as err:
        raise CostError(f"{str(readme)!r}: {err}") from err
