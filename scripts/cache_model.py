"""Stage: make the model loadable offline (re-checking a hub snapshot against its manifest); write its card."""

from _common import setup

from iclprune.workflow.stages import cache_model

manifests = list(snakemake.input.get("manifest", []))  # noqa: F821  (hub models only: one file)
cache_model(setup(snakemake), snakemake.output.card, manifest=manifests[0] if manifests else None)  # noqa: F821
