"""Stage: prefix-matching and copying scores of every head."""

from _common import setup

from iclprune.workflow.stages import induction_scores

sm = snakemake  # noqa: F821
induction_scores(setup(sm), sm.output.scores, n_seeds=sm.params.n_seeds, compat_off_by_one=sm.params.compat)
