"""The SmolLM2 accuracy table in tasks/README.md is the rendering of the measured tasks/smollm2_accuracy.tsv
(written by `iclprune task-table`, see tasks/README.md), never typed in."""

from __future__ import annotations

import pandas as pd

from iclprune.workflow.cli import TABLE_END, TABLE_START, render_task_table


def test_readme_table_is_rendered_from_the_measured_file(root) -> None:
    measured = pd.read_csv(root / "tasks/smollm2_accuracy.tsv", sep="\t")
    readme = (root / "tasks/README.md").read_text()
    block = readme.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()
    assert block == render_task_table(measured).strip()
    tasks = sorted(p.stem for p in (root / "tasks").glob("icl_*.yaml"))
    assert sorted(set(measured.task)) == tasks  # every bundled task measured
    assert sorted(set(measured.shot)) == [0, 1, 5]


def test_render_task_table_marks_means() -> None:
    df = pd.DataFrame(
        {"task": ["a", "a", "b", "b"], "shot": [0, 5, 0, 5], "acc": [0.5, 0.7, 0.2, 0.4],
         "chance": [0.5, 0.5, 0.25, 0.25], "n_docs": [10] * 4}
    )  # fmt: skip
    text = render_task_table(df)
    assert "| a | 0.50 | 0.500 | 0.700 |" in text
    assert "| **mean** | 0.38 | **0.350** | **0.550** |" in text
