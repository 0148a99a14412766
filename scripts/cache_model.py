"""Stage: make the model loadable offline; write its card."""

from _common import setup

from iclprune.stages import cache_model

cache_model(setup(snakemake), snakemake.output.card)  # noqa: F821
