"""Stage: aggregate head importance of one shot (mean of the tasks' raw scores)."""

from _common import setup_logging

from iclprune.workflow.summaries import aggregate_importance

sm = snakemake  # noqa: F821
setup_logging(sm)
aggregate_importance(list(sm.input.scores), sm.output.scores)
