"""Stage: oracle head importance of one (task, shot), on its importance documents."""

from _common import data_manifest, setup

from iclprune.core.settings import EvaluationSettings, ImportanceSettings
from iclprune.workflow.rankings import head_oracle

sm = snakemake  # noqa: F821
head_oracle(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot), sm.output.scores,
    importance=ImportanceSettings.from_dict(sm.params.importance),
    evaluation=EvaluationSettings.from_dict(sm.params.evaluation), data=data_manifest(sm),
)  # fmt: skip
