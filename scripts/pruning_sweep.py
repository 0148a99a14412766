"""Stage: accuracy under fixed rankings at every pruning percentage (heads, FFNs, or both)."""

from _common import setup

from iclprune.stages import pruning_sweep

sm = snakemake  # noqa: F821
pruning_sweep(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot), sm.output.sweep,
    head_scores=sm.input.get("heads"), ffn_scores=sm.input.get("ffns"),
    grid=[tuple(p) for p in sm.params.grid], variant=sm.params.variant, limit=sm.params.limit,
    batch_size=sm.params.batch_size, seed=sm.params.seed, metric=sm.params.metric,
    shared_context=sm.params.shared_context,
)  # fmt: skip
