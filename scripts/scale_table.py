"""Stage: every model's results side by side (the scale study's long table)."""

from _common import setup_logging

from iclprune.workflow.scale import scale_table

sm = snakemake  # noqa: F821
setup_logging(sm)
scale_table(
    {k: list(v) for k, v in sm.input.items()}, sm.output.table, models=sm.params.models, shots=sm.params.shots,
    tasks=sm.params.tasks, sweep_shots=sm.params.sweep_shots, variant=sm.params.variant,
)  # fmt: skip
