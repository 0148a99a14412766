# Helpers shared by every rule file (no rules here).
import json
import re

from iclprune.model.download import hub_repo_id
from iclprune.model.models import ModelRef
from iclprune.model.placement import (
    ClusterSpec,
    check_gpu_requests,
    runs_on_cpu,
    stage_resources,
)
from iclprune.core.settings import (
    EvaluationSettings,
    ImportanceSettings,
    InductionSettings,
    PruningSettings,
)
from iclprune.evaluate.taskdata import task_sources
from iclprune.workflow.study import scale_series, study_models
from iclprune.evaluate.taskdefs import (
    check_disjoint_tasks,
    check_sweep_shots,
    check_task_names,
)


def one_of(names):
    """A wildcard constraint matching exactly one of `names` (none: matches nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


# The study: every output lives under results/<study>/ (logs/<study>/, benchmarks/<study>/), per model
# below that (results/<study>/<stage>/<model>/...), so two configurations in one checkout never share a
# target. `model` names one model of `models` or a list of them (a scale study); each keeps its own spec.
STUDY = config["study"]
STUDY_MODELS = study_models(config)
check_task_names(config["tasks"] + config.get("ood_tasks", []))
# An unknown embedded/tiny model stops here, before any job.
for _label in STUDY_MODELS:
    ModelRef.parse(config["models"][_label]["source"])
TASKS = config["tasks"]
SHOTS = config["shots"]
OOD_TASKS = config.get("ood_tasks", [])
# The evaluation-heavy stages run at SWEEP_SHOTS (config `sweep_shots`, default every shot).
SWEEP_SHOTS = check_sweep_shots(config.get("sweep_shots"), SHOTS)
check_disjoint_tasks(TASKS, OOD_TASKS)
# Where each registry task's documents come from (data_sources > data_root > data_spec; a malformed
# source stops here, before any job); bundled tasks carry their own files and have none.
DATA_SOURCES = task_sources(config, TASKS + OOD_TASKS, base_dir=workflow.basedir)
# The config's setting blocks, validated once (a bad value stops here, before any job). A rule passes
# its block to the script as one mapping; the script rebuilds the object and hands it to the stage.
IMPORTANCE = ImportanceSettings.from_config(config)
PRUNING = PruningSettings.from_config(config)
INDUCTION = InductionSettings.from_config(config)
EVALUATION = EvaluationSettings.from_config(config)
CONTAINER = config["container"]
# Rules that run a model use the CUDA image unless every model of the study takes the CPU path.
CPU_ONLY = all(runs_on_cpu(config["models"][m]) for m in STUDY_MODELS)
MODEL_CONTAINER = CONTAINER if CPU_ONLY else config["container_gpu"]


wildcard_constraints:
    study=re.escape(STUDY),
    model=one_of(STUDY_MODELS),


def model_spec(wildcards):
    """The spec of the job's model (`models.<wildcards.model>`)."""
    return config["models"][wildcards.model]


def model_spec_json(wildcards):
    """The job's model spec as one JSON string (a stable `params` value for every rule)."""
    return json.dumps(model_spec(wildcards), sort_keys=True)


def task_data(wildcards):
    """The data manifest a job of `wildcards.task` reads (none for a task with its own files)."""
    source = DATA_SOURCES.get(wildcards.task)
    return [f"results/data/{wildcards.task}/{source.key()}.json"] if source else []


def task_data_inputs(wildcards):
    """The local files of a task's source (so that editing one re-runs its data job); none for the hub."""
    return DATA_SOURCES[wildcards.task].local_files()


def model_manifest(wildcards):
    """The download manifest the card depends on: only for a hub-sourced model (source = hub id)."""
    if hub_repo_id(model_spec(wildcards)) is None:
        return []
    return [f"results/{STUDY}/models/{wildcards.model}/manifest.json"]


# Resources of every job (gpu, mem_mb, runtime) follow from the model's size and dtype. The package
# (iclprune.model.placement) plans weights + activations over GPUs of `cluster.gpu_mem_gib`, and importance
# keeps a backward pass's tensors. CPU models (embedded, tiny) get gpu=0, tables and figures no gpu at
# all. Override one rule's numbers with `--set-resources NAME:gpu=N` (or a profile's set-resources).
CLUSTER = ClusterSpec.from_config(config.get("cluster"))
# the pruning jobs tile every batch once per mask of evaluation.mask_batch
PRUNING_BATCH = EVALUATION.batch_size * EVALUATION.mask_batch
STAGE_BATCH = {
    "model": 1,
    "importance": IMPORTANCE.batch_size,
    "induction": 1,
    "head_pruning": PRUNING_BATCH,
    "ffn_pruning": PRUNING_BATCH,
}
_STAGE_RESOURCES = {}


def rule_resources(name, stage):
    """Resources of rule `name`, a job of `stage` (iclprune.model.placement.STAGES or "light"), for
    each model of the study, all planned here (a model that fits no node stops the parse). Each job
    gets its own model's numbers, so models of different GPU needs run side by side.
    """
    batch = STAGE_BATCH.get(stage, EVALUATION.batch_size)
    planning = dict(cluster=CLUSTER, batch_size=batch, rule=name)
    per_model = {}
    for label in STUDY_MODELS:
        if (label, stage) not in _STAGE_RESOURCES:
            spec = config["models"][label]
            _STAGE_RESOURCES[label, stage] = stage_resources(spec, stage, **planning)
        per_model[label] = _STAGE_RESOURCES[label, stage]
    first = per_model[STUDY_MODELS[0]]
    if stage == "light" or all(r == first for r in per_model.values()):
        return dict(first)
    return {key: _per_model_value(per_model, key) for key in first}


def _per_model_value(per_model, key):
    """A resource callable: the job's model's value of `key`."""
    return lambda wc: per_model[wc.model][key]


def concrete_gpus(requests):
    """Rule → GPUs of Snakemake Resource objects (callables are left to the scheduler)."""
    return {
        name: res["gpu"].raw
        for name, res in requests.items()
        if "gpu" in res and not res["gpu"].is_evaluable()
    }


# A GPU request larger than a node fails here, before any job starts.
check_gpu_requests(
    concrete_gpus(workflow.resource_settings.overwrite_resources),
    CLUSTER.gpus_per_node,
    source="--set-resources",
)
check_gpu_requests(
    concrete_gpus({"*": workflow.resource_settings.default_resources or {}}),
    CLUSTER.gpus_per_node,
    source="--default-resources",
)


def evaluation_settings(wildcards):
    """The evaluation settings of a job on `wildcards.task` (config `evaluation`, `seed` and the task's
    metric from `metrics`, default acc), as one mapping (iclprune.core.settings.EvaluationSettings).
    """
    return EvaluationSettings.from_config(config, wildcards.task).to_dict()


def all_targets():
    """Every model's figures and claims table, and the scale study's outputs (two models or more)."""
    per_model = [f"results/{{study}}/figures/{{model}}/{stem}.pdf" for stem in FIGURES]
    per_model.append("results/{study}/claims/{model}.tsv")
    targets = expand(per_model, study=STUDY, model=STUDY_MODELS)
    return targets + scale_targets()


def claims_name(wildcards):
    """The config's name in a claims table; a study of several models adds the model."""
    if len(STUDY_MODELS) == 1:
        return config["name"]
    return f"{config['name']}, model {wildcards.model}"


# The scale study (rules/scale.smk): one series per axis with two models or more, the sizes against
# parameter count, the checkpoints of one model against training step.
SCALE_FIGURES = ["scale_removable", "scale_induction", "scale_agreement", "scale_depth"]
SCALE_SERIES = scale_series(config)
# Random-weight models (tiny:<family>) show the machinery, never a finding; every scale figure says so.
SCALE_NOTE = (
    "random-weight models: these figures show the machinery, not a finding"
    if any(config["models"][m]["source"].startswith("tiny:") for m in STUDY_MODELS)
    else ""
)


def scale_targets():
    """The scale study's outputs: claims and figures per series (none for a study of one model)."""
    claims = expand(
        "results/{study}/scale/{axis}/claims.tsv", study=STUDY, axis=SCALE_SERIES
    )
    figures = expand(
        "results/{study}/scale/{axis}/{figure}.pdf",
        study=STUDY,
        axis=SCALE_SERIES,
        figure=SCALE_FIGURES,
    )
    return claims + figures


VARIANT = IMPORTANCE.variant
TRANSFER_RANKINGS = ["high", "low", "aggregate"]


def paths(pattern, **wildcards):
    """`pattern` expanded over `wildcards` in this study, the `{model}` wildcard left to the rule."""
    return expand(pattern, study=STUDY, model="{model}", **wildcards)


RANDOM_DRAWS = list(range(PRUNING.random_rankings))


def random_outputs(kind):
    """Named outputs of a pruning job's random-ranking control: random_<draw>, random_<draw>_sidecar."""
    out = {}
    for r in RANDOM_DRAWS:
        out[f"random_{r}"] = (
            f"results/{{study}}/pruning/{{model}}/{{task}}/{{shot}}shot/random/{kind}_{r}.parquet"
        )
        out[f"random_{r}_sidecar"] = (
            f"results/{{study}}/pruning/{{model}}/{{task}}/{{shot}}shot/random/{kind}_{r}.json"
        )
    return out


HEAD_RANKINGS = list(PRUNING.rankings)
RANKING_SCORES = {
    "oracle": "results/{study}/head_oracle/{model}/{task}/{shot}shot/heads.parquet",
    "iterative": "results/{study}/iterative/{model}/{task}/{shot}shot/heads.parquet",
}


def ranked_inputs():
    """Named inputs of a head-pruning job's other rankings (pruning.rankings): ranked_<name>."""
    return {f"ranked_{r}": RANKING_SCORES[r] for r in HEAD_RANKINGS}


def ranked_outputs():
    """Named outputs of the sweeps under those rankings: ranked_<name>, ranked_<name>_sidecar."""
    out = {}
    for r in HEAD_RANKINGS:
        out[f"ranked_{r}"] = (
            f"results/{{study}}/pruning/{{model}}/{{task}}/{{shot}}shot/ranked/{r}.parquet"
        )
        out[f"ranked_{r}_sidecar"] = (
            f"results/{{study}}/pruning/{{model}}/{{task}}/{{shot}}shot/ranked/{r}.json"
        )
    return out


def transfer_outputs(rankings):
    """Named outputs of a head-pruning job's transfer sweeps: <ranking>, <ranking>_sidecar."""
    out = {}
    for r in rankings:
        out[r] = (
            f"results/{{study}}/transfer/{{model}}/{{task}}/{{shot}}shot/{r}.parquet"
        )
        out[f"{r}_sidecar"] = (
            f"results/{{study}}/transfer/{{model}}/{{task}}/{{shot}}shot/{r}.json"
        )
    return out


def build_figures():
    """Paper item stem → its inputs and plotting options (see iclprune.reporting.figures)."""
    sweep = "results/{study}/pruning/{model}/{task}/{shot}shot/{kind}.parquet"
    transfer = "results/{study}/transfer/{model}/{task}/{shot}shot/{ranking}.parquet"
    random = (
        "results/{study}/pruning/{model}/{task}/{shot}shot/random/{kind}_{draw}.parquet"
    )
    percents = list(PRUNING.transfer_percents)

    def randoms(kind, tasks):
        """The random-control sweeps of `tasks` (none when pruning.random_rankings is 0)."""
        return paths(random, task=tasks, shot=SWEEP_SHOTS, kind=kind, draw=RANDOM_DRAWS)

    figures = {
        "fig03_aggregate_head_importance": dict(
            item="fig03",
            inputs={
                "importance": paths(
                    "results/{study}/rankings/{model}/aggregate/{shot}shot/heads.parquet",
                    shot=SHOTS,
                )
            },
            options={"variant": VARIANT},
        ),
        "fig04_ffn_oracle_importance": dict(
            item="fig04",
            inputs={
                "oracle": paths(
                    "results/{study}/ffn_oracle/{model}/{task}/{shot}shot/ffns.parquet",
                    task=TASKS,
                    shot=SWEEP_SHOTS,
                )
            },
            options={},
        ),
        "fig05_head_pruning": dict(
            item="fig05",
            inputs={
                "sweeps": paths(sweep, task=TASKS, shot=SWEEP_SHOTS, kind="heads"),
                "random": randoms("heads", TASKS),
            },
            options={},
        ),
        "fig06_ffn_pruning": dict(
            item="fig06",
            inputs={
                "sweeps": paths(sweep, task=TASKS, shot=SWEEP_SHOTS, kind="ffns"),
                "random": randoms("ffns", TASKS),
            },
            options={},
        ),
        "fig07_combined_pruning": dict(
            item="fig07",
            inputs={
                "grid": paths(sweep, task=TASKS, shot=SWEEP_SHOTS, kind="combined")
            },
            options={},
        ),
        "fig08_cross_task_srcc": dict(
            item="fig08",
            inputs={
                "srcc": paths(
                    "results/{study}/agreement/{model}/{shot}shot/cross_task.tsv",
                    shot=SHOTS[:1],
                )
            },
            options={"shots": SHOTS[:1]},
        ),
        "fig09_cross_task_transfer": dict(
            item="fig09",
            inputs={
                "own": paths(sweep, task=TASKS, shot=SWEEP_SHOTS, kind="heads"),
                "other": paths(
                    transfer, task=TASKS, shot=SWEEP_SHOTS, ranking=TRANSFER_RANKINGS
                ),
                "random": randoms("heads", TASKS),
            },
            options={"percents": percents, "layout": "mean"},
        ),
        "fig10_induction_scores": dict(
            item="fig10",
            inputs={
                "induction": paths("results/{study}/induction/{model}/scores.parquet")
            },
            options={},
        ),
        "fig11_retained_capacity": dict(
            item="fig11",
            inputs={
                "retained": paths(
                    "results/{study}/induction/{model}/{shot}shot/retained.tsv",
                    shot=SHOTS,
                )
            },
            options={},
        ),
    }
    half = (len(TASKS) + 1) // 2
    for number, tasks in ((16, TASKS[:half]), (17, TASKS[half:] or TASKS)):
        figures[f"fig{number}_transfer_per_task"] = dict(
            item="fig09",
            inputs={
                "own": paths(sweep, task=tasks, shot=SWEEP_SHOTS, kind="heads"),
                "other": paths(
                    transfer, task=tasks, shot=SWEEP_SHOTS, ranking=TRANSFER_RANKINGS
                ),
                "random": randoms("heads", tasks),
            },
            options={"percents": percents, "layout": "grid", "tasks": tasks},
        )
    for number, kind in ((18, "prefix_matching"), (19, "copying")):
        figures[f"fig{number}_retained_{kind}_per_task"] = dict(
            item="fig18",
            inputs=figures["fig11_retained_capacity"]["inputs"],
            options={"score_kind": kind},
        )
    for number, shot in zip((12, 13, 14), SHOTS):
        figures[f"fig{number}_task_importance_{shot}shot"] = dict(
            item="fig12",
            inputs={
                "importance": paths(
                    "results/{study}/importance/{model}/{task}/{shot}shot/heads.parquet",
                    task=TASKS,
                    shot=[shot],
                )
            },
            options={"shot": shot, "variant": VARIANT},
        )
    if len(SHOTS) > 1:
        figures["fig15_cross_task_srcc_more_shots"] = dict(
            item="fig08",
            inputs={
                "srcc": paths(
                    "results/{study}/agreement/{model}/{shot}shot/cross_task.tsv",
                    shot=SHOTS[1:],
                )
            },
            options={"shots": SHOTS[1:]},
        )
        figures["table1_cross_shot_srcc"] = dict(
            item="table1",
            inputs={
                "summary": paths(
                    "results/{study}/agreement/{model}/cross_shot.summary.tsv"
                )
            },
            options={},
        )
    if OOD_TASKS:
        figures["fig09_ood_transfer"] = dict(
            item="fig09",
            inputs={
                "own": paths(sweep, task=OOD_TASKS, shot=SWEEP_SHOTS, kind="heads"),
                "other": paths(
                    transfer, task=OOD_TASKS, shot=SWEEP_SHOTS, ranking="aggregate"
                ),
                "random": randoms("heads", OOD_TASKS),
            },
            options={"percents": percents, "layout": "grid", "tasks": OOD_TASKS},
        )
    # beyond the paper: how good is the gradient ranking (pruning.rankings)?
    if "oracle" in HEAD_RANKINGS:
        figures["fig20_gradient_vs_oracle"] = dict(
            item="fig20",
            inputs={
                "importance": paths(
                    "results/{study}/importance/{model}/{task}/{shot}shot/heads.parquet",
                    task=TASKS,
                    shot=SWEEP_SHOTS,
                ),
                "oracle": paths(
                    "results/{study}/head_oracle/{model}/{task}/{shot}shot/heads.parquet",
                    task=TASKS,
                    shot=SWEEP_SHOTS,
                ),
            },
            options={},
        )
    ranked = (
        "results/{study}/pruning/{model}/{task}/{shot}shot/ranked/{ranking}.parquet"
    )
    figures["fig21_ranking_quality"] = dict(
        item="fig21",
        inputs={
            "gradient": paths(sweep, task=TASKS, shot=SWEEP_SHOTS, kind="heads"),
            **{
                r: paths(ranked, task=TASKS, shot=SWEEP_SHOTS, ranking=r)
                for r in HEAD_RANKINGS
            },
            "random": randoms("heads", TASKS),
        },
        options={},
    )
    for (
        figure
    ) in (
        figures.values()
    ):  # error bands: a paired bootstrap seeded by the config's seed
        figure["options"]["seed"] = config["seed"]
    return figures


FIGURES = build_figures()
