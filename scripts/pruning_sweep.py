"""Stage: accuracy under a fixed ranking at every pruning percentage."""

from _common import setup

from iclprune.stages import pruning_sweep

sm = snakemake  # noqa: F821
kind = "heads" if sm.rule == "head_sweep" else "ffns"
pruning_sweep(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot), sm.output.sweep,
    head_scores=sm.input.scores if kind == "heads" else None,
    ffn_scores=sm.input.scores if kind == "ffns" else None,
    grid=[tuple(p) for p in sm.params.grid], variant=sm.params.variant, limit=sm.params.limit,
    batch_size=sm.params.batch_size, seed=sm.params.seed,
)  # fmt: skip
