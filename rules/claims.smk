rule claims:
    input:
        **{
            f"ranked_{r}": paths(
                "results/{study}/pruning/{model}/{task}/{shot}shot/ranked/{r}.parquet",
                task=TASKS,
                shot=SWEEP_SHOTS,
                r=r,
            )
            for r in HEAD_RANKINGS
        },
        importance=paths(
            "results/{study}/importance/{model}/{task}/{shot}shot/heads.parquet",
            task=TASKS,
            shot=SHOTS,
        ),
        head_sweeps=paths(
            "results/{study}/pruning/{model}/{task}/{shot}shot/heads.parquet",
            task=TASKS,
            shot=SWEEP_SHOTS,
        ),
        ffn_sweeps=paths(
            "results/{study}/pruning/{model}/{task}/{shot}shot/ffns.parquet",
            task=TASKS,
            shot=SWEEP_SHOTS,
        ),
        combined=paths(
            "results/{study}/pruning/{model}/{task}/{shot}shot/combined.parquet",
            task=TASKS,
            shot=SWEEP_SHOTS,
        ),
        aggregate=paths(
            "results/{study}/rankings/{model}/aggregate/{shot}shot/heads.parquet",
            shot=SHOTS,
        ),
        oracle=paths(
            "results/{study}/ffn_oracle/{model}/{task}/{shot}shot/ffns.parquet",
            task=TASKS,
            shot=SWEEP_SHOTS,
        ),
        cross_task=paths(
            "results/{study}/agreement/{model}/{shot}shot/cross_task.tsv", shot=SHOTS
        ),
        cross_shot=(
            paths("results/{study}/agreement/{model}/cross_shot.summary.tsv")
            if len(SHOTS) > 1
            else []
        ),
        induction=paths("results/{study}/induction/{model}/scores.parquet"),
        retained=paths(
            "results/{study}/induction/{model}/{shot}shot/retained.tsv", shot=SHOTS
        ),
        # beyond the paper: the ranking-quality claims (pruning.rankings, the random control)
        random_heads=paths(
            "results/{study}/pruning/{model}/{task}/{shot}shot/random/heads_{draw}.parquet",
            task=TASKS,
            shot=SWEEP_SHOTS,
            draw=RANDOM_DRAWS,
        ),
        head_oracle=(
            paths(
                "results/{study}/head_oracle/{model}/{task}/{shot}shot/heads.parquet",
                task=TASKS,
                shot=SWEEP_SHOTS,
            )
            if "oracle" in HEAD_RANKINGS
            else []
        ),
    output:
        report(
            "results/{study}/claims/{model}.tsv",
            caption="../report/claims.rst",
            category="Claims",
            subcategory="{model}",
        ),
        "results/{study}/claims/{model}.json",
    log:
        "logs/{study}/claims/{model}.log",
    benchmark:
        "benchmarks/{study}/claims/{model}.tsv"
    container:
        CONTAINER
    resources:
        **rule_resources("claims", "light"),
    params:
        name=claims_name,
        variant=VARIANT,
        pairs=config["claims"]["pairs"],
        seed=config["seed"],
    script:
        "../scripts/claims.py"
