rule model:
    output:
        card="results/models/{model}/card.json",
    log:
        "logs/models/{model}.log",
    container:
        CONTAINER
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        spec=model_spec_json(),
    script:
        "../scripts/cache_model.py"
