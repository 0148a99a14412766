"""Stage: prefix-matching and copying scores of every head."""

from _common import setup

from iclprune.core.settings import InductionSettings
from iclprune.workflow.stages import induction_scores

sm = snakemake  # noqa: F821
induction_scores(setup(sm), sm.output.scores, induction=InductionSettings.from_dict(sm.params.induction))
