"""Stage: the scale claims of one series (sizes against parameter count, or checkpoints against step)."""

from _common import setup_logging

from iclprune.workflow.scale import scale_claims

sm = snakemake  # noqa: F821
setup_logging(sm)
scale_claims(sm.input.table, sm.output.claims, axis=sm.wildcards.axis, config_name=sm.params.name)
