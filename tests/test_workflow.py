"""The Snakemake workflow end to end on the tiny config (a real snakemake run, in a temp directory)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def test_tiny_workflow_runs_end_to_end_and_resumes(root: Path, tiny_run, run_tiny) -> None:
    tmp_path, done = tiny_run.workdir, tiny_run.process  # the run is a session fixture (conftest.py)
    assert done.returncode == 0, done.stderr[-4000:]
    base = tmp_path / "results/tiny"  # results/<study>/, per model below
    sweep = pd.read_parquet(base / "pruning/tiny-llama/icl_antonyms/1shot/heads.parquet")
    assert sweep.pct_heads.tolist() == [0.0, 50.0, 90.0]
    assert sweep.n_heads_removed.tolist() == [0, 9, 16]  # ⌊p·18/100⌋ of 3 layers × 6 heads
    oracle = pd.read_parquet(base / "ffn_oracle/tiny-llama/icl_antonyms/0shot/ffns.parquet")
    assert oracle.layer.tolist() == [0, 1, 2]
    heads = pd.read_parquet(base / "importance/tiny-llama/icl_antonyms/0shot/heads.parquet")
    assert set(heads.variant) == {"bansal", "michel"}
    assert (base / "pruning/tiny-llama/icl_antonyms/1shot/heads.docs.parquet").is_file()
    assert (base / "importance/tiny-llama/icl_antonyms/0shot/heads.json").is_file()
    retained = pd.read_csv(base / "induction/tiny-llama/1shot/retained.tsv", sep="\t")
    assert set(retained.ranking_task) == {"aggregate", "icl_antonyms", "icl_city_country"}
    assert retained.groupby(["ranking_task", "score_kind"]).pct_retained.first().eq(100).all()
    srcc = pd.read_csv(base / "agreement/tiny-llama/0shot/cross_task.tsv", sep="\t")
    assert set(srcc.method) == {"spearman", "paper_argsort"}
    transfer = pd.read_parquet(base / "transfer/tiny-llama/icl_antonyms/0shot/high.parquet")
    assert set(transfer.ranking_task) == {"icl_city_country"}  # the only partner
    figures = sorted(p.name for p in (base / "figures/tiny-llama").glob("*.pdf"))
    items = sorted({name.split("_")[0] for name in figures})
    assert items == sorted(
        [f"fig{n:02d}" for n in [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]]
        + ["table1"]
    )
    assert "fig09_ood_transfer.pdf" in figures
    claims = pd.read_csv(base / "claims/tiny-llama.tsv", sep="\t")
    assert {"claim", "paper", "ours", "figure", "config"} <= set(claims.columns)
    heads_claim = claims[claims.claim.str.startswith("heads removable") & (claims.figure == "fig05")]
    assert len(heads_claim) == 2  # one per sweep shot (0, 1)
    # decided from the paired bootstrap interval over documents (issue 17)
    assert set(heads_claim.verdict) <= {"reproduced", "not reproduced", "undecided"}
    assert (heads_claim.low.astype(float) <= heads_claim.high.astype(float)).all()
    # beyond the paper: the other rankings (oracle, iterative, random) and SRCC(gradient, oracle)
    ranked = claims[claims.figure == "fig21"]
    assert len(ranked) == 3 * 2  # three rankings × two sweep shots
    assert set(ranked.verdict) <= {"reproduced", "not reproduced", "undecided"}
    srcc_oracle = claims[claims.figure == "fig20"]
    assert len(srcc_oracle) == 2
    assert (srcc_oracle.low.astype(float) <= srcc_oracle.high.astype(float)).all()
    head_oracle = pd.read_parquet(base / "head_oracle/tiny-llama/icl_antonyms/1shot/heads.parquet")
    assert len(head_oracle) == 3 * 6  # every head knocked out alone
    iterative = pd.read_parquet(base / "pruning/tiny-llama/icl_antonyms/1shot/ranked/iterative.parquet")
    assert iterative.pct_heads.tolist() == [0.0, 50.0, 90.0]
    assert iterative.acc.iloc[0] == sweep.acc.iloc[0]  # the unpruned point is the same model
    table1 = claims[claims.claim.str.startswith("cross-shot SRCC")]
    assert len(table1) == 3  # 0-1, 0-5, 1-5: importance runs at every shot
    # nothing left to do on a second run
    again = run_tiny(root, tmp_path, "-n")
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr
    # a deleted figure is redrawn by its plotting job alone
    fig07 = base / "figures/tiny-llama/fig07_combined_pruning.pdf"
    fig07.rename(fig07.with_suffix(".bak"))
    redo = run_tiny(root, tmp_path, "-n", "--quiet", "rules")
    fig07.with_suffix(".bak").rename(fig07)  # the run stays whole for the other tests that share it
    assert redo.returncode == 0
    jobs = {
        line.split()[0]
        for line in redo.stdout.splitlines()
        if line[:1].isalpha() and line.split()[-1].isdigit()
    }
    assert jobs == {"all", "figure_fig07_combined_pruning", "total"}  # (the stats table may print twice)
    report = run_tiny(root, tmp_path, "--report", str(tmp_path / "report.html"))
    assert report.returncode == 0, report.stderr[-3000:]
    assert "fig05_head_pruning" in (tmp_path / "report.html").read_text(errors="replace")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("shots: [0, 1, 5]", "shots: [-1]", ["On instance['shots'][0]:\n    -1", "'minimum': 0"]),
        (
            "sweep_shots: [0, 1]",
            "sweep_shots: [0, 2]",
            ["sweep_shots [0, 2] has [2], not in shots [0, 1, 5]"],
        ),
        (
            "seed: 1234",
            "seed: 1234\nsede: 3",
            ["Additional properties are not allowed ('sede' was unexpected)"],
        ),
        ("  limit: 4", "  limit: four", ["On instance['evaluation']['limit']:\n    'four'"]),
        (
            "ood_tasks: [icl_lastword]",
            "ood_tasks: [icl_nonesuch]",
            ["unknown task(s) ['icl_nonesuch']", "icl_antonyms", "lm-eval's task registry"],
        ),
        ("model: tiny-llama", "model: tiny-opt", ["model 'tiny-opt' is not defined under `models`"]),
    ],
)
def test_bad_config_is_named_before_any_job(
    root: Path, tmp_path: Path, old: str, new: str, expected: list[str]
) -> None:
    text = (root / "config/tiny.yaml").read_text()
    assert old in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new))
    env = dict(os.environ, ICLPRUNE_TASKS=str(root / "tasks"))
    cmd = [str(Path(sys.executable).with_name("snakemake")), "--snakefile", str(root / "Snakefile"),
           "--directory", str(tmp_path), "--configfile", str(bad), "--cores", "1"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    message = done.stdout + done.stderr  # snakemake reports validation errors on stdout
    for part in expected:
        assert part in message
    assert not (tmp_path / "results").exists()  # nothing ran


def test_paper_config_dry_run_builds_the_full_dag_offline(root: Path) -> None:
    import time

    from test_real_data_workflow import DATA_RULE_TASKS, TASK_JOBS, dry_run_jobs

    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    cmd = [str(Path(sys.executable).with_name("snakemake")), "--snakefile", str(root / "Snakefile"),
           "--directory", str(root), "--configfile", str(root / "config/paper.yaml"), "-n", "--cores", "1"]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    total = int(next(line.split()[-1] for line in done.stdout.splitlines() if line.startswith("total")))
    # 16 tasks x 3 shots of importance and of head pruning (sweep + transfers), 14 x 3 of FFN oracle and
    # of FFN pruning (sweep + combined grid), one data job per task, rankings, agreement, induction,
    # figures, claims
    assert total >= 16 * 3 * 2 + 14 * 3 * 2 + 16
    assert elapsed < 60
    # one data-fetch job per task, and every job that reads a task depends on that task's data
    jobs = dry_run_jobs(done.stdout)
    data_jobs = [j for j in jobs if j["rule"] == "task_data"]
    assert {j["wildcards"]["task"] for j in data_jobs} == DATA_RULE_TASKS
    assert all(
        re.fullmatch(r"results/data/[\w.]+/hub-[\w.-]+-unpinned\.json", j["output"]) for j in data_jobs
    )
    task_jobs = [j for j in jobs if j["rule"] in TASK_JOBS]
    # importance at 16 tasks; FFN oracle, head and FFN pruning at 14; OOD head pruning at 2; 3 shots each
    assert len(task_jobs) == 3 * (16 + 14 + 14 + 14 + 2)
    for job in task_jobs:
        manifests = re.findall(r"results/data/([\w.]+)/[\w.-]+\.json", job["input"])
        assert manifests == [job["wildcards"]["task"]], (job["rule"], job["input"])
