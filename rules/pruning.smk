rule head_sweep:
    input:
        scores="results/importance/{model}/{task}/{shot}shot/heads.parquet",
    output:
        sweep="results/pruning/{model}/{task}/{shot}shot/heads.parquet",
        sidecar="results/pruning/{model}/{task}/{shot}shot/heads.json",
    log:
        "logs/pruning/{model}/{task}/{shot}shot/heads.log",
    benchmark:
        "benchmarks/pruning/{model}/{task}/{shot}shot/heads.tsv"
    container:
        CONTAINER
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        spec=model_spec_json(),
        grid=grid("heads"),
        variant=config["importance"]["variant"],
        limit=config["evaluation"]["limit"],
        batch_size=config["evaluation"]["batch_size"],
        seed=config["seed"],
    script:
        "../scripts/pruning_sweep.py"


rule ffn_sweep:
    input:
        scores="results/ffn_oracle/{model}/{task}/{shot}shot/ffns.parquet",
    output:
        sweep="results/pruning/{model}/{task}/{shot}shot/ffns.parquet",
        sidecar="results/pruning/{model}/{task}/{shot}shot/ffns.json",
    log:
        "logs/pruning/{model}/{task}/{shot}shot/ffns.log",
    benchmark:
        "benchmarks/pruning/{model}/{task}/{shot}shot/ffns.tsv"
    container:
        CONTAINER
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        spec=model_spec_json(),
        grid=grid("ffns"),
        variant=config["importance"]["variant"],
        limit=config["evaluation"]["limit"],
        batch_size=config["evaluation"]["batch_size"],
        seed=config["seed"],
    script:
        "../scripts/pruning_sweep.py"
