"""Stage: cross-shot SRCC per task and its summary over tasks (Table 1)."""

from _common import setup_logging

from iclprune.workflow.summaries import cross_shot_agreement

sm = snakemake  # noqa: F821
setup_logging(sm)
cross_shot_agreement(list(sm.input.scores), sm.output.table, variant=sm.params.variant)
