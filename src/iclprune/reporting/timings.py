"""Measured times and benchmark ratios, tabulated for docs/performance.md (never typed in).

Two tables are produced from files a run wrote:

* the per-stage wall time of a workflow run, from the ``benchmark:`` files Snakemake writes for every job
  (``benchmarks/<stage>/.../<what>.tsv``, columns ``s``, ``cpu_time``, ``max_rss`` …), plus the run's total
  wall time measured around the ``snakemake`` call;
* the side-by-side benchmark ratios that ``make bench`` collects in ``bench/results.tsv``.

Each is rendered as a Markdown table and written into a Markdown page (``docs/performance.md``) between
``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers, so a test can check that the page shows exactly
the measured numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

TIMING_COLUMNS = ["stage", "jobs", "wall_s", "cpu_s", "max_rss_mb"]

# Snakemake benchmark path (relative to benchmarks/<study>/) → the rule that wrote it; first match wins.
_STAGES: list[tuple[str, str]] = [
    (r"^models/", "model"),
    (r"^download/", "download_model"),
    (r"^importance/", "head_importance"),
    (r"^ffn_oracle/", "ffn_oracle"),
    (r"^head_oracle/", "head_oracle"),
    (r"^iterative/", "iterative_ranking"),
    (r"^rankings/", "aggregate_importance"),
    (r"^pruning/.*/heads\.tsv$", "head_pruning"),  # head sweep + transfer sweeps (also OOD tasks)
    (r"^pruning/.*/ffns\.tsv$", "ffn_pruning"),  # FFN sweep + combined grid
    (r"^agreement/.*cross_task\.tsv$", "cross_task_agreement"),
    (r"^agreement/.*cross_shot\.tsv$", "cross_shot_agreement"),
    (r"^induction/.*/scores\.tsv$", "induction_scores"),
    (r"^induction/.*/retained\.tsv$", "retained_capacity"),
    (r"^figures/", "figures"),
    (r"^claims/", "claims"),
    (r"^scale/", "scale"),
]


def stage_of(relative: str) -> str:
    """The stage (rule) a benchmark file belongs to, from its path relative to ``benchmarks/<study>/``."""
    for pattern, stage in _STAGES:
        if re.search(pattern, relative):
            return stage
    raise ValueError(
        f"benchmark file {relative!r} matches no known stage; expected a path written by a rule of rules/*.smk"
    )


def collect_stage_times(bench_dir: str | Path) -> pd.DataFrame:
    """One row per stage: number of jobs, summed wall and CPU seconds, largest resident memory (MB).

    Returns columns :data:`TIMING_COLUMNS`, stages in pipeline order.
    """
    bench_dir = Path(bench_dir)
    files = sorted(bench_dir.rglob("*.tsv"))
    if not files:
        raise FileNotFoundError(f"no Snakemake benchmark files under {bench_dir}; run the workflow first")
    rows = []
    for path in files:
        table = pd.read_csv(path, sep="\t")
        missing = {"s", "cpu_time", "max_rss"} - set(table.columns)
        if missing or table.empty:
            raise ValueError(f"{path} is not a Snakemake benchmark file (missing {sorted(missing)} or empty)")
        last = table.iloc[-1]  # one line per repeat; the workflow runs each job once
        rss = pd.to_numeric(pd.Series([last["max_rss"]]), errors="coerce").fillna(0.0).iloc[0]
        rows.append(
            (
                stage_of(path.relative_to(bench_dir).as_posix()),
                float(last["s"]),
                float(last["cpu_time"]),
                float(rss),
            )
        )
    df = pd.DataFrame(rows, columns=["stage", "wall_s", "cpu_s", "max_rss_mb"])
    order = {stage: i for i, (_, stage) in enumerate(_STAGES)}
    out = (
        df.groupby("stage", sort=False)
        .agg(
            jobs=("wall_s", "size"),
            wall_s=("wall_s", "sum"),
            cpu_s=("cpu_s", "sum"),
            max_rss_mb=("max_rss_mb", "max"),
        )
        .reset_index()
    )
    out = out.sort_values("stage", key=lambda s: s.map(order)).reset_index(drop=True)
    return out[TIMING_COLUMNS]


def render_stage_times(
    table: pd.DataFrame,
    total_wall_s: float | None = None,
    baseline: pd.DataFrame | None = None,
    baseline_total_s: float | None = None,
    earlier: dict | None = None,
) -> str:
    """Markdown table of :func:`collect_stage_times` (minutes), with the run's measured total if given;
    with ``baseline`` (the same workflow with the fast paths off) a column of its summed wall time per
    stage, its total, and the wall-clock ratio baseline / run. ``earlier`` (a :func:`before_path` record:
    ``commit``, ``jobs``, ``total_wall_s``) adds the total of an earlier commit's own workflow, measured in
    the same invocation, and the ratio before / run.

    The summed job times exceed the total wall time when jobs run in parallel (``--cores 2``).
    """
    base = baseline.set_index("stage") if baseline is not None else None
    head = "| stage | jobs | summed job wall time (min) | summed CPU time (min) | peak memory (MB) |"
    rule = "|---|---:|---:|---:|---:|"
    if base is not None:
        head, rule = head + " fast paths off: jobs | fast paths off: summed wall (min) |", rule + "---:|---:|"

    def before(stage: str | None) -> str:
        if base is None:
            return ""
        if stage is None:
            return f" {int(base.jobs.sum())} | {base.wall_s.sum() / 60:.1f} |"
        if stage not in base.index:
            return " | |"
        return f" {int(base.loc[stage, 'jobs'])} | {base.loc[stage, 'wall_s'] / 60:.1f} |"

    lines = [head, rule]
    for row in table.itertuples(index=False):
        lines.append(
            f"| {row.stage} | {row.jobs} | {row.wall_s / 60:.1f} | {row.cpu_s / 60:.1f} | {row.max_rss_mb:.0f} |"
            + before(row.stage)
        )
    lines.append(
        f"| **all jobs** | {int(table.jobs.sum())} | {table.wall_s.sum() / 60:.1f} | {table.cpu_s.sum() / 60:.1f} "
        f"| {table.max_rss_mb.max():.0f} |" + before(None)
    )
    if total_wall_s is not None:
        off = ""
        if base is not None:
            off = f" | **{baseline_total_s / 60:.1f}** |" if baseline_total_s is not None else " | |"
        lines.append(f"| **whole run, wall clock** | | **{total_wall_s / 60:.1f}** | | |" + off)
        if base is not None and baseline_total_s is not None:
            ratio = baseline_total_s / total_wall_s
            lines.append(f"| **fast paths off / on, wall clock** | | | | | | **{ratio:.2f}x** |")
        if earlier is not None:
            pad = " |" * (rule.count("|") - 4)
            lines.append(
                f"| **before, wall clock** (commit {earlier['commit'][:7]} with its own config: "
                f"{earlier['jobs']} Snakemake jobs) | | **{earlier['total_wall_s'] / 60:.1f}** |" + pad
            )
            lines.append(
                f"| **before / now, wall clock** | | **{earlier['total_wall_s'] / total_wall_s:.2f}x** |"
                + pad
            )
    return "\n".join(lines) + "\n"


def baseline_path(out: str | Path) -> Path:
    """Where the fast-paths-off run of the timings ``out`` is kept: ``x.tsv`` → ``x_baseline.tsv`` (+ ``.json``)."""
    out = Path(out)
    return out.with_name(out.stem + "_baseline.tsv")


def before_path(out: str | Path) -> Path:
    """Where the run of an earlier commit beside the timings ``out`` is kept: ``x.tsv`` → ``x_before.json``
    (``commit``, ``configfile``, ``jobs``: Snakemake's job count, ``total_wall_s``)."""
    out = Path(out)
    return out.with_name(out.stem + "_before.json")


def render_workflow_times(out: str | Path) -> str:
    """The Markdown table of the measured workflow timings ``out`` (a TSV of :func:`collect_stage_times` with
    a ``.json`` holding ``total_wall_s``), beside its baseline run when one was measured, and with the
    earlier commit's total when one was measured (:func:`before_path`)."""
    import json

    out = Path(out)
    table = pd.read_csv(out, sep="\t")
    total = json.loads(out.with_suffix(".json").read_text())["total_wall_s"]
    earlier = json.loads(before_path(out).read_text()) if before_path(out).is_file() else None
    base = baseline_path(out)
    if not base.is_file():
        return render_stage_times(table, total, earlier=earlier)
    base_total = json.loads(base.with_suffix(".json").read_text())["total_wall_s"]
    return render_stage_times(table, total, pd.read_csv(base, sep="\t"), base_total, earlier)


def render_bench_results(results: pd.DataFrame) -> str:
    """Markdown table of ``bench/results.tsv``: per benchmark the ratio of medians, the per-round range
    and the number of rounds, the method's bound where it has one, the 1-minute load average before and
    after, and what it measures; a row measured on a busy machine (``busy``) is marked. Columns
    ``low, high, rounds, bound, load_before, load_after, busy`` may be empty (a row that is not a ratio)."""
    missing = {"name", "value", "unit", "what"} - set(results.columns)
    if missing:
        raise ValueError(
            f"benchmark results lack columns {sorted(missing)}; expected name, value, unit, what"
        )

    def cell(row: pd.Series, key: str, fmt: str = "{:.2f}") -> str:
        value = row.get(key, "")
        if value is None or value == "" or (isinstance(value, float) and np.isnan(value)):
            return ""
        return fmt.format(float(value))

    lines = [
        "| benchmark | measured | per-round range (rounds) | bound | load before → after | what |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for _, row in results.iterrows():
        x = row.unit == "x"
        value = f"{float(row.value):.2f}{row.unit}" if x else f"{float(row.value):.3g} {row.unit}"
        if str(row.get("busy", "")).lower() == "true":
            value += " (busy)"
        spread = ""
        if cell(row, "low"):
            spread = f"{cell(row, 'low')}–{cell(row, 'high')}"
            if cell(row, "rounds", "{:.0f}"):
                spread += f" ({cell(row, 'rounds', '{:.0f}')})"
        load = f"{cell(row, 'load_before')} → {cell(row, 'load_after')}" if cell(row, "load_before") else ""
        lines.append(f"| `{row['name']}` | {value} | {spread} | {cell(row, 'bound')} | {load} | {row.what} |")
    return "\n".join(lines) + "\n"


def markers(name: str) -> tuple[str, str]:
    """The start/end markers of block ``name`` in a Markdown page."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_block(text: str, name: str, block: str) -> str:
    """``text`` with the content between ``name``'s markers replaced by ``block``.

    Raises ValueError when the markers are missing (the page must say where the table goes).
    """
    start, end = markers(name)
    if start not in text or end not in text:
        raise ValueError(f"markers {start} … {end} not found; add them where the {name} table belongs")
    pattern = re.escape(start) + ".*?" + re.escape(end)
    return re.sub(pattern, lambda _: f"{start}\n{block}{end}", text, count=1, flags=re.S)


def read_block(text: str, name: str) -> str:
    """The content between ``name``'s markers (stripped)."""
    start, end = markers(name)
    if start not in text or end not in text:
        raise ValueError(f"markers {start} … {end} not found")
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def write_block(readme: str | Path, name: str, block: str) -> None:
    """Replace ``name``'s block in the file ``readme`` (atomically)."""
    from iclprune.core.io import atomic_path

    readme = Path(readme)
    text = replace_block(readme.read_text(), name, block)
    with atomic_path(readme) as tmp:
        Path(tmp).write_text(text)
