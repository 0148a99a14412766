"""Per-stage workflow times and benchmark tables are tabulated from measured files, and docs/performance.md
shows exactly those numbers (the README quotes the `make run` total)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from iclprune.reporting.timings import (
    before_path,
    collect_stage_times,
    read_block,
    render_bench_results,
    render_stage_times,
    render_workflow_times,
    replace_block,
    stage_of,
)

BENCH_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_every_rule_benchmark_path_maps_to_its_stage(root) -> None:
    """A new rule whose benchmark path no stage pattern knows fails here, not silently in the docs."""
    paths = []
    for smk in (root / "rules").glob("*.smk"):
        text = smk.read_text()
        paths += re.findall(r'benchmark:\s*\n\s*f?"benchmarks/\{\{?study\}?\}/([^"]+)"', text)
    assert len(paths) >= 12
    for path in paths:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        assert stage_of(concrete)
    assert stage_of("pruning/m/t/0shot/ffns.tsv") == "ffn_pruning"
    assert stage_of("induction/m/scores.tsv") == "induction_scores"
    assert stage_of("induction/m/1shot/retained.tsv") == "retained_capacity"
    with pytest.raises(ValueError, match="matches no known stage"):
        stage_of("mystery/x.tsv")


def _bench(path, s: float, cpu: float, rss: float = 100.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BENCH_HEADER + f"{s}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_collect_sums_jobs_per_stage_in_pipeline_order(tmp_path) -> None:
    _bench(tmp_path / "figures/fig05_x.tsv", 2.0, 1.5)
    _bench(tmp_path / "importance/m/a/0shot/heads.tsv", 10.0, 18.0, rss=900)
    _bench(tmp_path / "importance/m/b/0shot/heads.tsv", 20.0, 30.0, rss=1200)
    _bench(tmp_path / "pruning/m/a/0shot/heads.tsv", 5.0, 6.0)
    table = collect_stage_times(tmp_path)
    assert table.stage.tolist() == ["head_importance", "head_pruning", "figures"]
    imp = table.set_index("stage").loc["head_importance"]
    assert (imp.jobs, imp.wall_s, imp.cpu_s, imp.max_rss_mb) == (2, 30.0, 48.0, 1200.0)
    text = render_stage_times(table, total_wall_s=600.0)
    assert "| head_importance | 2 | 0.5 | 0.8 | 1200 |" in text
    assert "| **all jobs** | 4 | 0.6 |" in text
    assert "**10.0**" in text


def test_collect_rejects_missing_and_foreign_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no Snakemake benchmark files"):
        collect_stage_times(tmp_path)
    (tmp_path / "claims.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="not a Snakemake benchmark file"):
        collect_stage_times(tmp_path)


def test_replace_block_needs_markers_and_keeps_the_rest() -> None:
    text = "intro\n<!-- t:start -->\nold\n<!-- t:end -->\noutro\n"
    new = replace_block(text, "t", "| a |\n")
    assert new == "intro\n<!-- t:start -->\n| a |\n<!-- t:end -->\noutro\n"
    assert read_block(new, "t") == "| a |"
    with pytest.raises(ValueError, match="markers"):
        replace_block("no markers here", "t", "x")


def test_render_bench_results() -> None:
    df = pd.DataFrame(
        {"name": ["scoring_shared_context", "pruned_tokens_per_s"], "value": [2.5, 1234.0],
         "unit": ["x", "tok/s"], "what": ["shared context vs HFLM", "pruned forward"]}
    )  # fmt: skip
    text = render_bench_results(df)
    assert "| `scoring_shared_context` | 2.50x |  |  |  | shared context vs HFLM |" in text
    assert "| `pruned_tokens_per_s` | 1.23e+03 tok/s |" in text
    spread = df.iloc[:1].assign(
        low=2.1, high=2.9, rounds=5, bound=3.25, load_before=0.4, load_after=1.1, busy="true"
    )
    text = render_bench_results(spread)
    assert (
        "| `scoring_shared_context` | 2.50x (busy) | 2.10–2.90 (5) | 3.25 | 0.40 → 1.10 | shared context vs HFLM |"
        in text
    )


def test_readme_hardware_table_is_computed(root) -> None:
    """The hardware-per-model-size table (docs/performance.md) is what the workflow's resource planner
    computes."""
    from iclprune.model.placement import hardware_table

    assert read_block((root / "docs/performance.md").read_text(), "hardware") == hardware_table().strip()


def test_readme_performance_table_is_the_measured_one(root) -> None:
    """The benchmark table (docs/performance.md) is the rendering of bench/results.tsv (written by
    `make bench`)."""
    results = pd.read_csv(root / "bench/results.tsv", sep="\t")
    assert (
        read_block((root / "docs/performance.md").read_text(), "bench-results")
        == render_bench_results(results).strip()
    )


def test_readme_workflow_times_are_the_measured_ones(root) -> None:
    """The `make run` time table (docs/performance.md) is the rendering of bench/workflow_times.tsv (+ .json
    total, and the fast-paths-off baseline run beside it when measured); the README and the page quote its
    total."""
    import json

    expected = render_workflow_times(root / "bench/workflow_times.tsv").strip()
    page = (root / "docs/performance.md").read_text()
    assert read_block(page, "workflow-times") == expected
    total = json.loads((root / "bench/workflow_times.json").read_text())["total_wall_s"]
    for prose in ((root / "README.md").read_text(), page):  # the prose quotes the table
        assert f"**Measured time of `make run`: {total / 60:.1f} min**" in prose
    # the side-by-side comparison (fast paths off, the commit before the performance work), measured on
    # the config of its day, stays as its own table
    prior = render_workflow_times(root / "bench/workflow_times_prior.tsv").strip()
    assert read_block(page, "workflow-times-prior") == prior


def test_workflow_times_render_with_a_baseline(tmp_path) -> None:
    import json

    for name, (wall, total) in {"t.tsv": (60.0, 90.0), "t_baseline.tsv": (150.0, 180.0)}.items():
        _bench(tmp_path / name.replace(".tsv", "") / "pruning/m/a/0shot/heads.tsv", wall, wall)
        collect_stage_times(tmp_path / name.replace(".tsv", "")).to_csv(
            tmp_path / name, sep="\t", index=False
        )
        (tmp_path / name).with_suffix(".json").write_text(json.dumps({"total_wall_s": total}))
    text = render_workflow_times(tmp_path / "t.tsv")
    assert "| head_pruning | 1 | 1.0 | 1.0 | 100 | 1 | 2.5 |" in text
    assert "| **whole run, wall clock** | | **1.5** | | | | **3.0** |" in text
    assert "**2.00x**" in text
    (tmp_path / "t_baseline.tsv").unlink()
    assert "fast paths off" not in render_workflow_times(tmp_path / "t.tsv")


def test_workflow_times_render_an_earlier_commits_total(tmp_path) -> None:
    import json

    _bench(tmp_path / "t/pruning/m/a/0shot/heads.tsv", 60.0, 60.0)
    collect_stage_times(tmp_path / "t").to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    (tmp_path / "t.json").write_text(json.dumps({"total_wall_s": 90.0}))
    before = {"commit": "07a1274" + "0" * 33, "jobs": 83, "total_wall_s": 225.0}
    before_path(tmp_path / "t.tsv").write_text(json.dumps(before))
    lines = render_workflow_times(tmp_path / "t.tsv").splitlines()
    assert lines[-2] == (
        "| **before, wall clock** (commit 07a1274 with its own config: 83 Snakemake jobs) | | **3.8** | | |"
    )
    assert lines[-1] == "| **before / now, wall clock** | | **2.50x** | | |"
    assert all(line.count("|") == lines[0].count("|") for line in lines)  # every row has every column


def test_gpu_bench_runs_its_miniature_and_knows_device_peaks(root, capsys) -> None:
    """bench_gpu.py is only run for real where a GPU is lent; its CPU miniature keeps the script working,
    and every line it prints is a row `make bench` collects."""
    import importlib.util
    import sys

    sys.path.insert(0, str(root / "bench"))
    try:
        spec = importlib.util.spec_from_file_location("bench_gpu", root / "bench/bench_gpu.py")
        bench = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench)
        spec = importlib.util.spec_from_file_location("run_all", root / "bench/run_all.py")
        run_all = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(run_all)
    finally:
        sys.path.remove(str(root / "bench"))
    assert bench.peak_tflops("NVIDIA H200") == bench.peak_tflops("NVIDIA H100 80GB HBM3") == 989.4
    assert bench.peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert bench.peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert bench.peak_tflops("Some Future GPU") is None
    assert bench.main(["--cpu-smoke", "--rounds", "1"]) == 0
    rows = [run_all.parse(line, "bench_gpu", "t") for line in capsys.readouterr().out.splitlines()]
    names = {r["name"]: r for r in rows if r}
    assert set(names) == {
        f"gpu_{p}_{m}" for p in ("evaluation", "importance") for m in ("tokens_per_s", "peak_fraction")
    }
    assert names["gpu_evaluation_tokens_per_s"]["unit"] == "tok/s"
    assert float(names["gpu_importance_peak_fraction"]["value"]) > 0
