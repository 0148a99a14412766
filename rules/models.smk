rule download_model:
    output:
        manifest="results/{study}/models/{model}/manifest.json",
    log:
        "logs/{study}/models/{model}.download.log",
    localrule: True
    container:
        CONTAINER
    resources:
        mem_mb=2000,
        runtime=600,
    params:
        spec=model_spec_json,
        name=lambda wildcards: wildcards.model,
    script:
        "../scripts/download_model.py"


rule model:
    input:
        manifest=model_manifest,
    output:
        card="results/{study}/models/{model}/card.json",
    log:
        "logs/{study}/models/{model}.log",
    container:
        MODEL_CONTAINER
    resources:
        **rule_resources("model", "model"),
    params:
        spec=model_spec_json,
    script:
        "../scripts/cache_model.py"
