"""Stage: oracle FFN importance of one (task, shot)."""

from _common import data_manifest, setup

from iclprune.workflow.stages import ffn_oracle

sm = snakemake  # noqa: F821
ffn_oracle(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot), sm.output.scores,
    limit=sm.params.limit, batch_size=sm.params.batch_size, seed=sm.params.seed, metric=sm.params.metric,
    shared_context=sm.params.shared_context, resume=sm.params.resume,
    layers_per_pass=sm.params.layers_per_pass, data=data_manifest(sm),
)  # fmt: skip
