"""Stage: cross-task SRCC matrix of one shot (textbook and paper_argsort)."""

from _common import setup_logging

from iclprune.workflow.summaries import cross_task_agreement

sm = snakemake  # noqa: F821
setup_logging(sm)
cross_task_agreement(list(sm.input.scores), sm.output.table, variant=sm.params.variant)
