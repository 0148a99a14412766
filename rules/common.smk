# Helpers shared by every rule file (no rules here).
import json

MODEL = config["model"]
MODEL_SPEC = config["models"][MODEL]
TASKS = config["tasks"]
SHOTS = config["shots"]
CONTAINER = config["container"]


def model_spec_json():
    """The model spec as one JSON string (a stable `params` value for every rule)."""
    return json.dumps(MODEL_SPEC, sort_keys=True)


def grid(kind):
    """(pct_heads, pct_ffns) pairs of a one-dimensional sweep."""
    pruning = config["pruning"]
    if kind == "heads":
        return [[p, 0] for p in pruning["head_percents"]]
    return [[0, p] for p in pruning["ffn_percents"]]


def all_targets():
    sweeps = expand(
        "results/pruning/{model}/{task}/{shot}shot/{kind}.parquet",
        model=MODEL,
        task=TASKS,
        shot=SHOTS,
        kind=["heads", "ffns"],
    )
    per_shot = expand(
        [
            "results/rankings/{model}/aggregate/{shot}shot/heads.parquet",
            "results/agreement/{model}/{shot}shot/cross_task.tsv",
            "results/induction/{model}/{shot}shot/retained.tsv",
        ],
        model=MODEL,
        shot=SHOTS,
    )
    return sweeps + per_shot + [f"results/agreement/{MODEL}/cross_shot.tsv"]
