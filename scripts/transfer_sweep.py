"""Stage: prune a task with another task's (or the aggregate) head ranking."""

from _common import setup

from iclprune.stages import transfer_sweep

sm = snakemake  # noqa: F821
transfer_sweep(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot), sm.wildcards.ranking, sm.output.sweep,
    srcc=sm.input.srcc, importance=list(sm.input.importance), aggregate=sm.input.aggregate,
    percents=sm.params.percents, variant=sm.params.variant, limit=sm.params.limit,
    batch_size=sm.params.batch_size, seed=sm.params.seed, metric=sm.params.metric,
    shared_context=sm.params.shared_context,
)  # fmt: skip
