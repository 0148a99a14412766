"""`make bench`: run every bench/bench_*.py in turn; each prints `name: value[unit]` lines.

Every such line (`name: 1.234x  (timings)  # what it means`, or `name: 12.3 s`) is collected into
`bench/results.tsv` (columns name, value, unit, what; written atomically when all scripts have run), from
which the performance table of docs/performance.md is produced. A line without `# what` is described by its
script's docstring title. `python bench/run_all.py bench_resume bench_pruned` runs only the named scripts (and
keeps the other scripts' rows of an existing results.tsv); a script that reports nothing (bench_gpu.py
without a GPU) keeps its rows from an earlier run. The `bench-results` table of docs/performance.md is
then re-rendered from results.tsv.
"""

from __future__ import annotations

import ast
import csv
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from iclprune.reporting.timings import render_bench_results, write_block

LINE = re.compile(
    r"^(?P<name>[a-z][a-z0-9_.-]*): (?P<value>[-+]?\d[\d.eE+-]*)\s?(?P<unit>[A-Za-z%/]*)(?P<rest>.*)$"
)
COLUMNS = ["name", "value", "unit", "what", "script"]
# The parent of the first performance commit (8148772): `make bench` times its own workflow beside today's.
BEFORE_STEP6 = "07a1274"
# Arguments of the scripts that take some under `make bench`: the workflow is timed with its fast paths on
# and off and at the commit before the performance work, and writes its own table into docs/performance.md.
ARGS = {
    "bench_workflow": [
        "--baseline",
        "bench/fast_paths_off.yaml",
        "--before",
        BEFORE_STEP6,
        "--readme",
        "docs/performance.md",
    ]
}


def parse(line: str, script: str, title: str) -> dict[str, str] | None:
    """One results row from a bench output line, or None when the line is not a `name: value` line."""
    m = LINE.match(line.strip())
    if not m:
        return None
    rest = m["rest"]
    what = rest.split("#", 1)[1].strip() if "#" in rest else title
    return {"name": m["name"], "value": m["value"], "unit": m["unit"], "what": what, "script": script}


def _title(script: Path) -> str:
    doc = ast.get_docstring(ast.parse(script.read_text())) or script.stem
    return doc.strip().splitlines()[0]


def _write(rows: list[dict[str, str]], out: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name, suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    only = {a.removesuffix(".py") for a in (sys.argv[1:] if argv is None else argv)}
    scripts = [s for s in sorted(here.glob("bench_*.py")) if not only or s.stem in only]
    unknown = only - {s.stem for s in scripts}
    if unknown:
        print(f"unknown bench scripts {sorted(unknown)}; expected names of bench/bench_*.py", file=sys.stderr)
        return 2
    out = here / "results.tsv"
    earlier: list[dict[str, str]] = []
    if out.is_file():
        with out.open(newline="") as fh:
            earlier = list(csv.DictReader(fh, delimiter="\t"))
    # keep the rows of the scripts not re-run
    rows = [r for r in earlier if only and r.get("script") not in only]
    failed = []
    for script in scripts:
        print(f"## {script.name}", flush=True)
        title = _title(script)
        cmd = [sys.executable, str(script), *ARGS.get(script.stem, [])]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=here.parent)
        assert proc.stdout is not None
        mine = []
        for line in proc.stdout:
            print(line, end="", flush=True)
            row = parse(line, script.stem, title)
            if row:
                mine.append(row)
        if proc.wait():
            failed.append(script.name)
        if not mine:  # skipped here (bench_gpu without a GPU): keep what an earlier run measured
            mine = [r for r in earlier if r.get("script") == script.stem]
        rows += mine
    _write(rows, out)
    print(f"wrote {out} ({len(rows)} rows)", flush=True)
    readme = here.parent / "docs/performance.md"  # the page that shows the bench-results table
    write_block(readme, "bench-results", render_bench_results(pd.read_csv(out, sep="\t")))
    print(f"wrote the bench-results table of {readme}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
