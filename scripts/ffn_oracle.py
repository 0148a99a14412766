"""Stage: oracle FFN importance of one (task, shot)."""

from _common import data_manifest, setup

from iclprune.core.settings import EvaluationSettings
from iclprune.workflow.stages import ffn_oracle

sm = snakemake  # noqa: F821
ffn_oracle(
    setup(sm), sm.wildcards.task, int(sm.wildcards.shot), sm.output.scores,
    evaluation=EvaluationSettings.from_dict(sm.params.evaluation), data=data_manifest(sm),
)  # fmt: skip
