"""The scale analysis: per-model tables written by hand, values checked against hand-computed ones, the
trend verdicts on hand-made intervals, both series (sizes and checkpoints) of one table, the figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from iclprune.core.io import read_table, write_table
from iclprune.reporting.plotting.scale import SCALE_FIGURES, scale_figure
from iclprune.reporting.scale import TABLE_COLUMNS, ModelResults, axis_series, scale_table
from iclprune.reporting.scale_claims import SCALE_CLAIM_COLUMNS, rank_correlation, scale_claims

SHOTS = (0, 1)
TASKS = ("ta", "tb", "tc")
N_LAYERS, N_HEADS = 8, 5  # 40 heads: the top 10% are 4 heads; layer l lies in depth quartile l // 2
GRID = (0.0, 25.0, 50.0, 75.0, 100.0)  # pct_pruned of the retained curves: 70 lies between 50 and 75
FRESH = Path("/tmp/fresh/results")


def _claim_rows(removable: dict[str, dict[int, tuple[Any, Any, Any]]]) -> list[dict[str, Any]]:
    """Claims rows with the texts of iclprune.reporting.claims, plus decoys that must not be read."""
    rows = []
    for shot, (ours, low, high) in removable.get("heads", {}).items():
        rows.append({"claim": f"heads removable with ≤5 points mean drop, {shot}-shot", "paper": "~70",
                     "ours": ours, "low": low, "high": high, "verdict": "undecided", "unit": "% of heads",
                     "figure": "fig05"})  # fmt: skip
        rows.append({"claim": f"heads removable with ≤5 points mean drop under a random ranking, {shot}-shot",
                     "paper": "~70 (gradient ranking)", "ours": 99, "low": 99, "high": 99,
                     "verdict": "reproduced", "unit": "% of heads", "figure": "fig21"})  # fmt: skip
    for shot, (ours, low, high) in removable.get("ffns", {}).items():
        rows.append({"claim": f"FFNs removable with ≤5 points mean drop, {shot}-shot", "paper": "~20",
                     "ours": ours, "low": low, "high": high, "verdict": "undecided", "unit": "% of FFNs",
                     "figure": "fig06"})  # fmt: skip
    rows.append({"claim": "combined 60% heads + 20% FFNs: mean accuracy drop, 5-shot", "paper": "4",
                 "ours": "not computed", "low": "", "high": "", "verdict": "not assessed", "unit": "points",
                 "figure": "fig07"})  # fmt: skip
    for r in rows:
        r.update(note="", config="test")
    return rows


def _write_model(
    root: Path,
    label: str,
    n_parameters: int,
    *,
    step: int | None = None,
    heads: dict[int, tuple[Any, Any, Any]] | None = None,
    ffns: dict[int, tuple[Any, Any, Any]] | None = None,
    scale: float = 1.0,
) -> ModelResults:
    """One model's tables in the workflow's formats, under ``root``; ``scale`` varies the values."""
    heads = heads if heads is not None else {s: (30.0 * scale, 30.0 * scale, 50.0 * scale) for s in SHOTS}
    ffns = ffns if ffns is not None else {s: (10.0 * scale, 10.0 * scale, 20.0 * scale) for s in SHOTS}
    card = root / "models" / label / "card.json"
    card.parent.mkdir(parents=True)
    card.write_text(json.dumps({"n_parameters": n_parameters, "n_layers": N_LAYERS, "n_heads": N_HEADS,
                                "n_kv_heads": N_HEADS, "d_head": 8, "family": "opt", "spec": {}}))  # fmt: skip
    claims = root / label / "claims.tsv"
    claims.parent.mkdir(parents=True)
    pd.DataFrame(_claim_rows({"heads": heads, "ffns": ffns})).to_csv(claims, sep="\t", index=False)
    retained, cross_task, aggregate, ffn_oracle = [], [], [], []
    for shot in SHOTS:
        rows = []
        for task, offset in (("aggregate", 0.0), ("ta", 7.0)):  # the per-task ranking must be ignored
            for kind, base in (("prefix_matching", 20.0), ("copying", 40.0)):
                values = [100.0, 80.0, 60.0, base * scale + shot + offset, 0.0]
                rows += [(shot, task, kind, x, y) for x, y in zip(GRID, values, strict=True)]
        path = root / "induction" / label / f"{shot}shot" / "retained.tsv"
        write_table(pd.DataFrame(rows, columns=["shot", "ranking_task", "score_kind", "pct_pruned",
                                                "pct_retained"]), path)  # fmt: skip
        retained.append(path)
        srcc = {("ta", "tb"): 0.3 * scale, ("ta", "tc"): 0.5 * scale, ("tb", "tc"): 0.1 * scale + 0.1 * shot}
        rows = []
        for method, factor in (("spearman", 1.0), ("paper_argsort", -1.0)):
            for a in (*TASKS, "aggregate"):
                for b in (*TASKS, "aggregate"):
                    value = 1.0 if a == b else 0.9 if "aggregate" in (a, b) else srcc[tuple(sorted((a, b)))]
                    rows.append((method, shot, a, b, factor * value, 0.01))
        path = root / "agreement" / label / f"{shot}shot" / "cross_task.tsv"
        write_table(
            pd.DataFrame(rows, columns=["method", "shot", "task_a", "task_b", "srcc", "p_value"]), path
        )
        cross_task.append(path)
        rows = []
        for variant, top_layers in (("bansal", (0, 2, 3, 7)), ("michel", (5, 5, 5, 5))):
            m = np.arange(N_LAYERS * N_HEADS, dtype=float).reshape(N_LAYERS, N_HEADS) / 1000
            for i, layer in enumerate(top_layers):
                m[layer, i] = 10.0 + i  # the top 10% (4 heads) sit in these layers
            rows += [
                ("aggregate", shot, variant, la, h, m[la, h])
                for la in range(N_LAYERS)
                for h in range(N_HEADS)
            ]
        path = root / "rankings" / label / "aggregate" / f"{shot}shot" / "heads.parquet"
        write_table(pd.DataFrame(rows, columns=["task", "shot", "variant", "layer", "head", "score"]), path)
        aggregate.append(path)
        for factor, task in zip((1.0, 2.0), ("ta", "tb"), strict=True):
            score = [factor * layer * scale for layer in range(N_LAYERS)]
            df = pd.DataFrame({"task": task, "shot": shot, "layer": range(N_LAYERS), "baseline_acc": 0.8,
                               "knocked_out_acc": 0.7, "score": score})  # fmt: skip
            path = root / "ffn_oracle" / label / task / f"{shot}shot" / "ffns.parquet"
            write_table(df, path)
            ffn_oracle.append(path)
    cross_shot = root / "agreement" / label / "cross_shot.summary.tsv"
    write_table(pd.DataFrame({"method": ["spearman", "paper_argsort"], "shot_a": [0, 0], "shot_b": [1, 1],
                              "mean": [0.6 * scale, -0.2], "variance": [0.01, 0.01], "n_tasks": [3, 3]}),
                cross_shot)  # fmt: skip
    return ModelResults.from_card(card, label, step, claims=claims, retained=retained, cross_task=cross_task,
                                  cross_shot=cross_shot, aggregate=aggregate, ffn_oracle=ffn_oracle)  # fmt: skip


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[ModelResults], pd.DataFrame]:
    """Three sizes (heads intervals rising with size) and two checkpoints of the middle size (falling)."""
    root = tmp_path_factory.mktemp("study")
    models = [
        _write_model(root, "small", 10**8, scale=1.0, heads={0: (10, 10, 20), 1: (10, 10, 20)}),
        _write_model(root, "mid", 10**9, scale=1.2, heads={0: (30, 30, 40), 1: (20, 15, 35)}),
        _write_model(root, "large", 10**10, scale=1.5, heads={0: (50, 50, 70), 1: (30, 30, 50)}),
        _write_model(root, "mid@1000", 10**9, step=1000, scale=0.5, heads={0: (60, 60, 70), 1: (40, "", "")}),
        _write_model(root, "mid@5000", 10**9, step=5000, scale=0.7, heads={0: (20, 20, 30), 1: (30, 30, 40)}),
    ]
    return models, scale_table(models)


def _value(table: pd.DataFrame, model: str, measure: str, shot: int, shot_b: int | None = None) -> pd.Series:
    d = table[(table.model == model) & (table.measure == measure) & (table.shot == shot)]
    if shot_b is not None:
        d = d[d.shot_b == shot_b]
    assert len(d) == 1, (model, measure, shot, d)
    return d.iloc[0]


def test_table_values_match_hand_computed_ones(study: tuple[list[ModelResults], pd.DataFrame]) -> None:
    _, table = study
    assert list(table.columns) == TABLE_COLUMNS
    assert table.groupby("model").n_parameters.first().to_dict() == {
        "small": 10**8, "mid": 10**9, "large": 10**10, "mid@1000": 10**9, "mid@5000": 10**9,
    }  # fmt: skip
    assert table.step.isna().sum() == (table.model.isin(["small", "mid", "large"])).sum()
    assert set(table[table.step.notna()].step) == {1000, 5000}
    # removable: ours, low, high of the fig05/fig06 rows (not the fig21 decoy); an empty interval is NaN
    r = _value(table, "mid", "heads_removable", 1)
    assert (r.value, r.low, r.high) == (20, 15, 35)
    r = _value(table, "mid@1000", "heads_removable", 1)
    assert r.value == 40
    assert np.isnan(r.low)
    assert np.isnan(r.high)
    r = _value(table, "large", "ffns_removable", 0)
    assert (r.value, r.low, r.high) == pytest.approx((15.0, 15.0, 30.0))
    # top-30% share: pct_retained at 70% pruned, between (50, 60) and (75, y75): 60 + (y75 - 60) * 20/25
    for model, scale in (("small", 1.0), ("large", 1.5)):
        for shot in SHOTS:
            for kind, base in (("prefix_matching", 20.0), ("copying", 40.0)):
                y75 = base * scale + shot
                got = _value(table, model, f"{kind}_top30", shot)
                assert got.value == pytest.approx(60 + (y75 - 60) * 20 / 25)
                assert np.isnan(got.low)
                assert np.isnan(got.high)
    # cross-task: the mean of the three off-diagonal task pairs (no aggregate, no diagonal, spearman only)
    assert _value(table, "mid", "cross_task_srcc", 0).value == pytest.approx((0.3 + 0.5 + 0.1) * 1.2 / 3)
    assert _value(table, "mid", "cross_task_srcc", 1).value == pytest.approx(
        ((0.3 + 0.5 + 0.1) * 1.2 + 0.1) / 3
    )
    r = _value(table, "large", "cross_shot_srcc", 0, 1)
    assert r.value == pytest.approx(0.9)
    assert r.shot_b == 1
    assert table[table.measure != "cross_shot_srcc"].shot_b.isna().all()
    # heads in layers 0, 2, 3, 7 of 8: quartiles 1, 2, 2, 4 (bansal variant; michel's sit all in layer 5)
    shares = [_value(table, "small", f"head_depth_q{q}", 0).value for q in range(1, 5)]
    assert shares == pytest.approx([0.25, 0.5, 0.0, 0.25])
    # FFN scores layer*1 and layer*2 → mean over tasks 1.5*layer; quartile means of layers (0,1), (2,3), ...
    ffn = [_value(table, "large", f"ffn_depth_q{q}", 1).value for q in range(1, 5)]
    assert ffn == pytest.approx([1.5 * 1.5 * (2 * q + 0.5) for q in range(4)])


def test_verdicts_from_the_intervals(study: tuple[list[ModelResults], pd.DataFrame]) -> None:
    _, table = study
    claims = scale_claims(table, config_name="study")
    assert list(claims.columns) == SCALE_CLAIM_COLUMNS
    assert set(claims.config) == {"study"}
    by = claims.set_index("claim")
    # 0-shot heads: small [10, 20], large [50, 70] → reproduced; values rise with size → rho 1
    r = by.loc["heads removable within 5 points grows with parameter count, 0-shot"]
    assert r.verdict == "reproduced"
    assert float(r.ours) == 1.0
    assert r.figure == "scale_removable"
    assert "over 3 models" in r.note
    assert "small (100M): 10 [10, 20]" in r.note
    assert "large (10B)" in r.note
    assert "under-trained" in r.paper
    # 1-shot heads: small [10, 20] vs large [30, 50]: reproduced too
    assert (
        by.loc["heads removable within 5 points grows with parameter count, 1-shot"].verdict == "reproduced"
    )
    # FFNs: small [10, 20], large [15, 30] overlap → undecided
    r = by.loc["FFNs removable within 5 points grows with parameter count, 0-shot"]
    assert r.verdict == "undecided"
    assert float(r.ours) == 1.0
    descriptive = claims[claims.figure != "scale_removable"]
    assert set(descriptive.verdict) == {"not assessed"}
    assert set(descriptive.figure) == {"scale_agreement", "scale_induction", "scale_depth"}
    assert float(by.loc["cross-shot SRCC 0–1 shot (mean over tasks) vs parameter count"].ours) == 1.0


def _hand_table(
    intervals: dict[str, tuple[float, float, float]], step: dict[str, int] | None = None
) -> pd.DataFrame:
    """A scale table of heads_removable at 0-shot: model → (value, low, high), n_parameters by order."""
    rows = [
        {"model": m, "n_parameters": 10 ** (8 + i), "step": (step or {}).get(m), "measure": "heads_removable",
         "shot": 0, "shot_b": None, "value": v, "low": lo, "high": hi}
        for i, (m, (v, lo, hi)) in enumerate(intervals.items())
    ]  # fmt: skip
    return pd.DataFrame(rows).astype({"step": "Int64", "shot_b": "Int64"})


@pytest.mark.parametrize(
    ("small", "large", "verdict"),
    [
        ((10, 10, 20), (40, 30, 50), "reproduced"),
        ((40, 30, 50), (10, 10, 20), "not reproduced"),
        ((20, 10, 30), (30, 25, 40), "undecided"),
        ((20, 10, 30), (30, 30, 40), "undecided"),  # touching bounds decide nothing
        ((20, 10, 30), (40, np.nan, np.nan), "not assessed"),  # no interval
    ],
)
def test_trend_verdict_on_hand_made_intervals(small: tuple, large: tuple, verdict: str) -> None:
    table = _hand_table({"a": small, "middle": (25, 0, 100), "b": large})
    row = scale_claims(table).iloc[0]
    assert row.claim == "heads removable within 5 points grows with parameter count, 0-shot"
    assert row.verdict == verdict
    if verdict == "not assessed":
        assert "no interval for b" in row.note


def test_one_model_is_not_assessed_and_rho_is_nan_safe() -> None:
    row = scale_claims(_hand_table({"only": (30, 20, 40)})).iloc[0]
    assert row.verdict == "not assessed"
    assert row.ours == "n/a"
    assert "fewer than two models" in row.note
    assert "only (100M): 30 [20, 40]" in row.note
    assert np.isnan(rank_correlation([1, 2, 3], [5, 5, 5]))
    assert rank_correlation([1, 2, 3, 4], [1, np.nan, 3, 2]) == pytest.approx(0.5)


def test_both_series_from_one_table(study: tuple[list[ModelResults], pd.DataFrame], tmp_path: Path) -> None:
    _, table = study
    assert set(axis_series(table, "n_parameters").model) == {"small", "mid", "large"}
    steps = axis_series(table, "step")
    assert set(steps.model) == {"mid@1000", "mid@5000"}
    assert set(steps.x) == {1000.0, 5000.0}
    claims = scale_claims(table, axis="step").set_index("claim")
    # checkpoints: 0-shot [60, 70] at step 1000, [20, 30] at step 5000 → the share falls with training
    r = claims.loc["heads removable within 5 points grows with training step, 0-shot"]
    assert r.verdict == "not reproduced"
    assert float(r.ours) == -1.0
    assert "mid@1000 (step 1000)" in r.note
    assert "no published claim" in r.paper
    # 1-shot: step 1000 has no interval → not assessed
    assert (
        claims.loc["heads removable within 5 points grows with training step, 1-shot"].verdict
        == "not assessed"
    )
    # the same claims listed for both series; a table read back from TSV gives the same claims
    sizes = scale_claims(table, axis="n_parameters")
    assert len(sizes) == len(claims)
    write_table(table, tmp_path / "scale.tsv")
    again = read_table(tmp_path / "scale.tsv")
    for axis in ("n_parameters", "step"):
        pd.testing.assert_frame_equal(scale_claims(again, axis=axis), scale_claims(table, axis=axis))
    with pytest.raises(ValueError, match="'size'"):
        scale_claims(table, axis="size")
    # checkpoints of two different models in the step series: named, not mixed
    mixed = _hand_table({"a@1": (1, 0, 2), "b@1": (1, 0, 2)}, step={"a@1": 1, "b@1": 1})
    with pytest.raises(ValueError, match="checkpoints of one model"):
        scale_claims(mixed, axis="step")


def test_missing_claims_row_duplicate_label_and_missing_file(tmp_path: Path) -> None:
    m = _write_model(tmp_path, "m", 10**8)
    claims = pd.read_csv(m.claims, sep="\t")
    claims[claims.claim != "FFNs removable with ≤5 points mean drop, 1-shot"].to_csv(
        m.claims, sep="\t", index=False
    )
    with pytest.raises(
        ValueError, match=r"model 'm'.*claims\.tsv.*'FFNs removable with ≤5 points mean drop, 1-shot'"
    ):
        scale_table([m])
    claims[~claims.figure.isin(["fig05"])].to_csv(m.claims, sep="\t", index=False)
    with pytest.raises(ValueError, match="no fig05 row 'heads removable"):
        scale_table([m])
    claims.to_csv(m.claims, sep="\t", index=False)
    assert len(scale_table([m]))
    with pytest.raises(ValueError, match=r"duplicate model label.*'m'"):
        scale_table([m, m])
    gone = ModelResults(
        label="gone", n_parameters=10, step=None, claims=m.claims, retained=[tmp_path / "no.tsv"]
    )
    with pytest.raises(ValueError, match=r"model 'gone'.*no\.tsv"):
        scale_table([gone])
    with pytest.raises(ValueError, match="sequence of paths"):
        ModelResults(label="x", n_parameters=10, step=None, claims=m.claims, retained=str(tmp_path))  # type: ignore[arg-type]
    (tmp_path / "card.json").write_text("{}")
    with pytest.raises(ValueError, match="no n_parameters"):
        ModelResults.from_card(tmp_path / "card.json", "x", claims=m.claims)


@pytest.mark.parametrize("axis", ["n_parameters", "step"])
def test_every_figure_is_written(
    study: tuple[list[ModelResults], pd.DataFrame], tmp_path: Path, axis: str
) -> None:
    _, table = study
    for name in SCALE_FIGURES:
        paths = scale_figure(name, table, tmp_path / f"{name}_{axis}", axis=axis, note="random-weight models")
        assert [p.suffix for p in paths] == [".pdf", ".png"]
        assert all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_figures_of_a_short_series_say_so(
    study: tuple[list[ModelResults], pd.DataFrame], tmp_path: Path
) -> None:
    _, table = study
    one = table[table.model.isin(["small", "mid@1000"])]  # one model on each axis
    for axis in ("n_parameters", "step"):
        paths = scale_figure("scale_depth", one, tmp_path / axis, axis=axis)
        assert all(p.stat().st_size > 0 for p in paths)
    with pytest.raises(ValueError, match=r"unknown scale figure 'scale_nope'.*scale_removable"):
        scale_figure("scale_nope", table, tmp_path / "x", axis="step")
    with pytest.raises(ValueError, match="'time'"):
        scale_figure("scale_removable", table, tmp_path / "x", axis="time")


@pytest.mark.skipif(
    not (FRESH / "claims.tsv").is_file(), reason="no real run's results under /tmp/fresh/results"
)
def test_real_single_model_results() -> None:
    label = "smollm2"
    m = ModelResults.from_card(
        FRESH / "models" / label / "card.json", label, None, claims=FRESH / "claims.tsv",
        retained=sorted((FRESH / "induction" / label).glob("*shot/retained.tsv")),
        cross_task=sorted((FRESH / "agreement" / label).glob("*shot/cross_task.tsv")),
        cross_shot=FRESH / "agreement" / label / "cross_shot.summary.tsv",
        aggregate=sorted((FRESH / "rankings" / label / "aggregate").glob("*shot/heads.parquet")),
        ffn_oracle=sorted((FRESH / "ffn_oracle" / label).glob("*/*shot/ffns.parquet")),
    )  # fmt: skip
    table = scale_table([m])
    assert set(table.model) == {label}
    assert table.step.isna().all()
    assert {"heads_removable", "ffns_removable", "prefix_matching_top30", "cross_task_srcc", "cross_shot_srcc",
            "head_depth_q1", "ffn_depth_q4"} <= set(table.measure)  # fmt: skip
    claims = pd.read_csv(FRESH / "claims.tsv", sep="\t").set_index("claim")
    for r in table[table.measure == "heads_removable"].itertuples():
        assert r.value == pytest.approx(
            float(claims.loc[f"heads removable with ≤5 points mean drop, {r.shot}-shot", "ours"])
        )
    for shot in sorted(set(table[table.measure == "head_depth_q1"].shot)):
        text = claims.loc[f"top-10% aggregate heads per depth quartile (Q1..Q4), {shot}-shot", "ours"]
        ours = [_value(table, label, f"head_depth_q{q}", shot).value for q in range(1, 5)]
        assert " / ".join(f"{v:.2f}" for v in ours) == text
    assert set(scale_claims(table).verdict) == {"not assessed"}
