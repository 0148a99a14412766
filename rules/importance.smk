rule head_importance:
    input:
        data=task_data,
        card="results/models/{model}/card.json",
    output:
        scores="results/importance/{model}/{task}/{shot}shot/heads.parquet",
        sidecar="results/importance/{model}/{task}/{shot}shot/heads.json",
    log:
        "logs/importance/{model}/{task}/{shot}shot/heads.log",
    benchmark:
        "benchmarks/importance/{model}/{task}/{shot}shot/heads.tsv"
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("head_importance", "importance"),
    params:
        spec=model_spec_json(),
        importance=IMPORTANCE.to_dict(),
    script:
        "../scripts/head_importance.py"


rule ffn_oracle:
    input:
        data=task_data,
        card="results/models/{model}/card.json",
    output:
        scores="results/ffn_oracle/{model}/{task}/{shot}shot/ffns.parquet",
        sidecar="results/ffn_oracle/{model}/{task}/{shot}shot/ffns.json",
    log:
        "logs/ffn_oracle/{model}/{task}/{shot}shot/ffns.log",
    benchmark:
        "benchmarks/ffn_oracle/{model}/{task}/{shot}shot/ffns.tsv"
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("ffn_oracle", "ffn_oracle"),
    params:
        spec=model_spec_json(),
        evaluation=evaluation_settings,
    script:
        "../scripts/ffn_oracle.py"
