"""(f) `make run` wall time per stage, measured.

Runs the workflow on a config (default: the embedded default, `config/config.yaml`) from scratch in a
temporary copy of the repository's tracked files (the dequantised model cache in `resources/` is shared, so
the one-off ~40 s GGUF conversion is not counted), times the whole `snakemake` call, and tabulates the
per-job Snakemake benchmark files by stage into `bench/workflow_times.tsv` (+ `.json` with the total).
`--readme docs/performance.md` also writes the table into that page between the `workflow-times` markers.
`--from DIR` tabulates an existing run's `benchmarks/` instead of running (total then unknown).
`--baseline bench/fast_paths_off.yaml` then runs the same configuration again with that overlay (the exact
fast paths switched off) into `bench/workflow_times_baseline.tsv`, and the table shows both.
`--before COMMIT` also runs that earlier commit's own workflow and package (its tracked files, via `git
archive`, with its `config/config.yaml`; `PYTHONPATH` set to its `src/`, so its stage scripts import its
own code) in the same invocation into `bench/workflow_times_before.json`, and the table gives its
total and the ratio before / now. `--render --readme docs/performance.md` re-renders the table from the
saved files.

Prints `workflow_total: <seconds> s` and the summed time of each stage (and `workflow_baseline_total` and
`workflow_fast_paths_speedup: <ratio>x` with `--baseline`). `make bench` runs it with `--baseline
bench/fast_paths_off.yaml --readme docs/performance.md`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from iclprune.reporting.timings import (  # noqa: E402
    baseline_path,
    before_path,
    collect_stage_times,
    render_workflow_times,
    write_block,
)


def _copy_tracked(dest: Path, commit: str | None = None) -> None:
    """The working tree's tracked files (or those of ``commit``) into ``dest``, sharing ``resources/``."""
    if commit is not None:
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True)
        if archive.returncode != 0:
            raise SystemExit(
                f"--before {commit}: git archive failed ({archive.stderr.decode().strip()}); expected a "
                "commit of this repository's history (a shallow clone may lack it)"
            )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(dest, filter="data")
    else:
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


def run_workflow(
    configfiles: list[str], cores: int, commit: str | None = None
) -> tuple[Path, float, Path, int]:
    """Run snakemake on ``configfiles`` (later ones override earlier keys; relative ones are the copy's) in
    a fresh copy of the working tree or of ``commit``, with that copy's ``src/`` first on the path.

    Returns (benchmarks dir, wall seconds, workdir, Snakemake's job count from a dry run).
    """
    work = Path(tempfile.mkdtemp(prefix="iclprune-bench-workflow-"))
    _copy_tracked(work, commit)
    pythonpath = os.pathsep.join(filter(None, [str(work / "src"), os.environ.get("PYTHONPATH")]))
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        ICLPRUNE_RESOURCES=str(work / "resources"),
        PYTHONPATH=pythonpath,
    )
    snakemake = [str(Path(sys.executable).with_name("snakemake")), "--cores", str(cores), "--configfile"]
    plan = subprocess.run(
        [*snakemake, *configfiles, "-n", "--quiet", "rules"], cwd=work, env=env, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    jobs = re.search(r"^total\s+(\d+)\s*$", plan.stdout + plan.stderr, re.M)
    if jobs is None:
        raise SystemExit(f"no job count in the dry run's output:\n{plan.stdout}{plan.stderr}")
    start = time.perf_counter()
    subprocess.run([*snakemake, *configfiles, "--quiet", "rules"], cwd=work, env=env, check=True)
    wall = time.perf_counter() - start
    return work / "benchmarks" / _study(work, configfiles), wall, work, int(jobs[1])


def _study(work: Path, configfiles: list[str]) -> str:
    """The study the run wrote (benchmarks/<study>/): config/config.yaml's, or the last config file's."""
    import yaml

    study = None
    for path in [work / "config/config.yaml", *(work / f for f in configfiles)]:
        if path.is_file():
            study = (yaml.safe_load(path.read_text()) or {}).get("study", study)
    if study is None:
        raise SystemExit(f"no `study` in {configfiles} or config/config.yaml; expected the study's name")
    return str(study)


def _write(table, out: Path, configfiles: list[str], cores: int, total: float | None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, sep="\t", index=False, float_format="%.2f")
    meta = {
        "configfile": configfiles,
        "cores": cores,
        "total_wall_s": None if total is None else round(total, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}",
        "measured_at": time.strftime("%Y-%m-%d"),
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configfile", nargs="+", default=["config/config.yaml"], help="later files override")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument(
        "--from", dest="source", default=None, help="tabulate this benchmarks/<study>/ dir, do not run"
    )
    p.add_argument(
        "--total-s", type=float, default=None,
        help="with --from: the wall time that run took (seconds, e.g. the `Elapsed time` Snakemake printed)",
    )  # fmt: skip
    p.add_argument("--out", default=str(ROOT / "bench/workflow_times.tsv"))
    p.add_argument("--readme", default=None, help="write the table into this Markdown file between markers")
    p.add_argument("--keep", action="store_true", help="keep the temporary run directory")
    p.add_argument(
        "--baseline", default=None, metavar="YAML",
        help="also run the same configs + this overlay (e.g. the fast paths off), after the main run; "
        "written to <out>_baseline.tsv and shown beside the main run",
    )  # fmt: skip
    p.add_argument(
        "--before", default=None, metavar="COMMIT",
        help="also run this earlier commit's own workflow and config (e.g. the commit before the performance "
        "work), last; its total goes to <out>_before.json and beside the main run",
    )  # fmt: skip
    p.add_argument("--render", action="store_true", help="only re-render --readme from the saved tables")
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.render:
        if not args.readme:
            p.error("--render needs --readme")
        write_block(args.readme, "workflow-times", render_workflow_times(out))
        return 0

    configs = [str(Path(c).resolve()) for c in args.configfile]
    runs = [(out, configs)]
    if args.baseline:
        runs.append((baseline_path(out), [*configs, str(Path(args.baseline).resolve())]))
    for target, files in runs:
        work = None
        if args.source:
            bench_dir, total = Path(args.source), args.total_s
        else:
            bench_dir, total, work, _ = run_workflow(files, args.cores)
        table = collect_stage_times(bench_dir)
        _write(table, target, files if target != out else args.configfile, args.cores, total)
        label = "workflow" if target == out else "workflow_baseline"
        if total is not None:
            what = "fast paths off" if target != out else "the embedded default"
            print(
                f"{label}_total: {total:.1f} s  # make run wall clock, {what}, --cores {args.cores}",
                flush=True,
            )
        for row in table.itertuples(index=False):  # (not `name: value` lines: the docs table has them)
            print(f"  {label} stage {row.stage} = {row.wall_s:.1f} s ({row.jobs} jobs, summed)", flush=True)
        if work is not None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        if args.source:
            break
    on = json.loads(out.with_suffix(".json").read_text())["total_wall_s"]
    if args.baseline and not args.source:
        off = json.loads(baseline_path(out).with_suffix(".json").read_text())["total_wall_s"]
        print(f"workflow_fast_paths_speedup: {off / on:.2f}x  # make run wall clock, fast paths off / on")
    if args.before and not args.source:
        commit = subprocess.run(
            ["git", "rev-parse", "--verify", f"{args.before}^{{commit}}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if commit.returncode != 0:
            raise SystemExit(
                f"--before {args.before}: not a commit of this repository ({commit.stderr.strip()})"
            )
        sha = commit.stdout.strip()
        _, total, work, jobs = run_workflow(["config/config.yaml"], args.cores, commit=sha)
        record = {
            "commit": sha,
            "configfile": ["config/config.yaml"],
            "cores": args.cores,
            "jobs": jobs,
            "total_wall_s": round(total, 1),
            "measured_at": time.strftime("%Y-%m-%d"),
        }
        before_path(out).write_text(json.dumps(record, indent=2) + "\n")
        print(f"workflow_before_total: {total:.1f} s  # make run wall clock at {sha[:7]}, its own config")
        print(f"workflow_before_vs_now: {total / on:.2f}x  # make run wall clock, commit {sha[:7]} / now")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.readme:
        write_block(args.readme, "workflow-times", render_workflow_times(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
