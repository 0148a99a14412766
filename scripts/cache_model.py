"""Stage: make the model loadable offline; write its card."""

from _common import setup

from iclprune.stages import cache_model

manifest = snakemake.input.get("manifest") or None  # noqa: F821  (hub models only)
cache_model(setup(snakemake), snakemake.output.card, manifest=manifest)  # noqa: F821
