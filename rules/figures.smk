# One rule per paper item, generated from FIGURES (defined in common.smk): each reads the result
# tables it needs and writes results/<study>/figures/<model>/<item>_<name>.{pdf,png} through
# iclprune.reporting.figures.
for stem, spec in FIGURES.items():

    rule:
        name:
            f"figure_{stem}"
        input:
            **spec["inputs"],
        output:
            report(
                f"results/{{study}}/figures/{{model}}/{stem}.png",
                caption=f"../report/{stem.split('_')[0]}.rst",
                category="Figures",
                subcategory="{model}",
            ),
            f"results/{{study}}/figures/{{model}}/{stem}.pdf",
        log:
            f"logs/{{study}}/figures/{{model}}/{stem}.log",
        benchmark:
            f"benchmarks/{{study}}/figures/{{model}}/{stem}.tsv"
        container:
            CONTAINER
        resources:
            **rule_resources(f"figure_{stem}", "light"),
        params:
            item=spec["item"],
            options=spec["options"],
        script:
            "../scripts/figure.py"
