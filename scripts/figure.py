"""Stage: draw one paper item from result tables."""

from _common import setup_logging

from iclprune.reporting.figures import make_figure

sm = snakemake  # noqa: F821
setup_logging(sm)
stem = str(sm.output[1])[: -len(".pdf")]
make_figure(
    sm.params.item,
    {k: list(v) if not isinstance(v, str) else [v] for k, v in sm.input.items()},
    stem,
    **sm.params.options,
)
