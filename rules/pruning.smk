# Pruning experiments, one job per (task, shot) and family, each on one resident model that every mask
# of the job shares (a mask common to two sweeps is evaluated once). Outputs keep one file per sweep:
#   results/pruning/{model}/{task}/{shot}shot/{heads,ffns,combined}.parquet
#   results/transfer/{model}/{task}/{shot}shot/{high,low,aggregate}.parquet
#   results/pruning/{model}/{task}/{shot}shot/random/{heads,ffns}_{draw}.parquet (the random control)
#   results/pruning/{model}/{task}/{shot}shot/ranked/{oracle,iterative}.parquet (other head rankings)


wildcard_constraints:
    shot=r"\d+",


rule head_pruning:
    """Head sweep under the task's own ranking + cross-task transfer (high/low SRCC partner, aggregate)
    + the random control + the oracle and iterative rankings (pruning.rankings)."""
    input:
        **ranked_inputs(),
        data=task_data,
        heads="results/{study}/importance/{model}/{task}/{shot}shot/heads.parquet",
        srcc="results/{study}/agreement/{model}/{shot}shot/cross_task.tsv",
        importance=expand(
            "results/{{study}}/importance/{{model}}/{task}/{{shot}}shot/heads.parquet",
            task=TASKS,
        ),
        aggregate="results/{study}/rankings/{model}/aggregate/{shot}shot/heads.parquet",
    output:
        **transfer_outputs(TRANSFER_RANKINGS),
        **random_outputs("heads"),
        **ranked_outputs(),
        sweep="results/{study}/pruning/{model}/{task}/{shot}shot/heads.parquet",
        sidecar="results/{study}/pruning/{model}/{task}/{shot}shot/heads.json",
    log:
        "logs/{study}/pruning/{model}/{task}/{shot}shot/heads.log",
    benchmark:
        "benchmarks/{study}/pruning/{model}/{task}/{shot}shot/heads.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("head_pruning", "head_pruning"),
    params:
        spec=model_spec_json,
        rankings=TRANSFER_RANKINGS,
        variant=VARIANT,
        pruning=PRUNING.to_dict(),
        evaluation=evaluation_settings,
    script:
        "../scripts/head_pruning.py"


rule ood_head_pruning:
    """An out-of-distribution task: head sweep under its own ranking + the aggregate ranking."""
    input:
        data=task_data,
        heads="results/{study}/importance/{model}/{task}/{shot}shot/heads.parquet",
        aggregate="results/{study}/rankings/{model}/aggregate/{shot}shot/heads.parquet",
    output:
        **transfer_outputs(["aggregate"]),
        **random_outputs("heads"),
        sweep="results/{study}/pruning/{model}/{task}/{shot}shot/heads.parquet",
        sidecar="results/{study}/pruning/{model}/{task}/{shot}shot/heads.json",
    log:
        "logs/{study}/pruning/{model}/{task}/{shot}shot/heads.log",
    benchmark:
        "benchmarks/{study}/pruning/{model}/{task}/{shot}shot/heads.tsv"
    wildcard_constraints:
        task=one_of(OOD_TASKS),
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("ood_head_pruning", "head_pruning"),
    params:
        spec=model_spec_json,
        rankings=["aggregate"],
        variant=VARIANT,
        pruning=PRUNING.to_dict(),
        evaluation=evaluation_settings,
    script:
        "../scripts/head_pruning.py"


rule ffn_pruning:
    """FFN sweep under the oracle ranking + the combined heads × FFNs grid."""
    input:
        data=task_data,
        heads="results/{study}/importance/{model}/{task}/{shot}shot/heads.parquet",
        ffns="results/{study}/ffn_oracle/{model}/{task}/{shot}shot/ffns.parquet",
    output:
        **random_outputs("ffns"),
        sweep="results/{study}/pruning/{model}/{task}/{shot}shot/ffns.parquet",
        sidecar="results/{study}/pruning/{model}/{task}/{shot}shot/ffns.json",
        combined="results/{study}/pruning/{model}/{task}/{shot}shot/combined.parquet",
        combined_sidecar="results/{study}/pruning/{model}/{task}/{shot}shot/combined.json",
    log:
        "logs/{study}/pruning/{model}/{task}/{shot}shot/ffns.log",
    benchmark:
        "benchmarks/{study}/pruning/{model}/{task}/{shot}shot/ffns.tsv"
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("ffn_pruning", "ffn_pruning"),
    params:
        spec=model_spec_json,
        variant=VARIANT,
        pruning=PRUNING.to_dict(),
        evaluation=evaluation_settings,
    script:
        "../scripts/ffn_pruning.py"
