"""Figures and Table 1 from synthetic result tables: files written, non-trivial, deterministic, checked input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from iclprune.analysis.bootstrap import Bootstrap, sweep_intervals
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


# --------------------------------------------------------------------------------------------------
# bootstrap intervals from the per-document tables
# --------------------------------------------------------------------------------------------------

N_DOCS = 40
BOOT = Bootstrap(n_boot=200, seed=5)


def _paired(summary: pd.DataFrame, keys: tuple[str, ...] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A summary table and its per-document rows ``task, shot, [keys…], pct_heads, pct_ffns, doc_id, acc``:
    ``N_DOCS`` documents per (task, shot, keys…), each correct where its uniform draw (the same at every
    point: paired) is below the summary's accuracy; the returned summary's ``acc`` is then the mean of its
    documents, as a sweep writes it."""
    rng = np.random.default_rng(9)
    cols = ["task", "shot", *keys, "pct_heads", "pct_ffns"]
    draws: dict[tuple, np.ndarray] = {}
    rows = []
    for point in summary[[*cols, "acc"]].drop_duplicates(cols).itertuples(index=False):
        u = draws.setdefault(tuple(point[:-3]), rng.random(N_DOCS))
        frame = pd.DataFrame({"doc_id": np.arange(N_DOCS), "acc": (u < point[-1]).astype(float)})
        for i, col in enumerate(cols):
            frame.insert(i, col, point[i])
        rows.append(frame)
    docs = pd.concat(rows, ignore_index=True)
    means = docs.groupby(cols, as_index=False)["acc"].mean()
    return summary.drop(columns="acc").merge(means, on=cols, how="left"), docs


@pytest.fixture(scope="module")
def paired(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    sweeps, sweep_docs = _paired(tables["sweeps"])
    transfer, transfer_docs = _paired(tables["transfer"], ("ranking",))
    return {"sweeps": sweeps, "sweep_docs": sweep_docs, "transfer": transfer, "transfer_docs": transfer_docs}


class _Spy:
    """Records the artists ``fill_between`` (labelled bands) and ``errorbar`` draw while active."""

    def __init__(self, mp: pytest.MonkeyPatch) -> None:
        self.bands: list[tuple[str | None, Any]] = []
        self.bars: list[tuple[Any, Any, str | None]] = []  # (colour, segments, label)
        self.notes: list[str] = []  # legend entries without a handle
        fill, bar, plot = plt.Axes.fill_between, plt.Axes.errorbar, plt.Axes.plot

        def fill_spy(ax, *args, **kwargs):
            out = fill(ax, *args, **kwargs)
            self.bands.append((kwargs.get("label"), out))
            return out

        def bar_spy(ax, *args, **kwargs):
            out = bar(ax, *args, **kwargs)
            self.bars.append((kwargs.get("ecolor"), out.lines[2][0].get_segments(), kwargs.get("label")))
            return out

        def plot_spy(ax, *args, **kwargs):
            if kwargs.get("linestyle") == "none" and kwargs.get("label"):
                self.notes.append(kwargs["label"])
            return plot(ax, *args, **kwargs)

        mp.setattr(plt.Axes, "fill_between", fill_spy)
        mp.setattr(plt.Axes, "errorbar", bar_spy)
        mp.setattr(plt.Axes, "plot", plot_spy)

    def interval_bands(self) -> list[Any]:
        return [band for label, band in self.bands if label and "bootstrap" in label]

    def labels(self) -> list[str]:
        return [label for label, *_ in self.bands if label] + [b[2] for b in self.bars if b[2]]


def _band_limits(band: Any) -> pd.DataFrame:
    """x → lowest and highest y of a fill_between band's outline (``x, low, high``)."""
    v = np.concatenate([p.vertices for p in band.get_paths()])
    return pd.DataFrame(v, columns=["x", "y"]).groupby("x")["y"].agg(low="min", high="max").reset_index()


def _assert_bars(segments: Any, want: pd.DataFrame, x: str, shift: float = 0.0) -> None:
    """Error bars (one segment per point) at ``want[x] + shift`` spanning ``acc_low…acc_high`` in percent."""
    np.testing.assert_allclose([s[0, 0] for s in segments], want[x] + shift)
    np.testing.assert_allclose([s[:, 1].min() for s in segments], 100 * want["acc_low"])
    np.testing.assert_allclose([s[:, 1].max() for s in segments], 100 * want["acc_high"])


@pytest.mark.parametrize(
    ("figure", "x", "other"), [("fig05", "pct_heads", "pct_ffns"), ("fig06", "pct_ffns", "pct_heads")]
)
def test_the_mean_band_is_the_paired_bootstrap_interval(
    figure: str, x: str, other: str, paired: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """Per shot, the band around the mean line spans exactly ``sweep_intervals``' ``acc_low…acc_high`` (in
    percent) of the shot's documents, and each task's error bars span that task's own interval."""
    sweeps, docs = paired["sweeps"], paired["sweep_docs"]
    fig = {"fig05": P.fig05_head_pruning, "fig06": P.fig06_ffn_pruning}[figure]
    with pytest.MonkeyPatch.context() as mp:
        spy = _Spy(mp)
        fig(sweeps, tmp_path / figure, docs=docs, bootstrap=BOOT)
    bands = spy.interval_bands()
    assert len(bands) == len(SHOTS)
    assert (
        spy.labels()
        == [f"95% bootstrap interval ({N_DOCS} docs per task)\n(band: mean; bars: each task)"] * 3
    )
    for shot, band in zip(SHOTS, bands, strict=True):
        d = docs[(docs["shot"] == shot) & (docs[other] == 0)]
        want = sweep_intervals(d, x, settings=BOOT)
        got = _band_limits(band)
        np.testing.assert_allclose(got["x"], want[x])
        np.testing.assert_allclose(got["low"], 100 * want["acc_low"])
        np.testing.assert_allclose(got["high"], 100 * want["acc_high"])
        assert (want["acc_low"] < want["acc_high"]).any()  # a real band, not a line
    assert len(spy.bars) == len(SHOTS) * len(TASKS)  # one series of bars per task and shot
    copa = docs[(docs["task"] == "copa") & (docs["shot"] == SHOTS[0]) & (docs[other] == 0)]
    _assert_bars(spy.bars[TASKS.index("copa")][1], sweep_intervals(copa, x, settings=BOOT), x)


def test_the_band_is_deterministic_for_a_seed(paired: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    """The same seed draws the same band (and the same files); another seed draws another band."""
    sweeps, docs = paired["sweeps"], paired["sweep_docs"]
    limits = []
    for run, seed in enumerate((5, 5, 6)):
        with pytest.MonkeyPatch.context() as mp:
            spy = _Spy(mp)
            paths = P.fig05_head_pruning(
                sweeps, tmp_path / str(run) / "f5", docs=docs, bootstrap=Bootstrap(n_boot=200, seed=seed)
            )
        limits.append(pd.concat([_band_limits(b) for b in spy.interval_bands()], ignore_index=True))
        if run == 1:
            assert paths[0].read_bytes() == (tmp_path / "0" / "f5.pdf").read_bytes()
            assert paths[1].read_bytes() == (tmp_path / "0" / "f5.png").read_bytes()
    pd.testing.assert_frame_equal(limits[0], limits[1])
    assert not limits[0].equals(limits[2])


def test_intervals_in_chunks_equal_one_call(paired: dict[str, pd.DataFrame]) -> None:
    """Figure jobs run in little memory: the points go to the bootstrap a few at a time, with the same
    intervals as one call over every point."""
    from iclprune.reporting.plotting import _style

    docs = paired["sweep_docs"]
    docs = docs[(docs["shot"] == 0) & (docs["pct_ffns"] == 0)]
    whole = sweep_intervals(docs, "pct_heads", settings=BOOT)[["pct_heads", "acc", "acc_low", "acc_high"]]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_style, "RESAMPLE_BYTES", 1)  # one point per call
        chunked = _style._intervals(docs, "pct_heads", BOOT, "f")
        pd.testing.assert_frame_equal(chunked, whole)
        unpaired = docs[(docs["task"] != "copa") | (docs["pct_heads"] != 30) | (docs["doc_id"] > 0)]
        with pytest.raises(ValueError, match=r"f: task 'copa': point 30 lacks documents"):
            _style._intervals(unpaired, "pct_heads", BOOT, "f")


@pytest.mark.parametrize("figure", ["fig05", "fig09"])
def test_without_docs_no_interval_is_drawn(
    figure: str, tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        spy = _Spy(mp)
        if figure == "fig05":
            paths = P.fig05_head_pruning(tables["sweeps"], tmp_path / "f", chance=CHANCE)
        else:
            paths = P.fig09_transfer(tables["transfer"], tmp_path / "f", layout="mean")
    assert spy.interval_bands() == []
    assert spy.bars == []
    assert all(p.stat().st_size > 5_000 for p in paths)


@pytest.mark.parametrize("layout", ["mean", "grid"])
def test_transfer_points_carry_bootstrap_error_bars(
    layout: str, paired: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """Fig 9: every ranking's points carry error bars spanning the bootstrap interval of the plotted value
    (the mean over target tasks, or the panel's task), side by side around the point's x."""
    from iclprune.reporting.plotting.transfer import DODGE

    transfer, docs = paired["transfer"], paired["transfer_docs"]
    tasks = None if layout == "mean" else ["copa"]
    with pytest.MonkeyPatch.context() as mp:
        spy = _Spy(mp)
        P.fig09_transfer(transfer, tmp_path / "f9", layout=layout, tasks=tasks, docs=docs, bootstrap=BOOT)
    rankings = ["self", "high", "low", "aggregate"]
    assert len(spy.bars) == len(SHOTS) * len(rankings)
    assert spy.labels() == [f"95% bootstrap interval ({N_DOCS} docs per task)"] * len(SHOTS)
    for i, ranking in enumerate(rankings):
        d = docs[(docs["shot"] == SHOTS[-1]) & (docs["ranking"] == ranking)]
        d = d if tasks is None else d[d["task"].isin(tasks)]
        color, segments, _ = spy.bars[len(rankings) * (len(SHOTS) - 1) + i]
        assert color == P.RANKING_STYLE[ranking]["color"]
        shift = DODGE * (i - (len(rankings) - 1) / 2)
        _assert_bars(segments, sweep_intervals(d, "pct_heads", settings=BOOT), "pct_heads", shift)


def test_a_task_scored_by_another_metric_gets_no_interval(
    paired: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """A task whose plotted accuracy is not the mean of its documents' ``acc`` (ReCoRD's em: no ``acc`` in
    its documents; MultiRC's acc_all: another value) gets no bars, and the mean gets no band (it would
    leave that task out); the legend says so. Fig 9 drops the bars of the affected (task, ranking)s."""
    sweeps, docs = paired["sweeps"], paired["sweep_docs"].copy()
    docs.loc[docs["task"] == "copa", "acc"] = np.nan  # no per-document accuracy
    docs.loc[(docs["task"] == "rte") & (docs["doc_id"] == 0), "acc"] = 0.5  # another per-document metric
    with pytest.MonkeyPatch.context() as mp:
        spy = _Spy(mp)
        P.fig05_head_pruning(sweeps, tmp_path / "f5", docs=docs, bootstrap=BOOT)
    assert spy.interval_bands() == []
    assert [color for color, *_ in spy.bars] == [P._style._task_colors(TASKS)["boolq"]] * len(SHOTS)
    note = f"95% bootstrap interval ({N_DOCS} docs per task)\n(bars: each task)\nnone for copa, rte"
    assert [label.startswith(note) for label in spy.labels()] == [True] * len(SHOTS)

    transfer, tdocs = paired["transfer"], paired["transfer_docs"].copy()
    tdocs.loc[(tdocs["task"] == "copa") & (tdocs["ranking"] == "low"), "acc"] = np.nan
    with pytest.MonkeyPatch.context() as mp:
        spy = _Spy(mp)
        P.fig09_transfer(transfer, tmp_path / "f9", layout="mean", docs=tdocs, bootstrap=BOOT)
        assert len(spy.bars) == len(SHOTS) * 3  # the mean over tasks of "low" includes copa: no bars
        spy.bars.clear()
        P.fig09_transfer(transfer, tmp_path / "g9", tasks=["copa", "rte"], docs=tdocs, bootstrap=BOOT)
        assert len(spy.bars) == len(SHOTS) * (3 + 4)  # copa's "low" panel series only
        assert spy.notes == []
        spy.bars.clear()
        tdocs.loc[tdocs["task"] == "copa", "acc"] = np.nan  # every ranking of copa: no bars in the mean
        P.fig09_transfer(transfer, tmp_path / "h9", layout="mean", docs=tdocs, bootstrap=BOOT)
        assert spy.bars == []
        assert spy.notes == ["no bootstrap interval: copa\n(score not a mean of per-document acc)"] * 3


@pytest.mark.parametrize(
    ("figure", "damage", "match"),
    [
        ("fig05", "drop_some", "point 30.0 lacks documents"),
        ("fig05", "drop_point", "no documents for .*'pct_heads': 30.0"),
        ("fig05", "drop_column", "per-document table.*doc_id"),
        ("fig09", "drop_some", "ranking 'low'.*point 30.0 lacks documents"),
        ("fig09", "drop_point", "no documents for .*'ranking': 'low'"),
    ],
)
def test_docs_lacking_documents_raise(
    figure: str, damage: str, match: str, paired: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """A plotted point without documents, or a point of a task with fewer documents than its other
    points (no longer paired), is a ValueError naming the figure and the point; no figure is left open."""
    if figure == "fig05":
        table, docs = paired["sweeps"], paired["sweep_docs"]
        hit = (docs["task"] == "copa") & (docs["pct_heads"] == 30) & (docs["pct_ffns"] == 0)
    else:
        table, docs = paired["transfer"], paired["transfer_docs"]
        hit = (docs["task"] == "copa") & (docs["pct_heads"] == 30) & (docs["ranking"] == "low")
    hit &= docs["shot"] == 1
    docs = {
        "drop_some": docs[~(hit & (docs["doc_id"] < 3))],
        "drop_point": docs[~hit],
        "drop_column": docs.drop(columns="doc_id"),
    }[damage]
    draw = {
        "fig05": lambda: P.fig05_head_pruning(table, tmp_path / "f", docs=docs, bootstrap=BOOT),
        "fig09": lambda: P.fig09_transfer(
            table, tmp_path / "f", layout="grid", tasks=["copa"], docs=docs, bootstrap=BOOT
        ),
    }[figure]
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=match):
        draw()
    assert plt.get_fignums() == before
    assert not (tmp_path / "f.pdf").exists()


def test_builders_read_the_docs_beside_the_sweeps(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    """make_figure's fig05/fig09 read ``x.docs.parquet`` beside each input ``x.parquet`` and the seed from
    the ``seed`` option; a missing companion is an error naming it."""
    from iclprune.core.io import StageInputError
    from iclprune.reporting import figures

    sweeps, transfer = tables["sweeps"], tables["transfer"]
    heads = sweeps[sweeps["pct_ffns"] == 0].drop_duplicates(["task", "shot", "pct_heads"])
    own, other = [], []
    for task in TASKS:
        for kind, table, keys, files in (
            ("heads", heads, (), own),
            ("transfer", transfer[transfer["ranking"] != "self"], ("ranking",), other),
        ):
            part, docs = _paired(table[table["task"] == task], keys)
            path = tmp_path / task / f"{kind}.parquet"
            path.parent.mkdir(exist_ok=True)
            part.to_parquet(path)
            docs.assign(loglik=[[-1.0, -2.0]] * len(docs)).to_parquet(
                tmp_path / task / f"{kind}.docs.parquet"
            )
            files.append(str(path))
    seen: list[Bootstrap] = []
    real = P.fig05_head_pruning

    def spy(*args: Any, **kwargs: Any) -> list[Path]:
        seen.append(kwargs["bootstrap"])
        assert len(kwargs["docs"]) == len(heads) * N_DOCS
        assert "loglik" not in kwargs["docs"].columns
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(P, "fig05_head_pruning", spy)
        out = figures.make_figure("fig05", {"sweeps": own}, tmp_path / "f5", seed=77)
        assert seen == [Bootstrap(seed=77)]
        figures.make_figure("fig05", {"sweeps": own}, tmp_path / "f5b")
        assert seen[-1] == Bootstrap()
    assert all(p.exists() for p in out)
    inputs = {"own": own, "other": other}
    with pytest.MonkeyPatch.context() as mp:
        bars = _Spy(mp).bars
        out = figures.make_figure(
            "fig09", inputs, tmp_path / "f16", percents=[10, 30, 50, 70, 90], layout="grid", tasks=["copa"]
        )
    assert len(bars) == len(SHOTS) * 4  # self (from the head sweeps) and the three transfer rankings
    assert all(p.exists() for p in out)
    (tmp_path / "rte" / "heads.docs.parquet").unlink()
    with pytest.raises(StageInputError, match=r"rte/heads\.docs\.parquet"):
        figures.make_figure("fig05", {"sweeps": own}, tmp_path / "f5c")
