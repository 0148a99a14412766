rule head_importance:
    input:
        data=task_data,
        card="results/{study}/models/{model}/card.json",
    output:
        scores="results/{study}/importance/{model}/{task}/{shot}shot/heads.parquet",
        sidecar="results/{study}/importance/{model}/{task}/{shot}shot/heads.json",
    log:
        "logs/{study}/importance/{model}/{task}/{shot}shot/heads.log",
    benchmark:
        "benchmarks/{study}/importance/{model}/{task}/{shot}shot/heads.tsv"
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("head_importance", "importance"),
    params:
        spec=model_spec_json,
        importance=IMPORTANCE.to_dict(),
    script:
        "../scripts/head_importance.py"


rule ffn_oracle:
    input:
        data=task_data,
        card="results/{study}/models/{model}/card.json",
    output:
        scores="results/{study}/ffn_oracle/{model}/{task}/{shot}shot/ffns.parquet",
        sidecar="results/{study}/ffn_oracle/{model}/{task}/{shot}shot/ffns.json",
    log:
        "logs/{study}/ffn_oracle/{model}/{task}/{shot}shot/ffns.log",
    benchmark:
        "benchmarks/{study}/ffn_oracle/{model}/{task}/{shot}shot/ffns.tsv"
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("ffn_oracle", "ffn_oracle"),
    params:
        spec=model_spec_json,
        evaluation=evaluation_settings,
    script:
        "../scripts/ffn_oracle.py"
