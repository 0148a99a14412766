"""Stage: retained prefix-matching / copying capacity under the aggregate and per-task rankings."""

from _common import setup_logging

from iclprune.workflow.summaries import retained_capacity

sm = snakemake  # noqa: F821
setup_logging(sm)
retained_capacity(
    [sm.input.aggregate, *sm.input.tasks], sm.input.induction, sm.output.table, variant=sm.params.variant
)
