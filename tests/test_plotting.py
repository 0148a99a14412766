"""Figures and Table 1 from synthetic result tables: files written, non-trivial, deterministic, checked input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from iclprune.reporting import plotting as P

TASKS = ["boolq", "copa", "rte"]
SHOTS = [0, 1, 5]
L, H = 4, 6


def _importance(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for variant in ("bansal", "michel"):
        for shot in SHOTS:
            mats = {t: rng.random((L, H)) for t in TASKS}
            mats["aggregate"] = np.mean(list(mats.values()), axis=0)
            for task, m in mats.items():
                rows += [(task, shot, variant, la, h, m[la, h]) for la in range(L) for h in range(H)]
    return pd.DataFrame(rows, columns=["task", "shot", "variant", "layer", "head", "score"])


def _oracle(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for task in TASKS:
        for shot in SHOTS:
            base = rng.uniform(0.5, 0.9)
            for layer in range(L):
                knocked = base - rng.uniform(-0.02, 0.1)
                rows.append((task, shot, layer, base, knocked, 100 * (base - knocked)))
    cols = ["task", "shot", "layer", "baseline_acc", "knocked_out_acc", "score"]
    return pd.DataFrame(rows, columns=cols)


SWEEP_COLS = ["task", "shot", "pct_heads", "pct_ffns", "n_heads_removed", "n_ffns_removed", "acc"]


def _sweeps(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for task in TASKS:
        for shot in SHOTS:
            base = rng.uniform(0.5, 0.9)
            for p in range(0, 100, 10):
                rows.append((task, shot, p, 0, p * L * H // 100, 0, base * (1 - (p / 100) ** 3)))
                rows.append((task, shot, 0, p, 0, p * L // 100, base * (1 - (p / 100) ** 2)))
    return pd.DataFrame(rows, columns=SWEEP_COLS)


def _grid(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for task in TASKS:
        for shot in SHOTS:
            base = rng.uniform(0.5, 0.9)
            for ph in (0, 30, 50, 70):
                for pf in (0, 20, 50):
                    acc = base * (1 - (ph / 100) ** 3) * (1 - (pf / 100) ** 2)
                    rows.append((task, shot, ph, pf, ph * L * H // 100, pf * L // 100, acc))
    return pd.DataFrame(rows, columns=SWEEP_COLS)


def _transfer(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for task in TASKS:
        others = [t for t in TASKS if t != task]
        for shot in SHOTS:
            base = rng.uniform(0.5, 0.9)
            for ranking, rtask in (
                ("self", task),
                ("high", others[0]),
                ("low", others[-1]),
                ("aggregate", "aggregate"),
            ):
                for p in (10, 30, 50, 70, 90):
                    acc = base * (1 - (p / 100) ** rng.uniform(2, 4))
                    rows.append((task, shot, p, 0, p * L * H // 100, 0, acc, ranking, rtask))
    return pd.DataFrame(rows, columns=[*SWEEP_COLS, "ranking", "ranking_task"])


def _srcc(rng: np.random.Generator) -> pd.DataFrame:
    names = [*TASKS, "aggregate"]
    rows = []
    for shot in SHOTS:
        m = rng.uniform(0.05, 0.8, (len(names), len(names)))
        m = (m + m.T) / 2
        np.fill_diagonal(m, 1.0)
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                p = 0.0 if i == j else (0.05 if m[i, j] < 0.2 else 1e-4)
                rows.append((shot, a, b, m[i, j], p))
    return pd.DataFrame(rows, columns=["shot", "task_a", "task_b", "srcc", "p_value"])


def _summary() -> pd.DataFrame:
    return pd.DataFrame(
        [(0, 1, 0.391234, 0.0012, 3), (0, 5, 0.37, 0.0009, 3), (1, 5, 0.41, 0.001, 3)],
        columns=["shot_a", "shot_b", "mean", "variance", "n_tasks"],
    )


def _induction(rng: np.random.Generator) -> pd.DataFrame:
    rows = [(la, h, rng.random() ** 4, 0.01, rng.random() ** 2, 0.02) for la in range(L) for h in range(H)]
    cols = ["layer", "head", "prefix_matching", "prefix_matching_var", "copying", "copying_var"]
    return pd.DataFrame(rows, columns=cols)


def _capacity(rng: np.random.Generator) -> pd.DataFrame:
    n = L * H
    rows = []
    for shot in SHOTS:
        for rtask in ["aggregate", *TASKS]:
            for kind in ("prefix_matching", "copying"):
                kept = np.cumsum(rng.random(n)[::-1])[::-1]
                rows += [(shot, rtask, kind, 100 * i / n, 100 * kept[i] / kept[0]) for i in range(n)]
    return pd.DataFrame(rows, columns=["shot", "ranking_task", "score_kind", "pct_pruned", "pct_retained"])


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    return {
        "importance": _importance(rng),
        "oracle": _oracle(rng),
        "sweeps": _sweeps(rng),
        "grid": _grid(rng),
        "transfer": _transfer(rng),
        "srcc": _srcc(rng),
        "summary": _summary(),
        "induction": _induction(rng),
        "capacity": _capacity(rng),
    }


CHANCE = {"boolq": 0.5, "copa": 0.5, "rte": 0.5}

# name -> (table key, call(table, stem), a column the function requires)
CASES: dict[str, tuple[str, Callable[[pd.DataFrame, Path], list[Path]], str]] = {
    "fig03": ("importance", lambda d, s: P.fig03_aggregate_heatmaps(d, s), "score"),
    "fig04": ("oracle", lambda d, s: P.fig04_ffn_oracle(d, s), "layer"),
    "fig05": ("sweeps", lambda d, s: P.fig05_head_pruning(d, s, chance=CHANCE), "pct_heads"),
    "fig06": ("sweeps", lambda d, s: P.fig06_ffn_pruning(d, s), "pct_ffns"),
    "fig07": ("grid", lambda d, s: P.fig07_combined_grid(d, s), "acc"),
    "fig08": ("srcc", lambda d, s: P.fig08_cross_task_srcc(d, s, shots=[0]), "srcc"),
    "fig15": ("srcc", lambda d, s: P.fig08_cross_task_srcc(d, s, shots=[1, 5]), "task_b"),
    "table1": ("summary", lambda d, s: P.table1_cross_shot(d, s), "variance"),
    "fig09_mean": ("transfer", lambda d, s: P.fig09_transfer(d, s, layout="mean"), "ranking"),
    "fig09_grid": (
        "transfer",
        lambda d, s: P.fig09_transfer(d, s, tasks=["copa"], chance=CHANCE),
        "ranking_task",
    ),
    "fig10": ("induction", lambda d, s: P.fig10_induction_heatmaps(d, s), "copying"),
    "fig11": ("capacity", lambda d, s: P.fig11_retained_capacity(d, s), "pct_retained"),
    "fig12": ("importance", lambda d, s: P.fig12_task_heatmaps(d, s, shot=0), "head"),
    "fig18": ("capacity", lambda d, s: P.fig18_retained_per_task(d, s, "prefix_matching"), "score_kind"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_figure_files_and_determinism(case: str, tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    key, call, _ = CASES[case]
    before = plt.get_fignums()
    paths = call(tables[key], tmp_path / "a" / case)
    pdf, png = paths[0], paths[1]
    assert (pdf.name, png.name) == (f"{case}.pdf", f"{case}.png")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert png.stat().st_size > 5_000
    assert plt.get_fignums() == before, "figure left open"
    again = call(tables[key], tmp_path / "b" / case)
    assert again[0].read_bytes() == pdf.read_bytes()
    assert again[1].read_bytes() == png.read_bytes()
    # no creation date or software tag that would make rebuilt figures differ
    assert b"CreationDate" not in pdf.read_bytes()
    assert b"Software" not in png.read_bytes()


@pytest.mark.parametrize("case", list(CASES))
def test_missing_column_is_named(case: str, tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    key, call, column = CASES[case]
    with pytest.raises(ValueError, match=column):
        call(tables[key].drop(columns=[column]), tmp_path / case)
    assert not (tmp_path / f"{case}.pdf").exists()


def test_table1_writes_numbers(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    paths = P.table1_cross_shot(tables["summary"], tmp_path / "t1")
    assert [p.suffix for p in paths] == [".pdf", ".png", ".tsv", ".md"]
    tsv = pd.read_csv(paths[2], sep="\t")
    pd.testing.assert_frame_equal(tsv, tables["summary"], check_dtype=False)
    md = paths[3].read_text().splitlines()
    assert md[0] == "| shots | mean SRCC (variance) | n tasks |"
    assert "| 0–1 | 0.39 (0.0012) | 3 |" in md
    assert "| 0–5 | 0.37 (0.0009) | 3 |" in md


def test_table1_method_column(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    s = tables["summary"]
    both = pd.concat([s.assign(method="spearman"), s.assign(method="paper_argsort", mean=s["mean"] / 2)])
    paths = P.table1_cross_shot(both, tmp_path / "t1")
    md = paths[3].read_text()
    assert md.startswith("| method | shots |")
    assert "| paper_argsort | 1–5 | 0.20 (0.001) | 3 |" in md


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda t, s: P.fig03_aggregate_heatmaps(t["importance"], s, variant="nope"), "variant='nope'"),
        (lambda t, s: P.fig03_aggregate_heatmaps(t["importance"], s, shots=[3]), r"shot in \[3\]"),
        (lambda t, s: P.fig12_task_heatmaps(t["importance"], s, shot=7), "shot=7"),
        (lambda t, s: P.fig12_task_heatmaps(t["importance"], s, shot=0, tasks=["wsc"]), "wsc"),
        (lambda t, s: P.fig05_head_pruning(t["sweeps"], s, chance={"copa": 50}), "chance"),
        (lambda t, s: P.fig05_head_pruning(t["sweeps"].assign(pct_ffns=10), s), "pct_ffns == 0"),
        (lambda t, s: P.fig11_retained_capacity(t["capacity"], s, ranking_task="wsc"), "ranking_task='wsc'"),
        (lambda t, s: P.fig18_retained_per_task(t["capacity"], s, "induction"), "score_kind='induction'"),
        (lambda t, s: P.fig09_transfer(t["transfer"], s, layout="rows"), "layout"),
        (lambda t, s: P.fig09_transfer(t["transfer"], s, tasks=["wsc"]), "wsc"),
        (lambda t, s: P.fig09_transfer(t["transfer"], s, rankings=["random"]), "no rows"),
        (lambda t, s: P.fig08_cross_task_srcc(t["srcc"], s, tasks=["copa", "wsc"]), "wsc"),
        (lambda t, s: P.fig10_induction_heatmaps(pd.concat([t["induction"]] * 2), s), "duplicate"),
        (lambda t, s: P.fig04_ffn_oracle(t["oracle"].iloc[:0], s), "empty"),
        (lambda t, s: P.table1_cross_shot([1, 2], s), "DataFrame"),
    ],
)
def test_bad_selection_raises(call: Any, match: str, tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=match):
        call(tables, tmp_path / "x")
    assert plt.get_fignums() == before


def test_combined_grid_rejects_uneven_cells(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    g = tables["grid"]
    g = g[~((g["task"] == "copa") & (g["pct_heads"] == 70) & (g["pct_ffns"] == 50))]
    with pytest.raises(ValueError, match="not be comparable"):
        P.fig07_combined_grid(g, tmp_path / "g")


def test_ood_transfer_self_and_aggregate_only(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    t = tables["transfer"]
    ood = t[t["ranking"].isin(["self", "aggregate"])]
    paths = P.fig09_transfer(ood, tmp_path / "ood", tasks=["boolq", "rte"], shots=[0, 5])
    assert all(p.exists() for p in paths)


def _random_control(sweeps: pd.DataFrame, draws: int = 3) -> pd.DataFrame:
    """Random-ranking sweeps: every task and shot, each draw a little worse than the ranked sweep."""
    frames = [
        sweeps.assign(acc=sweeps.acc * (0.7 - 0.05 * d), ranking="random", ranking_seed=d)
        for d in range(draws)
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("figure", ["fig05", "fig06", "fig09"])
def test_the_random_control_is_drawn_as_a_band(
    figure: str, tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """Figs 5, 6 and 9 draw the random-ranking control as one shaded band per panel, labelled with the
    number of draws; without it they draw none."""
    import matplotlib.pyplot as plt

    random = _random_control(tables["sweeps"])
    drawn: list = []
    real = plt.Axes.fill_between

    def spy(ax, *args, **kwargs):
        drawn.append(kwargs.get("label"))
        return real(ax, *args, **kwargs)

    draw = {
        "fig05": lambda r: P.fig05_head_pruning(tables["sweeps"], tmp_path / "f5", chance=CHANCE, random=r),
        "fig06": lambda r: P.fig06_ffn_pruning(tables["sweeps"], tmp_path / "f6", random=r),
        "fig09": lambda r: P.fig09_transfer(tables["transfer"], tmp_path / "f9", layout="mean", random=r),
    }[figure]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plt.Axes, "fill_between", spy)
        paths = draw(random)
        assert drawn == ["random ranking (3 draws)"] * len(SHOTS)
        drawn.clear()
        draw(None)
        assert drawn == []
    assert all(p.stat().st_size > 0 for p in paths)
    with pytest.raises(ValueError, match="ranking_seed"):
        draw(random.drop(columns="ranking_seed"))
