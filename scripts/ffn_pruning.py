"""Stage: a task's FFN sweep and combined heads × FFNs grid, on one resident model."""

from _common import data_manifest, setup

from iclprune.workflow.stages import ffn_pruning

sm = snakemake  # noqa: F821
ffn_pruning(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot),
    head_scores=sm.input.heads, ffn_scores=sm.input.ffns,
    ffns_out=sm.output.sweep, ffn_grid=[tuple(p) for p in sm.params.grid],
    combined_out=sm.output.combined, combined_grid=[tuple(p) for p in sm.params.combined_grid],
    variant=sm.params.variant, limit=sm.params.limit, batch_size=sm.params.batch_size,
    seed=sm.params.seed, metric=sm.params.metric, shared_context=sm.params.shared_context,
    mask_batch=sm.params.mask_batch, data=data_manifest(sm),
)  # fmt: skip
