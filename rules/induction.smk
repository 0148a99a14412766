rule induction_scores:
    input:
        card="results/{study}/models/{model}/card.json",
    output:
        scores="results/{study}/induction/{model}/scores.parquet",
        sidecar="results/{study}/induction/{model}/scores.json",
    log:
        "logs/{study}/induction/{model}/scores.log",
    benchmark:
        "benchmarks/{study}/induction/{model}/scores.tsv"
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("induction_scores", "induction"),
    params:
        spec=model_spec_json,
        induction=INDUCTION.to_dict(),
    script:
        "../scripts/induction_scores.py"


rule retained_capacity:
    input:
        aggregate="results/{study}/rankings/{model}/aggregate/{shot}shot/heads.parquet",
        tasks=expand(
            "results/{{study}}/importance/{{model}}/{task}/{{shot}}shot/heads.parquet",
            task=TASKS,
        ),
        induction="results/{study}/induction/{model}/scores.parquet",
    output:
        table="results/{study}/induction/{model}/{shot}shot/retained.tsv",
        sidecar="results/{study}/induction/{model}/{shot}shot/retained.json",
    log:
        "logs/{study}/induction/{model}/{shot}shot/retained.log",
    benchmark:
        "benchmarks/{study}/induction/{model}/{shot}shot/retained.tsv"
    container:
        CONTAINER
    resources:
        **rule_resources("retained_capacity", "light"),
    params:
        variant=VARIANT,
    script:
        "../scripts/retained_capacity.py"
