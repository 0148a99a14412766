"""Stage: a task's FFN sweep, combined heads × FFNs grid and random control, on one resident model."""

from _common import data_manifest, random_outputs, setup

from iclprune.core.settings import EvaluationSettings, PruningSettings
from iclprune.workflow.sweeps import ffn_pruning

sm = snakemake  # noqa: F821
ffn_pruning(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot),
    head_scores=sm.input.heads, ffn_scores=sm.input.ffns, ffns_out=sm.output.sweep,
    combined_out=sm.output.combined, variant=sm.params.variant,
    pruning=PruningSettings.from_dict(sm.params.pruning),
    evaluation=EvaluationSettings.from_dict(sm.params.evaluation), data=data_manifest(sm),
    random=random_outputs(sm),
)  # fmt: skip
