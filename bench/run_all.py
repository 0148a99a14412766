"""`make bench` / `make bench-workflow`: run bench scripts in turn; each prints `name: value[unit]` lines.

`make bench` runs the micro benchmarks (every bench/bench_*.py but the workflow timing, about 8 minutes on
a 2-core CPU); `make bench-workflow` (`--workflow`) runs bench_workflow.py alone, which times whole
workflow runs (32 minutes). `python bench/run_all.py bench_resume bench_pruned` runs only the named
scripts.

Every output line `name: 1.234x [1.100, 1.300] n=5 bound=1.636 (timings)  # what` (or `name: 12.3 s`) is
collected into `bench/results.tsv`, one row per line: the ratio of medians (`value`), the per-round range
(`low`, `high`) over `rounds` rounds, the method's analytic `bound` where it has one (a bench fails when
its whole range lies above it, `bench/_timing.py`), what it measures, and how busy the machine was:
the 1-minute load average before and after the script, the CPU model, the date. A line without `# what`
is described by its script's docstring title.

Load guard: a script that starts on a busy machine (1-minute load average above
:data:`BUSY_LOAD_PER_CORE` per core) does not replace the rows of an earlier run unless `--force` is
given. Forced rows are marked `busy` and flagged in the rendered table. Rows of scripts not run are kept,
and so are the rows of a script that reports nothing (bench_gpu.py without a GPU). The `bench-results`
table of docs/performance.md is then re-rendered from results.tsv.
"""

from __future__ import annotations

import argparse
import ast
import csv
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from iclprune.reporting.timings import render_bench_results, write_block

LINE = re.compile(
    r"^(?P<name>[a-z][a-z0-9_.-]*): (?P<value>[-+]?\d[\d.eE+-]*)\s?(?P<unit>[A-Za-z%/]*)"
    r"(?:\s*\[(?P<low>[-+\d.eE]+), (?P<high>[-+\d.eE]+)\])?(?:\s+n=(?P<rounds>\d+))?"
    r"(?:\s+bound=(?P<bound>[-+\d.eE]+))?(?P<rest>.*)$"
)
COLUMNS = ["name", "value", "unit", "low", "high", "rounds", "bound", "what", "script",
           "load_before", "load_after", "busy", "cpu", "date"]  # fmt: skip
# a machine whose 1-minute load average per core is above this before a script starts is busy
BUSY_LOAD_PER_CORE = 0.75
WORKFLOW = "bench_workflow"
# The parent of the first performance commit (8148772): bench_workflow times its own workflow beside today's.
BEFORE_STEP6 = "07a1274"
# Arguments of the scripts that take some: the workflow is timed with its fast paths on and off and at the
# commit before the performance work, and writes its own table into docs/performance.md.
ARGS = {
    WORKFLOW: [
        "--baseline",
        "bench/fast_paths_off.yaml",
        "--before",
        BEFORE_STEP6,
        "--readme",
        "docs/performance.md",
    ]
}
PAGE = Path(__file__).resolve().parents[1] / "docs" / "performance.md"  # shows the bench-results table


def parse(line: str, script: str, title: str) -> dict[str, str] | None:
    """One results row (measurement columns only) from a bench output line, or None for another line."""
    m = LINE.match(line.strip())
    if not m:
        return None
    rest = m["rest"]
    what = rest.split("#", 1)[1].strip() if "#" in rest else title
    row = {k: m[k] or "" for k in ("name", "value", "unit", "low", "high", "rounds", "bound")}
    return row | {"what": what, "script": script}


def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), with the number of cores."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} cores)"


def is_busy(load: float, cores: int | None = None) -> bool:
    """Whether a 1-minute load average ``load`` makes a machine of ``cores`` cores busy."""
    return load > BUSY_LOAD_PER_CORE * (cores or os.cpu_count() or 1)


def merge(
    earlier: list[dict[str, str]],
    script: str,
    mine: list[dict[str, str]],
    *,
    busy: bool,
    force: bool,
    failed: bool = False,
) -> tuple[list[dict[str, str]], str | None]:
    """The rows to keep for ``script`` and, when its new rows are refused, why. New rows replace the
    script's earlier ones unless they were measured on a busy machine without ``force`` (and the script
    has earlier rows to keep); a script that reported nothing, or failed (a ratio above its bound, say),
    keeps its earlier rows."""
    old = [r for r in earlier if r.get("script") == script]
    if not mine or (failed and old):
        return old, None
    if busy and not force and old:
        return (
            old,
            f"{script}: machine busy (load above {BUSY_LOAD_PER_CORE}/core); kept its earlier rows (--force to replace)",
        )
    return mine, None


def _title(script: Path) -> str:
    doc = ast.get_docstring(ast.parse(script.read_text())) or script.stem
    return doc.strip().splitlines()[0]


def _write(rows: list[dict[str, str]], out: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name, suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n", extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows([{c: r.get(c, "") for c in COLUMNS} for r in rows])
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)


def _run(script: Path, title: str) -> tuple[list[dict[str, str]], bool]:
    """The rows ``script`` printed, and whether it failed."""
    cmd = [sys.executable, str(script), *ARGS.get(script.stem, [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=script.parent.parent)
    assert proc.stdout is not None
    rows = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        row = parse(line, script.stem, title)
        if row:
            rows.append(row)
    return rows, bool(proc.wait())


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scripts", nargs="*", help="bench scripts to run (default: every micro benchmark)")
    p.add_argument("--workflow", action="store_true", help=f"run the whole-workflow timing ({WORKFLOW}) only")
    p.add_argument("--force", action="store_true", help="replace earlier rows even when the machine is busy")
    args = p.parse_args(argv)
    every = sorted(here.glob("bench_*.py"))
    only = {a.removesuffix(".py") for a in args.scripts} | ({WORKFLOW} if args.workflow else set())
    unknown = only - {s.stem for s in every}
    if unknown:
        print(f"unknown bench scripts {sorted(unknown)}; expected names of bench/bench_*.py", file=sys.stderr)
        return 2
    scripts = [s for s in every if s.stem in only] if only else [s for s in every if s.stem != WORKFLOW]
    out = here / "results.tsv"
    earlier: list[dict[str, str]] = []
    if out.is_file():
        with out.open(newline="") as fh:
            earlier = list(csv.DictReader(fh, delimiter="\t"))
    ran = {s.stem for s in scripts}
    rows = [r for r in earlier if r.get("script") not in ran]  # the scripts not run keep their rows
    failed, refused = [], []
    cpu = cpu_model()
    for script in scripts:
        print(f"## {script.name}", flush=True)
        before = load_average()
        mine, bad = _run(script, _title(script))
        after = load_average()
        busy = is_busy(before)
        stamp = {"load_before": f"{before:.2f}", "load_after": f"{after:.2f}", "busy": str(busy).lower(),
                 "cpu": cpu, "date": dt.date.today().isoformat()}  # fmt: skip
        kept, why = merge(
            earlier, script.stem, [r | stamp for r in mine], busy=busy, force=args.force, failed=bad
        )
        if why:
            refused.append(why)
            print(why, file=sys.stderr, flush=True)
        if bad:
            failed.append(script.name)
        rows += kept
    _write(rows, out)
    print(f"wrote {out} ({len(rows)} rows)", flush=True)
    write_block(
        PAGE, "bench-results", render_bench_results(pd.read_csv(out, sep="\t", keep_default_na=False))
    )
    print(f"wrote the bench-results table of {PAGE}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed or refused else 0


if __name__ == "__main__":
    raise SystemExit(main())
