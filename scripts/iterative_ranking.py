"""Stage: the iterative re-scored head ranking of one (task, shot), on its importance documents."""

from _common import data_manifest, setup

from iclprune.core.settings import ImportanceSettings, PruningSettings
from iclprune.workflow.rankings import iterative_ranking

sm = snakemake  # noqa: F821
iterative_ranking(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot), sm.output.scores,
    importance=ImportanceSettings.from_dict(sm.params.importance),
    pruning=PruningSettings.from_dict(sm.params.pruning), data=data_manifest(sm),
)  # fmt: skip
