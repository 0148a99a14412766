# iclprune: which attention heads and FFNs does in-context learning need?
# `snakemake --cores 2` runs the embedded default (config/config.yaml); see README.md.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


include: "rules/common.smk"
include: "rules/models.smk"
include: "rules/data.smk"
include: "rules/importance.smk"
include: "rules/rankings.smk"
include: "rules/pruning.smk"
include: "rules/agreement.smk"
include: "rules/induction.smk"
include: "rules/figures.smk"
include: "rules/claims.smk"
include: "rules/scale.smk"


rule all:
    default_target: True
    input:
        all_targets(),
