"""The cost estimate: counts from real prompts on the tiny config, the paper config offline, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from iclprune.workflow.cli import main
from iclprune.workflow.cost import STAGES, TASK_SIZES, CostError, estimate, load_config, render

ROOT = Path(__file__).resolve().parents[1]


def _with(config: dict, **changes: dict) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in config.items()}
    for key, value in changes.items():
        out[key] = {**out[key], **value}
    return out


@pytest.fixture(scope="module")
def tiny() -> dict:
    return load_config(ROOT / "config/tiny.yaml")


@pytest.fixture(scope="module")
def tiny_estimate(tiny: dict):
    return estimate(tiny)


def test_tiny_config_counts_come_from_the_real_prompts(tiny: dict, tiny_estimate) -> None:
    table = tiny_estimate.table.set_index("stage")
    assert list(table.index) == list(STAGES)
    assert tiny_estimate.measured_tasks == sorted(tiny["tasks"] + tiny["ood_tasks"])
    assert tiny_estimate.documented_tasks == []
    n_all, n_shots, n_sweep = 3, 3, 2  # importance at 0/1/5 shots, the evaluation stages at 0/1 (sweep_shots)
    n_importance = 2 * n_shots + 1 * n_sweep  # the OOD task's importance only at the sweep shots
    assert table.loc["importance", "jobs"] == n_importance
    assert table.loc["importance", "requests"] == n_importance * tiny["importance"]["n_docs"]
    assert table.loc["importance", "forward_tokens"] == 3 * table.loc["importance", "tokens"]
    layers = tiny_estimate.geometry.n_layers
    assert layers == 3
    one_pass = table.loc["ffn_oracle", "requests"] // (layers + 1)  # every request of the in-dist. tasks once
    pruning = tiny["pruning"]
    distinct = {(0, f) for f in pruning["ffn_percents"]} | {
        (h, f) for h in pruning["combined_head_percents"] for f in pruning["combined_ffn_percents"]
    }
    assert len(distinct) < len(pruning["ffn_percents"]) + 2 * 2  # the shared (0, f) points count once
    assert table.loc["ffn_pruning", "requests"] == one_pass * len(distinct)
    assert table.loc["ffn_oracle", "jobs"] == 2 * n_sweep
    assert table.loc["head_pruning", "jobs"] == n_all * n_sweep
    transfer = len(pruning["transfer_percents"])
    # in-distribution: head sweep + 3 transfer sweeps; the OOD task: head sweep + the aggregate only
    ood = table.loc["head_pruning", "requests"] - one_pass * (len(pruning["head_percents"]) + 3 * transfer)
    assert ood > 0
    assert ood % (len(pruning["head_percents"]) + transfer) == 0
    assert (table[["requests", "tokens", "gpu_hours"]] > 0).all().all()
    # 4 documents of multiple-choice tasks: more requests than documents, tokens well above requests
    assert table.loc["ffn_pruning", "tokens"] > 5 * table.loc["ffn_pruning", "requests"]
    text = render(tiny_estimate, "tiny")
    total_line = next(line for line in text.splitlines() if line.startswith("total"))
    assert f"{int(table['tokens'].sum()):,}" in total_line
    assert f"{int(table['jobs'].sum()):,}" in total_line
    assert "counted from the real prompts" in text


def test_doubling_the_documents_roughly_doubles_the_tokens(tiny: dict, tiny_estimate) -> None:
    base = tiny_estimate.table.set_index("stage")
    doubled = estimate(
        _with(tiny, evaluation={"limit": 8}, importance={"n_docs": 8}), geometry=tiny_estimate.geometry
    ).table.set_index("stage")
    for stage in ("importance", "ffn_oracle", "head_pruning", "ffn_pruning"):
        ratio = doubled.loc[stage, "tokens"] / base.loc[stage, "tokens"]
        assert 1.6 < ratio < 2.4, (stage, ratio)
    assert doubled.loc["induction", "tokens"] == base.loc["induction", "tokens"]
    # GPU-hours: inversely proportional to throughput, proportional to GPUs per job
    a = estimate(tiny, tokens_per_s=1000, gpus_per_job=1, geometry=tiny_estimate.geometry)
    b = estimate(tiny, tokens_per_s=2000, gpus_per_job=4, geometry=tiny_estimate.geometry)
    assert b.total_gpu_hours == pytest.approx(2 * a.total_gpu_hours)
    assert a.total_gpu_hours == pytest.approx(a.table["forward_tokens"].sum() / 1000 / 3600)


@pytest.mark.slow
def test_job_counts_match_the_workflows_dry_run(tiny_estimate) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    cmd = [str(Path(sys.executable).with_name("snakemake")), "--snakefile", str(ROOT / "Snakefile"),
           "--directory", str(ROOT), "--configfile", str(ROOT / "config/tiny.yaml"), "-n", "--cores", "1",
           "--quiet", "rules", "--forceall"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    counts = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    counts["head_pruning"] += counts.pop("ood_head_pruning")  # one stage, two rules (outputs differ)
    rule_of = {
        "importance": "head_importance",
        "induction": "induction_scores",
        "iterative": "iterative_ranking",
    }
    for stage, jobs in tiny_estimate.table.set_index("stage")["jobs"].items():
        assert counts[rule_of.get(stage, stage)] == jobs, stage


def test_paper_config_runs_offline_from_documented_averages() -> None:
    config = load_config(ROOT / "config/paper.yaml")
    est = estimate(config, tokens_per_s=800, gpus_per_job=2)
    assert est.geometry.n_layers == 64
    assert est.geometry.n_heads == 72
    assert abs(est.geometry.n_parameters - 65.7e9) < 0.1e9
    assert est.measured_tasks == []
    assert est.documented_tasks == sorted(config["tasks"] + config["ood_tasks"])
    table = est.table.set_index("stage")
    imp_docs = sum(min(2500, TASK_SIZES[t].train_docs) for t in est.documented_tasks) * 3
    assert table.loc["importance", "requests"] == imp_docs
    assert table.loc["ffn_oracle", "jobs"] == 14 * 3
    assert table.loc["head_pruning", "jobs"] == (14 + 2) * 3
    assert est.total_gpu_hours > 0
    # every head knocked out alone: 1 + 72·65/2 passes over the importance documents per (task, shot), even
    # resumed from the residual stream entering each head's layer; more than the FFN oracle's 65 evaluations
    assert table["gpu_hours"].idxmax() == "head_oracle"
    assert table.loc["head_oracle", "gpu_hours"] > table.loc["ffn_oracle", "gpu_hours"]
    # every request truncated to OPT's 2048-token context: MultiRC 5-shot (6 × 350 tokens) is capped
    assert (table["tokens"] <= table["requests"] * 2048).all()
    text = render(est, "config/paper.yaml")
    assert "documented approximate per-task averages" in text


def test_documented_sizes_cover_the_paper_tasks_and_their_splits() -> None:
    spec = yaml.safe_load((ROOT / "config/paper_tasks.yaml").read_text())
    listed = spec["tasks"] | spec["ood_tasks"]
    assert set(listed) == set(TASK_SIZES)
    for name, row in listed.items():
        assert TASK_SIZES[name].eval_split == row["eval_split"], name


def test_bad_input_is_named(tmp_path: Path, tiny: dict, tiny_estimate, capsys) -> None:
    with pytest.raises(CostError, match=r"config file '.*nope\.yaml' does not exist"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed\n")
    with pytest.raises(CostError, match="is not valid YAML"):
        load_config(broken)
    broken.write_text("- a list\n")
    with pytest.raises(CostError, match="is not a mapping"):
        load_config(broken)
    broken.write_text(
        yaml.safe_dump({**yaml.safe_load((ROOT / "config/tiny.yaml").read_text()), "shots": [-1]})
    )
    with pytest.raises(CostError, match="is invalid"):
        load_config(broken)
    for bad in (0, -5.0, "fast"):
        with pytest.raises(CostError, match=f"tokens per second {bad!r} must be a positive number"):
            estimate(tiny, tokens_per_s=bad, geometry=tiny_estimate.geometry)
    with pytest.raises(CostError, match="GPUs per job 0 must be a positive integer"):
        estimate(tiny, gpus_per_job=0, geometry=tiny_estimate.geometry)
    with pytest.raises(
        CostError, match=r"task 'sciq' is neither bundled nor in the table .* expected one of"
    ):
        estimate({**tiny, "tasks": ["sciq"], "ood_tasks": []}, geometry=tiny_estimate.geometry)
    with pytest.raises(CostError, match="cannot find the geometry of model 'example-org/unknown-model'"):
        estimate({**tiny, "models": {"tiny-llama": {"source": "example-org/unknown-model"}}})
    # the command line: a clear message and exit status 2
    assert main(["cost", "--configfile", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml' does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["cost", "--configfile", "config/tiny.yaml", "--tokens-per-s", "-3"])
    assert exit_.value.code == 2
    assert "-3 is out of range; expected a positive number" in capsys.readouterr().err


def test_cost_command_prints_and_writes_the_table(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cost.tsv"
    assert main(["cost", "--configfile", str(ROOT / "config/paper.yaml"), "--tokens-per-s", "800",
                 "--gpus-per-job", "2", "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "at 800 forward tokens/s per job and 2 GPU(s) per job" in printed
    table = pd.read_csv(out, sep="\t")
    assert list(table["stage"]) == list(STAGES)
    total = next(line for line in printed.splitlines() if line.startswith("total"))
    assert f"{table['gpu_hours'].sum():,.1f}" in total
