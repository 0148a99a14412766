"""Stage: gradient head importance of one (task, shot)."""

from _common import data_manifest, setup

from iclprune.core.settings import ImportanceSettings
from iclprune.workflow.stages import head_importance

sm = snakemake  # noqa: F821
head_importance(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot), sm.output.scores,
    importance=ImportanceSettings.from_dict(sm.params.importance), data=data_manifest(sm),
)  # fmt: skip
