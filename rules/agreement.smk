rule aggregate_importance:
    input:
        scores=expand(
            "results/importance/{{model}}/{task}/{{shot}}shot/heads.parquet",
            task=TASKS,
        ),
    output:
        scores="results/rankings/{model}/aggregate/{shot}shot/heads.parquet",
        sidecar="results/rankings/{model}/aggregate/{shot}shot/heads.json",
    log:
        "logs/rankings/{model}/aggregate/{shot}shot/heads.log",
    benchmark:
        "benchmarks/rankings/{model}/aggregate/{shot}shot/heads.tsv"
    container:
        CONTAINER
    resources:
        **rule_resources("aggregate_importance", "light"),
    script:
        "../scripts/aggregate_importance.py"


rule cross_task_agreement:
    input:
        scores=expand(
            "results/importance/{{model}}/{task}/{{shot}}shot/heads.parquet",
            task=TASKS,
        ),
    output:
        table="results/agreement/{model}/{shot}shot/cross_task.tsv",
        sidecar="results/agreement/{model}/{shot}shot/cross_task.json",
    log:
        "logs/agreement/{model}/{shot}shot/cross_task.log",
    benchmark:
        "benchmarks/agreement/{model}/{shot}shot/cross_task.tsv"
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
            "results/importance/{{model}}/{task}/{shot}shot/heads.parquet",
            task=TASKS,
            shot=SHOTS,
        ),
    output:
        table="results/agreement/{model}/cross_shot.tsv",
        summary="results/agreement/{model}/cross_shot.summary.tsv",
        sidecar="results/agreement/{model}/cross_shot.json",
    log:
        "logs/agreement/{model}/cross_shot.log",
    benchmark:
        "benchmarks/agreement/{model}/cross_shot.tsv"
    container:
        CONTAINER
    resources:
        **rule_resources("cross_shot_agreement", "light"),
    params:
        variant=VARIANT,
    script:
        "../scripts/cross_shot_agreement.py"
