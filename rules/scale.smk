# The scale study (two models or more under `model`): the per-model results side by side in one long
# table (results/<study>/scale/scale.tsv), then per series (SCALE_SERIES: the sizes against parameter
# count, the checkpoints of one model against training step) the scale claims and figures in
# results/<study>/scale/<axis>/. Inputs are lists in the study's model order (model-major).


rule scale_table:
    input:
        cards=expand("results/{{study}}/models/{model}/card.json", model=STUDY_MODELS),
        claims=expand("results/{{study}}/claims/{model}.tsv", model=STUDY_MODELS),
        retained=expand(
            "results/{{study}}/induction/{model}/{shot}shot/retained.tsv",
            model=STUDY_MODELS,
            shot=SHOTS,
        ),
        cross_task=expand(
            "results/{{study}}/agreement/{model}/{shot}shot/cross_task.tsv",
            model=STUDY_MODELS,
            shot=SHOTS,
        ),
        cross_shot=(
            expand(
                "results/{{study}}/agreement/{model}/cross_shot.summary.tsv",
                model=STUDY_MODELS,
            )
            if len(SHOTS) > 1
            else []
        ),
        aggregate=expand(
            "results/{{study}}/rankings/{model}/aggregate/{shot}shot/heads.parquet",
            model=STUDY_MODELS,
            shot=SHOTS,
        ),
        ffn_oracle=expand(
            "results/{{study}}/ffn_oracle/{model}/{task}/{shot}shot/ffns.parquet",
            model=STUDY_MODELS,
            task=TASKS,
            shot=SWEEP_SHOTS,
        ),
    output:
        table="results/{study}/scale/scale.tsv",
        sidecar="results/{study}/scale/scale.json",
    log:
        "logs/{study}/scale/scale.log",
    benchmark:
        "benchmarks/{study}/scale/scale.tsv"
    container:
        CONTAINER
    resources:
        **rule_resources("scale_table", "light"),
    params:
        models=[
            {"label": m, "step": config["models"][m].get("step")} for m in STUDY_MODELS
        ],
        shots=SHOTS,
        tasks=TASKS,
        sweep_shots=SWEEP_SHOTS,
        variant=VARIANT,
    script:
        "../scripts/scale_table.py"


rule scale_claims:
    input:
        table="results/{study}/scale/scale.tsv",
    output:
        claims=report(
            "results/{study}/scale/{axis}/claims.tsv",
            caption="../report/scale_claims.rst",
            category="Scale",
            subcategory="{axis}",
        ),
        sidecar="results/{study}/scale/{axis}/claims.json",
    log:
        "logs/{study}/scale/{axis}/claims.log",
    benchmark:
        "benchmarks/{study}/scale/{axis}/claims.tsv"
    wildcard_constraints:
        axis=one_of(SCALE_SERIES),
    container:
        CONTAINER
    resources:
        **rule_resources("scale_claims", "light"),
    params:
        name=config["name"],
    script:
        "../scripts/scale_claims.py"


rule scale_figure:
    input:
        table="results/{study}/scale/scale.tsv",
    output:
        report(
            "results/{study}/scale/{axis}/{figure}.png",
            caption="../report/scale.rst",
            category="Scale",
            subcategory="{axis}",
        ),
        "results/{study}/scale/{axis}/{figure}.pdf",
    log:
        "logs/{study}/scale/{axis}/{figure}.log",
    benchmark:
        "benchmarks/{study}/scale/{axis}/{figure}.tsv"
    wildcard_constraints:
        axis=one_of(SCALE_SERIES),
        figure=one_of(SCALE_FIGURES),
    container:
        CONTAINER
    resources:
        **rule_resources("scale_figure", "light"),
    params:
        note=SCALE_NOTE,
    script:
        "../scripts/scale_figure.py"
