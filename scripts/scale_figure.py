"""Stage: one scale figure of one series."""

from _common import setup_logging

from iclprune.workflow.scale import scale_figure

sm = snakemake  # noqa: F821
setup_logging(sm)
stem = str(sm.output[1])[: -len(".pdf")]
scale_figure(sm.wildcards.figure, sm.input.table, stem, axis=sm.wildcards.axis, note=sm.params.note)
