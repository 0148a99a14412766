# Head rankings beyond the paper's gradient scores, scored on the importance documents (the training
# split, as the gradient scores are), at the sweep shots of every in-distribution task:
#   results/head_oracle/{model}/{task}/{shot}shot/heads.parquet  (every head knocked out alone)
#   results/iterative/{model}/{task}/{shot}shot/heads.parquet    (gradient re-scored every step)
# The head-pruning jobs sweep them (pruning.rankings) beside the gradient ranking.


rule head_oracle:
    input:
        data=task_data,
        card="results/{study}/models/{model}/card.json",
    output:
        scores="results/{study}/head_oracle/{model}/{task}/{shot}shot/heads.parquet",
        sidecar="results/{study}/head_oracle/{model}/{task}/{shot}shot/heads.json",
    log:
        "logs/{study}/head_oracle/{model}/{task}/{shot}shot/heads.log",
    benchmark:
        "benchmarks/{study}/head_oracle/{model}/{task}/{shot}shot/heads.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("head_oracle", "head_oracle"),
    params:
        spec=model_spec_json,
        importance=IMPORTANCE.to_dict(),
        evaluation=evaluation_settings,
    script:
        "../scripts/head_oracle.py"


rule iterative_ranking:
    input:
        data=task_data,
        card="results/{study}/models/{model}/card.json",
    output:
        scores="results/{study}/iterative/{model}/{task}/{shot}shot/heads.parquet",
        sidecar="results/{study}/iterative/{model}/{task}/{shot}shot/heads.json",
    log:
        "logs/{study}/iterative/{model}/{task}/{shot}shot/heads.log",
    benchmark:
        "benchmarks/{study}/iterative/{model}/{task}/{shot}shot/heads.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("iterative_ranking", "iterative"),
    params:
        spec=model_spec_json,
        importance=IMPORTANCE.to_dict(),
        pruning=PRUNING.to_dict(),
    script:
        "../scripts/iterative_ranking.py"
