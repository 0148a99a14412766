"""Stage: gradient head importance of one (task, shot)."""

from _common import data_manifest, setup

from iclprune.workflow.stages import head_importance

sm = snakemake  # noqa: F821
head_importance(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot), sm.output.scores,
    n_docs=sm.params.n_docs, batch_size=sm.params.batch_size, normalizer=sm.params.normalizer, seed=sm.params.seed,
    data=data_manifest(sm),
)  # fmt: skip
