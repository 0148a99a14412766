rule aggregate_importance:
    input:
        scores=expand(
            "results/{{study}}/importance/{{model}}/{task}/{{shot}}shot/heads.parquet",
            task=TASKS,
        ),
    output:
        scores="results/{study}/rankings/{model}/aggregate/{shot}shot/heads.parquet",
        sidecar="results/{study}/rankings/{model}/aggregate/{shot}shot/heads.json",
    log:
        "logs/{study}/rankings/{model}/aggregate/{shot}shot/heads.log",
    benchmark:
        "benchmarks/{study}/rankings/{model}/aggregate/{shot}shot/heads.tsv"
    container:
        CONTAINER
    resources:
        **rule_resources("aggregate_importance", "light"),
    script:
        "../scripts/aggregate_importance.py"


rule cross_task_agreement:
    input:
        scores=expand(
            "results/{{study}}/importance/{{model}}/{task}/{{shot}}shot/heads.parquet",
            task=TASKS,
        ),
    output:
        table="results/{study}/agreement/{model}/{shot}shot/cross_task.tsv",
        sidecar="results/{study}/agreement/{model}/{shot}shot/cross_task.json",
    log:
        "logs/{study}/agreement/{model}/{shot}shot/cross_task.log",
    benchmark:
        "benchmarks/{study}/agreement/{model}/{shot}shot/cross_task.tsv"
    container:
        CONTAINER
    resources:
        **rule_resources("cross_task_agreement", "light"),
    params:
        variant=VARIANT,
    script:
        "../scripts/cross_task_agreement.py"


rule cross_shot_agreement:
    input:
        scores=expand(
            "results/{{study}}/importance/{{model}}/{task}/{shot}shot/heads.parquet",
            task=TASKS,
            shot=SHOTS,
        ),
    output:
        table="results/{study}/agreement/{model}/cross_shot.tsv",
        summary="results/{study}/agreement/{model}/cross_shot.summary.tsv",
        sidecar="results/{study}/agreement/{model}/cross_shot.json",
    log:
        "logs/{study}/agreement/{model}/cross_shot.log",
    benchmark:
        "benchmarks/{study}/agreement/{model}/cross_shot.tsv"
    container:
        CONTAINER
    resources:
        **rule_resources("cross_shot_agreement", "light"),
    params:
        variant=VARIANT,
    script:
        "../scripts/cross_shot_agreement.py"
