"""(f) `make run` wall time per stage, measured.

Runs the workflow on a config (default: the embedded default, `config/config.yaml`) from scratch in a
temporary copy of the repository's tracked files (the dequantised model cache in `resources/` is shared, so
the one-off ~40 s GGUF conversion is not counted), times the whole `snakemake` call, and tabulates the
per-job Snakemake benchmark files by stage into `bench/workflow_times.tsv` (+ `.json` with the total).
`--readme README.md` also writes the table into the README between the `workflow-times` markers.
`--from DIR` tabulates an existing run's `benchmarks/` instead of running (total then unknown).

Prints `workflow_total: <seconds> s` and one `workflow_<stage>: <seconds> s` line per stage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from iclprune.timings import collect_stage_times, render_stage_times, write_block  # noqa: E402


def _copy_tracked(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    resources = ROOT / "resources"
    if resources.is_dir():
        (dest / "resources").symlink_to(resources)


def run_workflow(configfiles: list[str], cores: int) -> tuple[Path, float, Path]:
    """Run snakemake on ``configfiles`` (later ones override earlier keys) in a fresh copy; returns (benchmarks dir, wall seconds, workdir)."""
    work = Path(tempfile.mkdtemp(prefix="iclprune-bench-workflow-"))
    _copy_tracked(work)
    env = dict(
        os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", ICLPRUNE_RESOURCES=str(work / "resources")
    )
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    cmd = [snakemake, "--cores", str(cores), "--configfile", *configfiles, "--quiet", "rules"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=work, env=env, check=True)
    wall = time.perf_counter() - start
    return work / "benchmarks", wall, work


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configfile", nargs="+", default=["config/config.yaml"], help="later files override")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--from", dest="source", default=None, help="tabulate this benchmarks/ dir, do not run")
    p.add_argument("--out", default=str(ROOT / "bench/workflow_times.tsv"))
    p.add_argument("--readme", default=None, help="write the table into this README between markers")
    p.add_argument("--keep", action="store_true", help="keep the temporary run directory")
    args = p.parse_args(argv)

    work = None
    if args.source:
        bench_dir, total = Path(args.source), None
    else:
        bench_dir, total, work = run_workflow([str(Path(c).resolve()) for c in args.configfile], args.cores)
    table = collect_stage_times(bench_dir)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, sep="\t", index=False, float_format="%.2f")
    meta = {
        "configfile": args.configfile,
        "cores": args.cores,
        "total_wall_s": None if total is None else round(total, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}",
        "measured_at": time.strftime("%Y-%m-%d"),
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    if args.readme:
        write_block(args.readme, "workflow-times", render_stage_times(table, total))
    if total is not None:
        print(f"workflow_total: {total:.1f} s")
    for row in table.itertuples(index=False):
        print(f"workflow_{row.stage}: {row.wall_s:.1f} s ({row.jobs} jobs, summed)")
    if work is not None and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
