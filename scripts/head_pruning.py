"""Stage: a task's head sweep under its own ranking, its transfer sweeps, the random control and the sweeps
under the oracle and iterative rankings, on one resident model."""

from _common import data_manifest, random_outputs, ranked, setup

from iclprune.core.settings import EvaluationSettings, PruningSettings
from iclprune.workflow.sweeps import head_pruning

sm = snakemake  # noqa: F821
head_pruning(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot),
    head_scores=sm.input.heads, heads_out=sm.output.sweep,
    transfer={r: sm.output[r] for r in sm.params.rankings}, srcc=sm.input.get("srcc"),
    importance=list(sm.input.get("importance", [])), aggregate=sm.input.aggregate, variant=sm.params.variant,
    pruning=PruningSettings.from_dict(sm.params.pruning),
    evaluation=EvaluationSettings.from_dict(sm.params.evaluation), data=data_manifest(sm),
    random=random_outputs(sm), ranked=ranked(sm),
)  # fmt: skip
