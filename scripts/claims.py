"""Stage: the claims table, published numbers beside this run's."""

from _common import setup_logging

from iclprune.workflow.summaries import claims

sm = snakemake  # noqa: F821
setup_logging(sm)
inputs = {k: list(v) for k, v in sm.input.items()}
claims(
    inputs, sm.output[0], config_name=sm.params.name, variant=sm.params.variant, pairs=sm.params.pairs,
    seed=sm.params.seed,
)  # fmt: skip
