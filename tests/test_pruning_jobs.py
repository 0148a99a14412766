"""One job per (task, shot) and family (sweeps.head_pruning, sweeps.ffn_pruning): the same tables as the
single-sweep stages, every distinct mask evaluated once, every input checked before the model loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iclprune.core.io import StageInputError
from iclprune.core.settings import EvaluationSettings, PruningSettings
from iclprune.evaluate.evaluation import Evaluator
from iclprune.workflow import stages, sweeps

MODEL = {"source": "tiny:llama", "dtype": "float32"}
TASKS = ("icl_antonyms", "icl_city_country", "icl_category")
SHOT = 1
LAYERS, HEADS = 3, 6  # tiny:llama
COMMON = {"evaluation": EvaluationSettings(limit=3, batch_size=4, seed=1234)}


def _importance(path: Path, task: str, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    rows = [
        (task, SHOT, variant, layer, head, float(rng.random()))
        for variant in ("bansal", "michel")
        for layer in range(LAYERS)
        for head in range(HEADS)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["task", "shot", "variant", "layer", "head", "score"]).to_parquet(path)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("inputs")
    importance = [
        _importance(root / f"importance/tiny/{t}/{SHOT}shot/heads.parquet", t, i) for i, t in enumerate(TASKS)
    ]
    aggregate = _importance(root / "aggregate.parquet", "aggregate", 99)
    ffns = root / "ffns.parquet"
    pd.DataFrame({"layer": range(LAYERS), "score": [0.5, -1.0, 2.0]}).to_parquet(ffns)
    srcc = root / "cross_task.tsv"
    pairs = [("icl_antonyms", "icl_city_country", 0.6), ("icl_antonyms", "icl_category", 0.1)]
    rows = [("spearman", a, b, r) for a, b, r in pairs] + [("spearman", b, a, r) for a, b, r in pairs]
    pd.DataFrame(rows, columns=["method", "task_a", "task_b", "srcc"]).to_csv(srcc, sep="\t", index=False)
    return {"importance": importance, "aggregate": aggregate, "ffns": ffns, "srcc": srcc}


@pytest.fixture
def count_evaluations(monkeypatch) -> list:
    """Every (task, mask) the sweeps score, in order (Evaluator.loglikelihoods_many is their one path)."""
    calls: list = []
    real = Evaluator.loglikelihoods_many

    def counted(self, reqs, masks):
        calls.extend((reqs.name, m) for m in masks)
        return real(self, reqs, masks)

    monkeypatch.setattr(Evaluator, "loglikelihoods_many", counted)
    return calls


def _same(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    pd.testing.assert_frame_equal(pd.read_parquet(stages.docs_path(a)), pd.read_parquet(stages.docs_path(b)))


def test_ffn_job_equals_two_sweeps_and_evaluates_a_shared_point_once(
    inputs, tmp_path, count_evaluations
) -> None:
    ffn_grid, combined = [(0, 0), (0, 40), (0, 70)], [(h, f) for h in (0, 50) for f in (0, 40)]
    heads = inputs["importance"][0]
    pruning = PruningSettings(
        ffn_percents=[0, 40, 70], combined_head_percents=[0, 50], combined_ffn_percents=[0, 40]
    )
    assert (pruning.ffn_grid, pruning.combined_grid) == (ffn_grid, combined)
    sweeps.ffn_pruning(
        MODEL, TASKS[0], SHOT, head_scores=heads, ffn_scores=inputs["ffns"], ffns_out=tmp_path / "job/ffns.parquet",
        combined_out=tmp_path / "job/combined.parquet", pruning=pruning, **COMMON,
    )  # fmt: skip
    job_calls = len(count_evaluations)
    distinct = {(0, 0), (0, 40), (0, 70), (50, 0), (50, 40)}
    assert job_calls == len(distinct)  # (0, 0) and (0, 40) shared by the two sweeps
    sweeps.pruning_sweep(
        MODEL, TASKS[0], SHOT, tmp_path / "alone/ffns.parquet", ffn_scores=inputs["ffns"], grid=ffn_grid, **COMMON
    )  # fmt: skip
    sweeps.pruning_sweep(
        MODEL, TASKS[0], SHOT, tmp_path / "alone/combined.parquet", head_scores=heads, ffn_scores=inputs["ffns"],
        grid=combined, **COMMON,
    )  # fmt: skip
    assert len(count_evaluations) - job_calls == len(ffn_grid) + len(combined)
    for name in ("ffns", "combined"):
        _same(tmp_path / f"job/{name}.parquet", tmp_path / f"alone/{name}.parquet")
    grid = pd.read_parquet(tmp_path / "job/combined.parquet")
    assert grid.n_ffns_removed.tolist() == [0, 1, 0, 1]  # ⌊0.4·3⌋ of 3 layers


def test_head_job_equals_the_sweep_and_transfers_alone(inputs, tmp_path) -> None:
    task, grid, percents = TASKS[0], [(0, 0), (50, 0)], [30, 70]
    outs = {r: tmp_path / f"job/{r}.parquet" for r in ("high", "low", "aggregate")}
    pruning = PruningSettings(head_percents=[0, 50], transfer_percents=percents)
    assert pruning.head_grid == grid
    sweeps.head_pruning(
        MODEL, task, SHOT, head_scores=inputs["importance"][0], heads_out=tmp_path / "job/heads.parquet",
        transfer=outs, srcc=inputs["srcc"], importance=inputs["importance"],
        aggregate=inputs["aggregate"], pruning=pruning, **COMMON,
    )  # fmt: skip
    sweeps.pruning_sweep(
        MODEL, task, SHOT, tmp_path / "alone/heads.parquet", head_scores=inputs["importance"][0], grid=grid, **COMMON
    )  # fmt: skip
    _same(tmp_path / "job/heads.parquet", tmp_path / "alone/heads.parquet")
    for ranking, out in outs.items():
        alone = tmp_path / f"alone/{ranking}.parquet"
        sweeps.transfer_sweep(
            MODEL, task, SHOT, ranking, alone, srcc=inputs["srcc"], importance=inputs["importance"],
            aggregate=inputs["aggregate"], percents=percents, **COMMON,
        )  # fmt: skip
        _same(out, alone)
    partners = {r: pd.read_parquet(p).ranking_task.iloc[0] for r, p in outs.items()}
    assert partners == {"high": "icl_city_country", "low": "icl_category", "aggregate": "aggregate"}
    assert not list(tmp_path.glob("job/*.partial.jsonl"))  # checkpoints removed once written


def test_head_job_checks_every_input_before_loading_the_model(inputs, tmp_path, monkeypatch) -> None:
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the inputs were checked")

    monkeypatch.setattr(sweeps, "_evaluator", no_model)
    bad = tmp_path / "bad.tsv"
    bad.write_text("method\ttask_a\n")
    with pytest.raises(StageInputError, match=r"bad\.tsv lacks columns"):
        sweeps.head_pruning(
            MODEL, TASKS[0], SHOT, head_scores=inputs["importance"][0], heads_out=tmp_path / "heads.parquet",
            transfer={"aggregate": tmp_path / "agg.parquet", "high": tmp_path / "high.parquet"},
            srcc=bad, importance=inputs["importance"], aggregate=inputs["aggregate"],
            pruning=PruningSettings(head_percents=[0], transfer_percents=[50]), **COMMON,
        )  # fmt: skip
    assert not list(tmp_path.glob("*.parquet"))


def test_random_control_is_reproducible_by_seed_and_shares_the_unpruned_point(
    inputs, tmp_path, count_evaluations
) -> None:
    """The random-ranking control: the same draws from the same seed (whatever the task or job), other
    draws from another seed; its 0% point is the own sweep's and is evaluated once."""
    shape = (LAYERS, HEADS)
    assert sweeps.random_ranking("head", shape, 1234, 0) == sweeps.random_ranking("head", shape, 1234, 0)
    assert sweeps.random_ranking("head", shape, 1234, 0) != sweeps.random_ranking("head", shape, 1234, 1)
    assert sweeps.random_ranking("head", shape, 1234, 0) != sweeps.random_ranking("head", shape, 99, 0)
    assert sorted(sweeps.random_ranking("ffn", (LAYERS,), 1234, 2)) == list(range(LAYERS))
    pruning = PruningSettings(head_percents=[0, 50], transfer_percents=[50], random_rankings=2)
    assert pruning.random_head_grid == [(0.0, 0.0), (50.0, 0.0)]
    random = {d: tmp_path / f"job/random/heads_{d}.parquet" for d in range(2)}
    sweeps.head_pruning(
        MODEL, TASKS[0], SHOT, head_scores=inputs["importance"][0], heads_out=tmp_path / "job/heads.parquet",
        transfer={}, srcc=inputs["srcc"], importance=inputs["importance"], aggregate=inputs["aggregate"],
        pruning=pruning, random=random, **COMMON,
    )  # fmt: skip
    assert len(count_evaluations) == 1 + 1 + 2  # own 0% and 50%; each draw's 50% (its 0% is shared)
    tables = [pd.read_parquet(p) for p in random.values()]
    assert [t.ranking_seed.unique().tolist() for t in tables] == [[0], [1]]
    assert set(tables[0].ranking) == {"random"}
    assert (
        tables[0].acc.iloc[0] == pd.read_parquet(tmp_path / "job/heads.parquet").acc.iloc[0]
    )  # 0%: same mask
    docs = pd.read_parquet(stages.docs_path(random[0]))
    assert set(docs.ranking_seed) == {0}
    # the same draw from the same seed gives the same table in another job
    again = tmp_path / "again/heads_0.parquet"
    sweeps.head_pruning(
        MODEL, TASKS[0], SHOT, head_scores=inputs["importance"][0], heads_out=tmp_path / "again/heads.parquet",
        transfer={}, srcc=inputs["srcc"], importance=inputs["importance"], aggregate=inputs["aggregate"],
        pruning=pruning, random={0: again}, **COMMON,
    )  # fmt: skip
    _same(random[0], again)
