"""The claims table: every published number of Bansal et al. (2023) beside the value this run computed.

Each row is computed from result tables by a function here (never typed in); a claim whose inputs the
run did not produce (e.g. a task pair absent from the config) is reported as ``not computed`` with the
reason, so the table always lists every published claim.

The pruning claims carry a 95% interval from a paired bootstrap over documents (resampled within each
task, :mod:`iclprune.analysis.bootstrap`; seeded, so the table is the same on every run) and a verdict:
``reproduced``, ``not reproduced``, or ``undecided`` when the interval straddles the paper's threshold.
A fraction counts as removable only while the upper end of the drop's interval stays within 5 points.

The agreement and induction claims (cross-task SRCC, cross-shot SRCC, top-30% overlap, SRCC(aggregate,
prefix matching)) carry a 95% interval from a bootstrap of head importance over the documents it was scored
on (:mod:`iclprune.analysis.importance_bootstrap`): each replicate resamples every task's importance
documents (the same draw at every shot of a task, tasks independently), re-aggregates each (task, shot)'s
scores from the per-document table ``heads.docs.parquet``, and recomputes the statistic (the aggregate from
the resampled task scores; the induction scores held fixed). The interval is the basic bootstrap interval,
which corrects the pull of document noise towards 0 (so with few documents it may lie above the estimate:
the note says so); it targets the value many documents would give. Verdicts: a "positive" claim is
``reproduced`` when the interval lies above 0 (for "all pairs", every pair's), ``not reproduced`` when it
(some pair's) lies below 0, else ``undecided``; a published value (SRCC(a, b), cross-shot means, overlap)
is ``reproduced`` when the interval holds it (overlaps the published range) — a consistency check, not
a test. Without per-document importance these claims say ``not assessed`` ("no per-document importance");
so do the rankings claims and the task with the lowest mean SRCC (its note gives the share of replicates
in which that task is lowest).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclprune.analysis.bootstrap import (
    Bootstrap,
    consistency_verdict,
    removable,
    sign_verdict,
    sweep_intervals,
    verdict,
)
from iclprune.analysis.importance_bootstrap import AgreementReplicates, agreement_replicates, docs_by_key
from iclprune.core.io import read_table

log = logging.getLogger(__name__)

CLAIM_COLUMNS = ["claim", "paper", "ours", "low", "high", "verdict", "unit", "figure", "note"]
MAX_DROP = 5.0  # points: the paper's "little loss" budget
NOT_ASSESSED = "not assessed"
NO_DOCS = "no per-document importance"
CONSISTENCY = "consistency check: reproduced when the 95% interval holds the published value"


@dataclass
class ResultTables:
    """The concatenated result tables a claims computation reads (any may be empty)."""

    importance: pd.DataFrame
    head_sweeps: pd.DataFrame
    ffn_sweeps: pd.DataFrame
    combined: pd.DataFrame
    aggregate: pd.DataFrame
    oracle: pd.DataFrame
    cross_task: pd.DataFrame
    cross_shot: pd.DataFrame
    induction: pd.DataFrame
    retained: pd.DataFrame
    head_docs: pd.DataFrame = field(default_factory=pd.DataFrame)  # per-document rows of the sweeps
    ffn_docs: pd.DataFrame = field(default_factory=pd.DataFrame)
    combined_docs: pd.DataFrame = field(default_factory=pd.DataFrame)
    importance_docs: pd.DataFrame = field(default_factory=pd.DataFrame)  # per-document importance sums
    # per-document rows of the head sweeps under the other rankings (iterative, oracle, random: column
    # ranking) and the head oracle's per-document knock-outs
    ranked_docs: pd.DataFrame = field(default_factory=pd.DataFrame)
    head_oracle_docs: pd.DataFrame = field(default_factory=pd.DataFrame)
    ranked_without: list[str] = field(default_factory=list)  # tasks left out of ranked_docs (another metric)

    @classmethod
    def read(cls, paths: Mapping[str, Sequence[str | Path]]) -> ResultTables:
        """The tables of ``paths`` (name → files); each sweep's and each importance table's per-document
        table is read from beside it (``x/heads.parquet`` → ``x/heads.docs.parquet``, written before the
        summary). Importance tables without one (an older run) are skipped: those claims say why. Beyond
        the fields' names, ``paths`` may name the head sweeps under other rankings (``ranked_iterative``,
        ``ranked_oracle``), the random head control (``random_heads``) and the head oracle
        (``head_oracle``), whose per-document tables fill ``ranked_docs`` and ``head_oracle_docs``."""

        def cat(files: Sequence[str | Path]) -> pd.DataFrame:
            return pd.concat([read_table(p) for p in files], ignore_index=True) if files else pd.DataFrame()

        def beside(key: str) -> list[Path]:
            return [Path(p).with_name(Path(p).stem + ".docs.parquet") for p in paths.get(key, [])]

        tables = {
            name: cat(list(paths.get(name, [])))
            for name in cls.__dataclass_fields__
            if "docs" not in name and name != "ranked_without"
        }
        sweeps = {"head_docs": "head_sweeps", "ffn_docs": "ffn_sweeps", "combined_docs": "combined"}
        docs = {name: cat(beside(key)) for name, key in sweeps.items()}
        docs["importance_docs"] = cat([p for p in beside("importance") if p.is_file()])
        ranked = {name: cat(beside(f"ranked_{name}")) for name in ("iterative", "oracle")}
        if not docs["head_docs"].empty and (
            any(not d.empty for d in ranked.values()) or paths.get("random_heads")
        ):
            from iclprune.analysis.ranking_quality import other_metric_tasks, ranking_docs

            # tasks scored by another metric than a document mean of acc (ReCoRD, MultiRC) are left out of
            # the ranking claims, which name them
            without = other_metric_tasks(docs["head_docs"], tables["head_sweeps"])
            if set(without) < set(docs["head_docs"].task):
                every = ranking_docs(docs["head_docs"], ranked, cat(beside("random_heads")), exclude=without)
                docs["ranked_docs"] = every[every.ranking != "gradient"].reset_index(drop=True)
            docs["ranked_without"] = without
        docs["head_oracle_docs"] = cat(beside("head_oracle"))
        return cls(**tables, **docs)


def _row(
    claim: str,
    paper: str,
    ours: Any,
    unit: str,
    figure: str,
    note: str = "",
    *,
    low: float | str = "",
    high: float | str = "",
    verdict: str = NOT_ASSESSED,
) -> dict[str, Any]:
    def text(v: Any) -> Any:
        return f"{v:.3g}" if isinstance(v, float) else v

    return {"claim": claim, "paper": paper, "ours": text(ours), "low": text(low), "high": text(high),
            "verdict": verdict, "unit": unit, "figure": figure, "note": note}  # fmt: skip


def removable_claim(
    docs: pd.DataFrame, sweeps: pd.DataFrame, column: str, shot: int, paper_pct: float, settings: Bootstrap
) -> dict[str, Any]:
    """The removable fraction of one shot's sweeps, decided from the interval of the mean drop: ``ours``
    uses the drop's upper 95% bound (conservative), ``low``/``high`` the fractions that the upper and
    lower bound allow; ``reproduced`` when even the upper bound allows ``paper_pct``."""
    df = docs[docs.shot == shot] if not docs.empty else docs
    if df.empty:  # no per-document tables (an older run): the point estimate only
        return {"ours": max_fraction_within(sweeps, column, shot, MAX_DROP), "note": "no per-document tables"}
    if not sweeps.empty:
        from iclprune.analysis.ranking_quality import other_metric_tasks

        other = other_metric_tasks(df, sweeps[sweeps.shot == shot], column)
        if other:  # a document bootstrap of acc says nothing about a task scored by em or acc_all
            return {
                "ours": max_fraction_within(sweeps, column, shot, MAX_DROP),
                "note": f"point estimate; no interval: {', '.join(other)} scored by another metric than a "
                "document mean of acc",
            }
    iv = sweep_intervals(df, column, settings=settings)
    sure, maybe = removable(iv, column, MAX_DROP), removable(iv, column, MAX_DROP, bound="drop_low")
    at = iv[iv[column] == paper_pct]
    note = f"point estimate {removable(iv, column, MAX_DROP, bound='drop'):.3g}"
    if not at.empty:
        note += f"; drop at {paper_pct:g}%: {at['drop'].iloc[0]:.1f} [{at.drop_low.iloc[0]:.1f}, {at.drop_high.iloc[0]:.1f}]"
    return {
        "ours": sure, "low": sure, "high": maybe, "note": note,
        "verdict": "reproduced" if sure >= paper_pct else "not reproduced" if maybe < paper_pct else "undecided",
    }  # fmt: skip


def combined_claim(
    docs: pd.DataFrame, shot: int, heads: float, ffns: float, settings: Bootstrap
) -> dict[str, Any]:
    """The mean drop at ``heads``% + ``ffns``% pruned with its paired interval (None fields when absent)."""
    df = docs[docs.shot == shot] if not docs.empty else docs
    if df.empty:
        return {}
    df = df.assign(point=list(zip(df.pct_heads.astype(float), df.pct_ffns.astype(float), strict=True)))
    iv = sweep_intervals(df, "point", reference=(0.0, 0.0), settings=settings)
    at = iv[iv.point == (float(heads), float(ffns))]
    if at.empty:
        return {}
    return {
        "ours": float(at["drop"].iloc[0]),
        "low": float(at.drop_low.iloc[0]),
        "high": float(at.drop_high.iloc[0]),
    }


def max_fraction_within(sweeps: pd.DataFrame, column: str, shot: int, max_drop: float = 5.0) -> float | None:
    """Largest % pruned whose mean accuracy over tasks is within ``max_drop`` points of the unpruned mean."""
    df = sweeps[sweeps.shot == shot]
    if df.empty:
        return None
    mean = df.groupby(column).acc.mean() * 100
    if 0 not in mean.index:
        return None
    # the fraction is removable only if every smaller fraction also stays within the budget
    drops = pd.DataFrame({column: mean.index, "drop": (mean[0] - mean).to_numpy()}).sort_values(column)
    return removable(drops, column, max_drop, bound="drop")


def combined_drop(grid: pd.DataFrame, shot: int, heads: float, ffns: float) -> float | None:
    """Mean accuracy drop (points) over tasks at ``heads``% heads + ``ffns``% FFNs pruned."""
    df = grid[grid.shot == shot]
    full = df[(df.pct_heads == 0) & (df.pct_ffns == 0)]
    point = df[(df.pct_heads == heads) & (df.pct_ffns == ffns)]
    if full.empty or point.empty:
        return None
    return float(100 * (full.acc.mean() - point.acc.mean()))


def quartile_shares(scores: np.ndarray, top_frac: float = 0.1) -> list[float]:
    """Share of the top ``top_frac`` heads of a ``(layers, heads)`` matrix in each depth quartile."""
    n_layers = scores.shape[0]
    k = max(1, int(top_frac * scores.size))
    top = np.argsort(-scores.ravel(), kind="stable")[:k] // scores.shape[1]
    quartile = np.minimum(4 * top // n_layers, 3)
    return [float(np.mean(quartile == q)) for q in range(4)]


def importance_replicates(
    t: ResultTables, variant: str, pairs: Sequence[Sequence[str]], settings: Bootstrap
) -> AgreementReplicates | str:
    """The bootstrap of importance over documents behind the agreement and induction claims, or why there
    is none. A (task, shot) whose per-document table does not give its summary scores (a stale table) is
    left out, as if it had none."""
    docs = docs_by_key(t.importance_docs)
    if not t.importance.empty:
        imp = t.importance[t.importance.variant == variant]
        for (task, shot), df in imp.groupby(["task", "shot"]):
            key = (str(task), int(shot))
            if key in docs:
                want = df.pivot(index="layer", columns="head", values="score").sort_index().to_numpy()
                got = docs[key].scores(variant)
                if got.shape != want.shape or not np.allclose(got, want, rtol=1e-9, atol=0):
                    log.warning(
                        "per-document importance of %s %d-shot does not give its scores; left out", *key
                    )
                    del docs[key]
    if not docs:
        return NO_DOCS
    prefix = None
    if not t.induction.empty:
        prefix = t.induction.pivot(index="layer", columns="head", values="prefix_matching").sort_index()
        if prefix.shape != next(iter(docs.values())).shape:
            prefix = None  # another model's induction scores: the induction claim says so
    return agreement_replicates(
        docs, variant=variant, settings=settings, pairs=pairs,
        prefix_matching=None if prefix is None else prefix.to_numpy(),
    )  # fmt: skip


def _against(note: str, ours: float, low: float, high: float) -> str:
    """``note``, plus a word when the estimate lies outside its (basic bootstrap) interval."""
    if low <= ours <= high or not np.isfinite([low, high]).all():
        return note
    return f"{note}; the estimate lies outside its interval: noise from few documents pulls it towards 0"


def lacks(agree: AgreementReplicates | str, shot: int, tasks: Sequence[str], key: tuple = ()) -> str:
    """Why ``agree`` cannot give an interval at ``shot`` over ``tasks`` (and the statistic ``key``), or ""."""
    if isinstance(agree, str):
        return agree
    missing = sorted(set(tasks) - set(agree.tasks.get(shot, [])))
    if missing:
        return f"{NO_DOCS} for {', '.join(missing)} at {shot}-shot"
    return NO_DOCS if key and key not in agree.reps else ""


def _tasks(importance: pd.DataFrame, variant: str, shot: int) -> list[str]:
    """The tasks of the importance tables at ``shot`` (those the aggregate averages)."""
    if importance.empty:
        return []
    return sorted(set(importance[(importance.variant == variant) & (importance.shot == shot)].task))


def cross_task_claims(df: pd.DataFrame, shot: int, agree: AgreementReplicates | str) -> list[dict[str, Any]]:
    """The claims "all pairs positive" and "lowest mean SRCC" of one shot's cross-task table (no aggregate,
    no diagonal): every pair's interval above 0 reproduces the first; the second stays ``not assessed``."""
    positive = (
        f"{int((df.srcc > 0).sum())}/{len(df)} positive, {int((df.p_value < 0.01).sum())}/{len(df)} p<0.01"
    )
    claim, paper = f"pairwise cross-task SRCC positive, {shot}-shot", "all positive (p<0.01)"
    lowest = df.groupby("task_a").srcc.mean().idxmin()
    low_claim = f"task with the lowest mean SRCC, {shot}-shot"
    tasks = sorted(set(df.task_a) | set(df.task_b))
    why = lacks(agree, shot, tasks)
    if why or isinstance(agree, str):
        return [
            _row(claim, paper, positive, "pairs", "fig08", why),
            _row(low_claim, "ReCoRD", lowest, "task", "fig08"),
        ]
    bounds = [agree.srcc(shot, a, b)[1:] for a, b in itertools.combinations(tasks, 2)]
    lows, highs = np.array([lo for lo, _ in bounds]), np.array([hi for _, hi in bounds])
    note = (
        f"low/high: the smallest lower and upper 95% bounds over the {len(bounds)} task pairs; "
        f"{int((lows > 0).sum())}/{len(bounds)} pairs' intervals above 0"
    )
    share = f"lowest in {agree.lowest_share(shot, str(lowest)):.0%} of the bootstrap replicates"
    return [
        _row(claim, paper, positive, "pairs", "fig08", note, low=float(lows.min()), high=float(highs.min()),
             verdict=sign_verdict(lows, highs)),
        _row(low_claim, "ReCoRD", lowest, "task", "fig08", share),
    ]  # fmt: skip


def cross_shot_claim(r: pd.Series, agree: AgreementReplicates | str) -> dict[str, Any]:
    """Table 1's mean cross-shot SRCC of one shot pair (a row of the summary) with its interval."""
    published = {(0, 1): 0.39, (0, 5): 0.37, (1, 5): 0.41}
    sa, sb = int(r.shot_a), int(r.shot_b)
    paper = published.get((sa, sb))
    args = (
        f"cross-shot SRCC {sa}–{sb} shot, mean (variance) over tasks",
        f"{'n/a' if paper is None else f'{paper:g}'} (0.001)",
        f"{r['mean']:.3g} ({r['variance']:.2g})", "rho", "table1",
    )  # fmt: skip
    if isinstance(agree, str):
        return _row(*args, agree)
    tasks = agree.cross_shot_tasks.get((sa, sb), [])
    if ("cross_shot", sa, sb) not in agree.reps or len(tasks) != int(r.n_tasks):
        return _row(*args, f"{NO_DOCS} for every task at {sa}- and {sb}-shot")
    low, high = (float(x) for x in agree.interval(("cross_shot", sa, sb)))
    unpaired = [t for t in tasks if not agree.paired.get(t, True)]
    note = f"interval over {len(tasks)} tasks, each shot pair resampled together"
    if unpaired:
        note += f" (except {', '.join(unpaired)}: different documents per shot)"
    note = _against(note, float(r["mean"]), low, high)
    if paper is None:
        return _row(*args, f"{note}; no published value", low=low, high=high)
    return _row(
        *args, f"{CONSISTENCY}; {note}", low=low, high=high, verdict=consistency_verdict(low, high, paper)
    )


def render_claims(table: pd.DataFrame) -> str:
    """Markdown table of a claims table (``results/<study>/claims/<model>.tsv``): claim, paper, ours, 95% interval,
    verdict, figure; a row without an interval shows an empty cell."""
    missing = [
        c for c in ("claim", "paper", "ours", "low", "high", "verdict", "figure") if c not in table.columns
    ]
    if missing:
        raise ValueError(
            f"claims table lacks columns {missing}; expected the columns of a claims table (results/<study>/claims/<model>.tsv)"
        )

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        return f"{v:.3g}" if isinstance(v, float) else str(v).replace("|", "\\|")

    lines = ["| claim | paper | ours | 95% interval | verdict | figure |", "|---|---|---:|---:|---|---|"]
    for r in table.itertuples(index=False):
        iv = f"[{cell(r.low)}, {cell(r.high)}]" if cell(r.low) != "" else ""
        lines.append(
            f"| {cell(r.claim)} | {cell(r.paper)} | {cell(r.ours)} | {iv} | {cell(r.verdict)} | {cell(r.figure)} |"
        )
    return "\n".join(lines) + "\n"


RANKING_NAMES = {"iterative": "the re-scored (iterative) gradient", "oracle": "the oracle knock-out",
                 "random": "a random"}  # fmt: skip


def ranking_claims(t: ResultTables, variant: str, settings: Bootstrap) -> list[dict[str, Any]]:
    """Beyond the paper (Figs 20, 21): per shot, the % of heads removable within 5 points under each other
    ranking, decided like the paper's (upper 95% bound of the drop; verdict against its ~70%), and the
    Spearman correlation of gradient importance (``variant``) with the oracle, mean over tasks, with its
    bootstrap interval over importance documents (``reproduced`` = positive: the gradient orders heads by
    their measured effect, which the paper's pruning assumes)."""
    rows = []
    if not t.ranked_docs.empty:
        for (ranking, shot), docs in t.ranked_docs.groupby(["ranking", "shot"], sort=True):
            got = removable_claim(docs, pd.DataFrame(), "pct_heads", int(shot), 70.0, settings)
            name = RANKING_NAMES.get(str(ranking), str(ranking))
            if t.ranked_without:
                got["note"] += f"; without {', '.join(t.ranked_without)} (not scored by accuracy)"
            rows.append(_row(
                f"heads removable with ≤5 points mean drop under {name} ranking, {shot}-shot",
                "~70 (gradient ranking)", got.pop("ours"), "% of heads", "fig21", **got,
            ))  # fmt: skip
    if not t.head_oracle_docs.empty and not t.importance_docs.empty:
        from iclprune.analysis.ranking_quality import gradient_vs_oracle, oracle_docs_by_key

        oracle = oracle_docs_by_key(t.head_oracle_docs)
        gradient = {k: v for k, v in docs_by_key(t.importance_docs).items() if k in oracle}
        if gradient:
            agree = gradient_vs_oracle(gradient, oracle, variants=[variant], settings=settings)
            for _, r in agree[agree.task == "mean"].iterrows():
                per_task = agree[(agree.task != "mean") & (agree.shot == r.shot)]
                note = "per task: " + ", ".join(f"{a.task} {a.srcc:.2f}" for a in per_task.itertuples())
                rows.append(_row(
                    f"SRCC(gradient importance, oracle knock-out), mean over tasks, {r.shot}-shot",
                    "positive (assumed: pruning by gradient removes the heads that matter least)", float(r.srcc),
                    "rho", "fig20", f"reproduced: the interval lies above 0; {note}", low=float(r.low),
                    high=float(r.high), verdict=sign_verdict(r.low, r.high),
                ))  # fmt: skip
    return rows


def compute_claims(
    t: ResultTables,
    *,
    variant: str = "bansal",
    pairs: Sequence[Sequence[str]] = (),
    bootstrap: Bootstrap = Bootstrap(),
) -> pd.DataFrame:
    """Every published claim with this run's value (see method.md, "Published numbers"); the pruning,
    agreement and induction claims with their 95% interval and verdict (``bootstrap``: replicates and
    seed of both the bootstrap over evaluation documents and the one over importance documents)."""
    from iclprune.analysis.agreement import spearman, topk_overlap

    rows = []
    shots = sorted(set(t.head_sweeps.shot)) if not t.head_sweeps.empty else []
    for shot in shots:
        got = removable_claim(t.head_docs, t.head_sweeps, "pct_heads", shot, 70.0, bootstrap)
        rows.append(_row(
            f"heads removable with ≤5 points mean drop, {shot}-shot", "~70", got.pop("ours"), "% of heads",
            "fig05", **got,
        ))  # fmt: skip
    rows += ranking_claims(t, variant, bootstrap)
    for shot in sorted(set(t.ffn_sweeps.shot)) if not t.ffn_sweeps.empty else []:
        paper = 20.0 if shot == 0 else 10.0
        got = removable_claim(t.ffn_docs, t.ffn_sweeps, "pct_ffns", shot, paper, bootstrap)
        rows.append(_row(
            f"FFNs removable with ≤5 points mean drop, {shot}-shot", f"~{paper:g}", got.pop("ours"), "% of FFNs",
            "fig06", **got,
        ))  # fmt: skip
    for shot, heads, ffns, paper in ((0, 70, 20, 5.0), (1, 70, 10, 6.0), (5, 60, 20, 4.0)):
        got = combined_claim(t.combined_docs, shot, heads, ffns, bootstrap)
        drop = combined_drop(t.combined, shot, heads, ffns) if not t.combined.empty else None
        claim = f"combined {heads}% heads + {ffns}% FFNs: mean accuracy drop, {shot}-shot"
        if got:
            rows.append(_row(
                claim, f"{paper:g}", got["ours"], "points", "fig07", f"reproduced: the drop's upper bound ≤ {paper:g}",
                low=got["low"], high=got["high"], verdict=verdict(got["low"], got["high"], paper),
            ))  # fmt: skip
        else:
            rows.append(_row(
                claim, f"{paper:g}", drop if drop is not None else "not computed", "points", "fig07",
                "no per-document tables" if drop is not None else "shot or grid point not in this config",
            ))  # fmt: skip
    if not t.aggregate.empty:
        for shot, df in t.aggregate[t.aggregate.variant == variant].groupby("shot"):
            m = df.pivot(index="layer", columns="head", values="score").sort_index().to_numpy()
            shares = quartile_shares(m)
            rows.append(_row(
                f"top-10% aggregate heads per depth quartile (Q1..Q4), {shot}-shot", "most in intermediate layers",
                " / ".join(f"{s:.2f}" for s in shares), "share", "fig03",
            ))  # fmt: skip
    if not t.oracle.empty:
        for shot, df in t.oracle.groupby("shot"):
            per_layer = df.groupby("layer").score.mean()
            n = len(per_layer)
            quartile = np.minimum(4 * per_layer.index.to_numpy() // n, 3)
            q = [float(per_layer.to_numpy()[quartile == i].mean()) for i in range(4)]
            rows.append(_row(
                f"mean FFN oracle importance per depth quartile (Q1..Q4), {shot}-shot", "mostly later layers",
                " / ".join(f"{v:.2f}" for v in q), "points", "fig04",
            ))  # fmt: skip
    agree = importance_replicates(t, variant, pairs, bootstrap)
    if not t.cross_task.empty:
        tt = t.cross_task[(t.cross_task.method == "spearman") & (t.cross_task.task_a != t.cross_task.task_b)]
        tt = tt[(tt.task_a != "aggregate") & (tt.task_b != "aggregate")]
        for shot, df in tt.groupby("shot"):
            if not df.empty:
                rows.extend(cross_task_claims(df, int(shot), agree))
        for a, b in pairs:
            for shot, df in tt.groupby("shot"):
                hit = df[(df.task_a == a) & (df.task_b == b)]
                if not hit.empty:
                    claim, ours = f"SRCC({a}, {b}), {shot}-shot", float(hit.srcc.iloc[0])
                    why = lacks(agree, int(shot), [a, b])
                    if why:
                        rows.append(_row(claim, "0.13", ours, "rho", "fig08", why))
                        continue
                    _, low, high = agree.srcc(int(shot), a, b)
                    note = _against(CONSISTENCY, ours, low, high)
                    rows.append(_row(
                        claim, "0.13", ours, "rho", "fig08", note, low=low, high=high,
                        verdict=consistency_verdict(low, high, 0.13),
                    ))  # fmt: skip
    if not t.cross_shot.empty:
        for _, r in t.cross_shot[t.cross_shot.method == "spearman"].iterrows():
            rows.append(cross_shot_claim(r, agree))
    if not t.induction.empty and not t.aggregate.empty:
        ind = t.induction.sort_values(["layer", "head"])
        for shot, df in t.aggregate[t.aggregate.variant == variant].groupby("shot"):
            imp = df.sort_values(["layer", "head"]).score.to_numpy()
            rho, p = spearman(imp, ind.prefix_matching.to_numpy())
            claim = f"SRCC(aggregate importance, prefix matching), {shot}-shot"
            paper = "positive (important heads are induction heads)"
            why = lacks(agree, int(shot), _tasks(t.importance, variant, shot), ("induction", int(shot)))
            if why == NO_DOCS and not isinstance(agree, str):
                why = "induction scores of another shape than the importance: no interval"
            if why:
                rows.append(_row(claim, paper, rho, "rho", "fig10", f"p={p:.2g}; {why}"))
                continue
            low, high = (float(x) for x in agree.interval(("induction", int(shot))))
            note = _against(f"p={p:.2g}; reproduced: the interval lies above 0", rho, low, high)
            rows.append(_row(
                claim, paper, rho, "rho", "fig10", note,
                low=low, high=high, verdict=sign_verdict(low, high),
            ))  # fmt: skip
    if not t.retained.empty:
        r = t.retained[t.retained.ranking_task == "aggregate"]
        for (shot, kind), df in r.groupby(["shot", "score_kind"]):
            at = {x: float(np.interp(x, df.pct_pruned, df.pct_retained)) for x in (20, 40)}
            rows.append(_row(
                f"{kind} capacity retained after pruning 20% / 40% of heads, {shot}-shot",
                "most survives 20%, faster decline past 40%" if kind == "prefix_matching" else "n/a",
                f"{at[20]:.1f} / {at[40]:.1f}", "% retained", "fig11",
            ))  # fmt: skip
    if not t.importance.empty:
        imp = t.importance[t.importance.variant == variant]
        for a, b in pairs:
            for shot, df in imp.groupby("shot"):
                ma, mb = (
                    df[df.task == x].pivot(index="layer", columns="head", values="score").to_numpy()
                    for x in (a, b)
                )
                if ma.size and mb.size:
                    claim = f"top-30% head overlap({a}, {b}), {shot}-shot"
                    ours = 100 * topk_overlap(ma, mb, 0.3)
                    why = lacks(agree, int(shot), [a, b], ("overlap", a, b, int(shot)))
                    if why:
                        rows.append(_row(claim, "71–76", ours, "%", "fig08", why))
                        continue
                    low, high = (100 * float(x) for x in agree.interval(("overlap", a, b, int(shot))))
                    note = _against(f"{CONSISTENCY} (overlaps the published range)", ours, low, high)
                    rows.append(_row(
                        claim, "71–76", ours, "%", "fig08", note,
                        low=low, high=high, verdict=consistency_verdict(low, high, 71.0, 76.0),
                    ))  # fmt: skip
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)
