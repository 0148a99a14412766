rule head_sweep:
    input:
        heads="results/importance/{model}/{task}/{shot}shot/heads.parquet",
    output:
        sweep="results/pruning/{model}/{task}/{shot}shot/heads.parquet",
        sidecar="results/pruning/{model}/{task}/{shot}shot/heads.json",
    log:
        "logs/pruning/{model}/{task}/{shot}shot/heads.log",
    benchmark:
        "benchmarks/pruning/{model}/{task}/{shot}shot/heads.tsv"
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("head_sweep", "sweep"),
    params:
        spec=model_spec_json(),
        grid=grid("heads"),
        variant=config["importance"]["variant"],
        limit=config["evaluation"]["limit"],
        batch_size=config["evaluation"]["batch_size"],
        shared_context=config["evaluation"]["shared_context"],
        seed=config["seed"],
        metric=task_metric,
    script:
        "../scripts/pruning_sweep.py"


rule ffn_sweep:
    input:
        ffns="results/ffn_oracle/{model}/{task}/{shot}shot/ffns.parquet",
    output:
        sweep="results/pruning/{model}/{task}/{shot}shot/ffns.parquet",
        sidecar="results/pruning/{model}/{task}/{shot}shot/ffns.json",
    log:
        "logs/pruning/{model}/{task}/{shot}shot/ffns.log",
    benchmark:
        "benchmarks/pruning/{model}/{task}/{shot}shot/ffns.tsv"
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("ffn_sweep", "sweep"),
    params:
        spec=model_spec_json(),
        grid=grid("ffns"),
        variant=config["importance"]["variant"],
        limit=config["evaluation"]["limit"],
        batch_size=config["evaluation"]["batch_size"],
        shared_context=config["evaluation"]["shared_context"],
        seed=config["seed"],
        metric=task_metric,
    script:
        "../scripts/pruning_sweep.py"


rule combined_sweep:
    input:
        heads="results/importance/{model}/{task}/{shot}shot/heads.parquet",
        ffns="results/ffn_oracle/{model}/{task}/{shot}shot/ffns.parquet",
    output:
        sweep="results/pruning/{model}/{task}/{shot}shot/combined.parquet",
        sidecar="results/pruning/{model}/{task}/{shot}shot/combined.json",
    log:
        "logs/pruning/{model}/{task}/{shot}shot/combined.log",
    benchmark:
        "benchmarks/pruning/{model}/{task}/{shot}shot/combined.tsv"
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("combined_sweep", "combined"),
    params:
        spec=model_spec_json(),
        grid=combined_grid(),
        variant=config["importance"]["variant"],
        limit=config["evaluation"]["limit"],
        batch_size=config["evaluation"]["batch_size"],
        shared_context=config["evaluation"]["shared_context"],
        seed=config["seed"],
        metric=task_metric,
    script:
        "../scripts/pruning_sweep.py"


rule transfer_sweep:
    input:
        srcc="results/agreement/{model}/{shot}shot/cross_task.tsv",
        importance=expand(
            "results/importance/{{model}}/{task}/{{shot}}shot/heads.parquet",
            task=TASKS,
        ),
        aggregate="results/rankings/{model}/aggregate/{shot}shot/heads.parquet",
    output:
        sweep="results/transfer/{model}/{task}/{shot}shot/{ranking}.parquet",
        sidecar="results/transfer/{model}/{task}/{shot}shot/{ranking}.json",
    log:
        "logs/transfer/{model}/{task}/{shot}shot/{ranking}.log",
    benchmark:
        "benchmarks/transfer/{model}/{task}/{shot}shot/{ranking}.tsv"
    wildcard_constraints:
        ranking="high|low|aggregate",
    container:
        MODEL_CONTAINER
    threads: 2
    resources:
        **rule_resources("transfer_sweep", "transfer"),
    params:
        spec=model_spec_json(),
        percents=config["pruning"]["transfer_percents"],
        variant=config["importance"]["variant"],
        limit=config["evaluation"]["limit"],
        batch_size=config["evaluation"]["batch_size"],
        shared_context=config["evaluation"]["shared_context"],
        seed=config["seed"],
        metric=task_metric,
    script:
        "../scripts/transfer_sweep.py"
