"""Studies keep their outputs apart (results/<study>/<stage>/<model>/...), and a study of several models
makes the scale table, claims and figures (issue 19). The scale study here is three random tiny Llama
models of growing depth and width (config/tiny_scale.yaml): it shows the machinery, never a finding."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import snakemake

from iclprune.workflow.study import StudyError, scale_series, study_models

SCALE = ["tiny-s", "tiny-m", "tiny-l"]
SCALE_FIGURES = ["scale_removable", "scale_induction", "scale_agreement", "scale_depth"]
# What the scale study must make here: each model's claims and head-pruning figure, and every scale
# output (the other per-model figures are the tiny study's to test; 60 plotting jobs less).
SCALE_TARGETS = [
    *(f"results/tiny_scale/claims/{m}.tsv" for m in SCALE),
    *(f"results/tiny_scale/figures/{m}/fig05_head_pruning.pdf" for m in SCALE),
    "results/tiny_scale/scale/n_parameters/claims.tsv",
    *(f"results/tiny_scale/scale/n_parameters/{f}.pdf" for f in SCALE_FIGURES),
]


def _config(**over) -> dict:
    base = {
        "study": "s",
        "model": "a",
        "models": {"a": {"source": "tiny:llama"}, "b": {"source": "tiny:opt"}},
    }
    return base | over


def test_study_models_accepts_one_label_or_a_list() -> None:
    assert study_models(_config()) == ["a"]
    assert study_models(_config(model=["b", "a"])) == ["b", "a"]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"model": "c"}, "model 'c' is not defined under `models` (a, b)"),
        ({"model": ["a", "c", "d"]}, "models c, d are not defined under `models` (a, b)"),
        ({"model": ["a", "a"]}, "names ['a'] twice"),
        ({"model": []}, "expected a label of `models` or a non-empty list"),
        ({"study": "../x"}, "study '../x': expected a name of letters"),
        ({"study": None}, "study None"),
    ],
)
def test_a_bad_study_is_named(over: dict, message: str) -> None:
    with pytest.raises(StudyError) as err:
        study_models(_config(**over))
    assert message in str(err.value)


def test_scale_series_sizes_and_checkpoints_apart() -> None:
    models = {
        "s": {"source": "org/m-s"},
        "l": {"source": "org/m-l"},
        "l-1k": {"source": "org/m-l", "step": 1000},
        "l-8k": {"source": "org/m-l", "step": 8000},
    }
    config = {"study": "x", "model": list(models), "models": models}
    assert scale_series(config) == {"n_parameters": ["s", "l"], "step": ["l-1k", "l-8k"]}
    assert scale_series(config | {"model": ["s", "l-1k"]}) == {}  # one of each: no series
    mixed = models | {"s-1k": {"source": "org/m-s", "step": 1000}}
    with pytest.raises(StudyError, match=r"checkpoints \(models with `step`\) of several repositories"):
        scale_series({"study": "x", "model": list(mixed), "models": mixed})


@pytest.fixture(scope="module")
def scale_run(root: Path, tiny_run, tmp_path_factory: pytest.TempPathFactory):
    """The tiny scale study run in a copy of the checkout that already ran the tiny study."""
    assert tiny_run.process.returncode == 0, tiny_run.process.stderr[-3000:]
    work = tmp_path_factory.mktemp("two_studies") / "checkout"
    shutil.copytree(tiny_run.workdir, work, symlinks=True)
    args = ("--configfile", str(root / "config/tiny.yaml"), str(root / "config/tiny_scale.yaml"))
    done = snakemake(root, work, *args, "--cores", "2", *SCALE_TARGETS)
    return work, args, done


@pytest.mark.slow
def test_two_studies_in_one_checkout_keep_their_own_outputs(root: Path, scale_run) -> None:
    work, args, done = scale_run
    assert done.returncode == 0, done.stderr[-4000:]
    results = work / "results"
    tiny_figures = sorted(p.name for p in (results / "tiny/figures/tiny-llama").glob("*.pdf"))
    assert len(tiny_figures) >= 20
    claims = {"tiny-llama": pd.read_csv(results / "tiny/claims/tiny-llama.tsv", sep="\t")}
    for model in SCALE:
        figures = sorted(p.name for p in (results / "tiny_scale/figures" / model).glob("*.pdf"))
        assert figures == ["fig05_head_pruning.pdf"], model
        assert (results / "tiny/figures/tiny-llama/fig05_head_pruning.pdf").read_bytes() != (
            results / "tiny_scale/figures" / model / "fig05_head_pruning.pdf"
        ).read_bytes()
        claims[model] = pd.read_csv(results / f"tiny_scale/claims/{model}.tsv", sep="\t")
        assert claims[model].config.iloc[0].endswith(f", model {model}")
    # the studies' tables differ (different models), and neither overwrote the other
    ours = {m: c.set_index("claim").ours for m, c in claims.items()}
    assert not ours["tiny-llama"].equals(ours["tiny-m"].reindex(ours["tiny-llama"].index))
    assert not ours["tiny-s"].equals(ours["tiny-l"])
    # a second run of either study has nothing to do
    for config, targets in ((args[:2], []), (args, SCALE_TARGETS)):
        again = snakemake(root, work, *config, "-n", *targets)
        assert again.returncode == 0, again.stderr[-2000:]
        assert "Nothing to be done" in again.stdout + again.stderr, config


@pytest.mark.slow
def test_the_scale_study_makes_its_table_claims_and_figures(scale_run) -> None:
    work, _, done = scale_run
    assert done.returncode == 0, done.stderr[-4000:]
    base = work / "results/tiny_scale/scale"
    table = pd.read_csv(base / "scale.tsv", sep="\t")
    sizes = table.groupby("model", sort=False).n_parameters.first()
    assert list(sizes.index) == SCALE
    assert sizes.is_monotonic_increasing  # growing depth and width
    assert sizes.nunique() == 3
    for card in SCALE:  # the counts come from each model's card
        n = json.loads((work / f"results/tiny_scale/models/{card}/card.json").read_text())["n_parameters"]
        assert sizes[card] == n
    assert {"heads_removable", "ffns_removable", "prefix_matching_top30", "cross_task_srcc"} <= set(
        table.measure
    )
    claims = pd.read_csv(base / "n_parameters/claims.tsv", sep="\t")
    grows = claims[claims.claim.str.contains("grows with parameter count")]
    assert len(grows) == 2 * 2  # heads and FFNs × the two sweep shots
    assert set(grows.verdict) <= {"reproduced", "not reproduced", "undecided", "not assessed"}
    for name in SCALE_FIGURES:
        for suffix in (".pdf", ".png"):
            assert (base / "n_parameters" / f"{name}{suffix}").stat().st_size > 0
    assert not (base / "step").exists()  # no checkpoints in this study


def _planned(root: Path, work: Path) -> int:
    done = snakemake(root, work, "--configfile", str(root / "config/paper.yaml"), "-n", "--quiet", "rules")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return int(next(line.split()[-1] for line in done.stdout.splitlines() if line.startswith("total")))


@pytest.mark.slow
def test_the_paper_dry_run_plans_its_whole_study_beside_other_studies(
    root: Path, scale_run, tmp_path: Path
) -> None:
    """Another study's results, with or without Snakemake's metadata, never count as the paper's."""
    work, _, _ = scale_run
    empty, copied = tmp_path / "empty", tmp_path / "copied"
    for d in (empty, copied):
        (d / "config").mkdir(parents=True)
        shutil.copy(work / "config/config.yaml", d / "config/config.yaml")
    shutil.copytree(work / "results", copied / "results")  # results moved from another machine
    counts = {name: _planned(root, d) for name, d in (("ran", work), ("copied", copied), ("empty", empty))}
    assert counts["ran"] == counts["copied"] == counts["empty"] > 300, counts  # the full job list


def test_the_workflow_draws_every_scale_figure_the_package_has(root: Path) -> None:
    import ast

    from iclprune.reporting.plotting.scale import SCALE_FIGURES as PACKAGE

    text = (root / "rules/common.smk").read_text()
    listed = ast.literal_eval(re.search(r"^SCALE_FIGURES = (\[.*?\])$", text, re.M | re.S)[1])
    assert tuple(listed) == PACKAGE == tuple(SCALE_FIGURES)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "series"), [("opt_scale", ["n_parameters"]), ("pythia_scale", ["n_parameters", "step"])]
)
def test_the_scale_studies_plan_every_model_with_its_own_gpus(
    root: Path, tmp_path: Path, config: str, series
) -> None:
    """The dry run of a cluster scale study, offline: every model's whole study, the scale jobs per series,
    and each job sized for its own model (a small model's importance job asks for fewer GPUs)."""
    (tmp_path / "config").mkdir()
    shutil.copy(root / "config/config.yaml", tmp_path / "config/config.yaml")
    done = snakemake(root, tmp_path, "--configfile", str(root / f"config/{config}.yaml"), "-n")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    from test_real_data_workflow import dry_run_jobs

    jobs = [(j["rule"], j["wildcards"], j["resources"]) for j in dry_run_jobs(done.stdout)]
    labels = study_models(yaml.safe_load((root / f"config/{config}.yaml").read_text()))
    for label in labels:
        rules = {rule for rule, wc, _ in jobs if wc.get("model") == label}
        assert {"download_model", "head_importance", "head_pruning", "claims"} <= rules, label
    assert sorted(wc["axis"] for rule, wc, _ in jobs if rule == "scale_claims") == sorted(series)
    gpus = {wc["model"]: int(res["gpu"]) for rule, wc, res in jobs if rule == "head_importance"}
    assert set(gpus) == set(labels)
    small, large = labels[0], max(labels, key=lambda m: gpus[m])
    assert gpus[small] == 1
    if config == "opt_scale":
        assert large == "opt-66b"
        assert gpus[large] > 1
