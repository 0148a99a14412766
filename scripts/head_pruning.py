"""Stage: a task's head sweep under its own ranking and its transfer sweeps, on one resident model."""

from _common import data_manifest, setup

from iclprune.workflow.stages import head_pruning

sm = snakemake  # noqa: F821
head_pruning(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot),
    head_scores=sm.input.heads, heads_out=sm.output.sweep, grid=[tuple(p) for p in sm.params.grid],
    transfer={r: sm.output[r] for r in sm.params.rankings}, srcc=sm.input.get("srcc"),
    importance=list(sm.input.get("importance", [])), aggregate=sm.input.aggregate,
    percents=sm.params.percents, variant=sm.params.variant, limit=sm.params.limit,
    batch_size=sm.params.batch_size, seed=sm.params.seed, metric=sm.params.metric,
    shared_context=sm.params.shared_context,
    mask_batch=sm.params.mask_batch, data=data_manifest(sm),
)  # fmt: skip
