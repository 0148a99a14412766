"""docs/data.md's baseline table is the rendering of the measured docs/smollm2_superglue.tsv (written by
`iclprune task-table --data-root ../shared/data`), and config/superglue.yaml runs real tasks that the
measurement shows SmolLM2 doing above chance."""

from __future__ import annotations

import pandas as pd
import yaml

from iclprune.workflow.cli import TABLE_END, TABLE_START, render_task_table


def test_the_baseline_table_is_rendered_from_the_measured_file(root) -> None:
    measured = pd.read_csv(root / "docs/smollm2_superglue.tsv", sep="\t")
    doc = (root / "docs/data.md").read_text()
    block = doc.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()
    assert block == render_task_table(measured).strip()
    assert {"acc_low", "acc_high", "chance", "n_docs"} <= set(measured.columns)
    assert ((measured.acc_low <= measured.acc) & (measured.acc <= measured.acc_high)).all()


def test_the_real_data_study_runs_tasks_done_above_chance(root) -> None:
    measured = pd.read_csv(root / "docs/smollm2_superglue.tsv", sep="\t")
    config = yaml.safe_load((root / "config/superglue.yaml").read_text())
    shots = config["sweep_shots"] or config["shots"]
    at = measured[measured.shot.isin(shots)]
    above = set(at[at.acc > at.chance].task)  # point estimate above the majority-class share
    assert set(config["tasks"]) <= above
    assert len(config["tasks"]) >= 2  # cross-task agreement and transfer need two tasks
    # the best of them, by its lower 95% bound, is among those run
    best = at.sort_values("acc_low").task.iloc[-1]
    assert best in config["tasks"]
