"""The cost of a study of several models: OPT and Pythia geometry offline, one estimate per model and a
total, the two scale configs, the README block, and the single-model output kept as it was."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from iclprune.model.footprint import KNOWN_CONFIGS, OPT_SIZES, PYTHIA_SIZES, config_from_dict, model_size
from iclprune.workflow.cli import main
from iclprune.workflow.cost import (
    STAGES,
    CostError,
    estimate,
    estimate_study,
    load_config,
    model_geometry,
    render,
    render_study,
    write_readme_block,
)
from iclprune.workflow.study import scale_series, study_models

ROOT = Path(__file__).resolve().parents[1]

# Total parameters published with the Pythia models (Biderman et al. 2023; the model cards' table)
PYTHIA_PARAMETERS = {
    "70m": 70_426_624, "160m": 162_322_944, "410m": 405_334_016, "1b": 1_011_781_632,
    "1.4b": 1_414_647_808, "2.8b": 2_775_208_960, "6.9b": 6_857_302_016, "12b": 11_846_072_320,
}  # fmt: skip
# OPT: the facebook/opt-* models' parameter counts (input and output embeddings tied, counted once)
OPT_PARAMETERS = {
    "125m": 125_239_296, "350m": 331_196_416, "1.3b": 1_315_758_080, "2.7b": 2_651_596_800,
    "6.7b": 6_658_473_984, "13b": 12_853_473_280, "30b": 29_974_540_288, "66b": 65_719_701_504,
}  # fmt: skip


@pytest.fixture(scope="module")
def opt_config() -> dict:
    return load_config(ROOT / "config/opt_scale.yaml")


@pytest.fixture(scope="module")
def pythia_config() -> dict:
    return load_config(ROOT / "config/pythia_scale.yaml")


@pytest.fixture(scope="module")
def opt_study(opt_config: dict):
    return estimate_study(opt_config)


@pytest.fixture(scope="module")
def pythia_study(pythia_config: dict):
    return estimate_study(pythia_config)


# ------------------------------------------------------------------------------------------- geometry
@pytest.mark.parametrize("size", list(PYTHIA_SIZES))
def test_pythia_geometry_matches_the_published_sizes(size: str) -> None:
    layers, heads, hidden, vocab = PYTHIA_SIZES[size]
    for repo in (f"EleutherAI/pythia-{size}", f"EleutherAI/pythia-{size}-deduped"):
        g = model_geometry({"source": repo, "dtype": "float16"})
        assert (g.n_layers, g.n_heads, g.d_model, g.max_length) == (layers, heads, hidden, 2048)
        assert g.n_parameters == PYTHIA_PARAMETERS[size], repo  # untied embeddings, padded vocabulary
        assert g.vocab_size == vocab
    fields = KNOWN_CONFIGS[f"EleutherAI/pythia-{size}"]
    assert fields["intermediate_size"] == 4 * hidden
    assert fields["tie_word_embeddings"] is False
    assert config_from_dict(fields).rope_parameters["partial_rotary_factor"] == 0.25
    assert vocab == (50304 if size not in ("6.9b", "12b") else {"6.9b": 50432, "12b": 50688}[size])


def test_opt_geometry_comes_from_the_shared_table() -> None:
    """cost and placement read one table: the same architecture, the same counts as the OPT models."""
    for size, (layers, heads, hidden) in OPT_SIZES.items():
        spec = {"source": f"facebook/opt-{size}", "dtype": "float16"}
        g = model_geometry(spec)
        assert (g.n_layers, g.n_heads, g.d_model, g.vocab_size) == (layers, heads, hidden, 50272)
        assert g.n_parameters == OPT_PARAMETERS[size], size
        assert g.source == f"facebook/opt-{size} (OPT paper, Table 1)"
        assert model_size(spec).config.to_dict() == config_from_dict(KNOWN_CONFIGS[spec["source"]]).to_dict()
    assert KNOWN_CONFIGS["facebook/opt-350m"]["word_embed_proj_dim"] == 512  # projected embeddings
    assert KNOWN_CONFIGS["facebook/opt-350m"]["do_layer_norm_before"] is False  # the one post-LN OPT


def test_a_checkpoint_has_its_final_models_geometry(pythia_config: dict) -> None:
    final = model_geometry(pythia_config["models"]["pythia-1.4b"])
    for label in ("pythia-1.4b-step1000", "pythia-1.4b-step143000"):
        assert pythia_config["models"][label]["step"] is not None
        assert model_geometry(pythia_config["models"][label]) == final


def test_tiny_sizes_give_the_overridden_geometry() -> None:
    from iclprune.model.models import tiny_model

    sizes = {"num_hidden_layers": 4, "hidden_size": 128, "intermediate_size": 256, "num_attention_heads": 8,
             "num_key_value_heads": 2, "head_dim": 16}  # fmt: skip
    g = model_geometry({"source": "tiny:llama", "tiny": sizes})
    assert (g.n_layers, g.n_heads, g.d_model) == (4, 8, 128)
    model = tiny_model("llama", vocab_size=49152, **sizes)
    assert g.n_parameters == sum(p.numel() for p in model.parameters())
    assert "num_hidden_layers=4" in g.source
    plain = model_geometry({"source": "tiny:llama"})
    assert (plain.n_layers, plain.source) == (3, "tiny_config('llama')")  # unchanged without sizes
    with pytest.raises(CostError, match=r"unknown tiny size\(s\) \['depth'\] .*expected some of"):
        model_geometry({"source": "tiny:llama", "tiny": {"depth": 2}})
    with pytest.raises(CostError, match=r"tiny sizes .* given for model 'facebook/opt-125m'"):
        model_geometry({"source": "facebook/opt-125m", "tiny": {"num_hidden_layers": 2}})


# ------------------------------------------------------------------------------------ the scale configs
def test_the_scale_configs_validate_and_name_their_models(opt_config: dict, pythia_config: dict) -> None:
    paper = load_config(ROOT / "config/paper.yaml")
    assert opt_config["study"] == "opt_scale"
    assert opt_config["name"] == "OPT scale study (config/opt_scale.yaml)"
    assert study_models(opt_config) == [f"opt-{s}" for s in OPT_SIZES]
    assert scale_series(opt_config) == {"n_parameters": [f"opt-{s}" for s in OPT_SIZES]}
    assert pythia_config["study"] == "pythia_scale"
    assert pythia_config["name"] == "Pythia scale study (config/pythia_scale.yaml)"
    steps = [1000, 8000, 36000, 72000, 143000]
    checkpoints = [f"pythia-1.4b-step{n}" for n in steps]
    assert study_models(pythia_config) == [f"pythia-{s}" for s in PYTHIA_SIZES] + checkpoints
    assert scale_series(pythia_config) == {"n_parameters": [f"pythia-{s}" for s in PYTHIA_SIZES],
                                           "step": checkpoints}  # fmt: skip
    for config, family in ((opt_config, "facebook/opt-"), (pythia_config, "EleutherAI/pythia-")):
        for label in study_models(config):
            spec = config["models"][label]
            assert spec["source"].startswith(family), label
            assert spec["dtype"] == "float16", label
            assert spec["revision"] is None  # pinned by the user, as in config/paper.yaml
        # the paper's tasks and settings
        for key in ("tasks", "ood_tasks", "data_spec", "shots", "sweep_shots", "seed", "importance", "evaluation",
                    "pruning", "induction", "claims", "metrics", "cluster", "container"):  # fmt: skip
            assert config[key] == paper[key], key
    assert [pythia_config["models"][c]["step"] for c in checkpoints] == steps
    assert all(pythia_config["models"][c]["source"] == "EleutherAI/pythia-1.4b" for c in checkpoints)
    assert not any("step" in opt_config["models"][m] for m in study_models(opt_config))


def test_opt_study_estimates_every_model_and_the_total(opt_study, opt_config: dict) -> None:
    assert list(opt_study.estimates) == [f"opt-{s}" for s in OPT_SIZES]
    summary = opt_study.summary()
    assert len(summary) == 8
    assert opt_study.total_gpu_hours == pytest.approx(summary["gpu_hours"].sum())
    assert opt_study.total_gpu_hours == pytest.approx(opt_study.table()["gpu_hours"].sum())
    assert summary["step"].isna().all()
    # bigger models cost more: GPU-hours grow with parameter count
    ordered = summary.sort_values("n_parameters")
    assert ordered["gpu_hours"].is_monotonic_increasing
    assert list(ordered["model"]) == list(summary["model"])
    assert summary.set_index("model").loc["opt-66b", "gpus_per_job"] == 2
    # each model's table is estimate() on its own spec
    one = estimate({**opt_config, "model": "opt-1.3b"})
    pd.testing.assert_frame_equal(one.table, opt_study.estimates["opt-1.3b"].table)
    table = opt_study.table()
    assert list(table.columns[:2]) == ["model", "stage"]
    assert len(table) == 8 * len(STAGES)


def test_pythia_study_sizes_and_checkpoints(pythia_study) -> None:
    summary = pythia_study.summary().set_index("model")
    assert len(summary) == 13
    assert pythia_study.total_gpu_hours == pytest.approx(summary["gpu_hours"].sum())
    sizes = summary.loc[[f"pythia-{s}" for s in PYTHIA_SIZES]]
    assert sizes["step"].isna().all()
    assert list(sizes["n_parameters"]) == list(PYTHIA_PARAMETERS.values())
    assert sizes.sort_values("n_parameters")["gpu_hours"].is_monotonic_increasing
    checkpoints = summary.loc[summary["step"].notna()]
    assert list(checkpoints["step"]) == [1000, 8000, 36000, 72000, 143000]
    # a checkpoint costs what its final model costs (the same geometry, the same work)
    assert (checkpoints["gpu_hours"] == summary.loc["pythia-1.4b", "gpu_hours"]).all()


def test_render_study_shows_each_model_then_the_summary(opt_study, pythia_study) -> None:
    text = render_study(opt_study, "config/opt_scale.yaml")
    assert text.splitlines()[0] == "cost estimate of config/opt_scale.yaml: study opt_scale, 8 models"
    for label, est in opt_study.estimates.items():
        assert render(est, label) in text  # each model's table as for one model, headed by its label
        assert f"cost estimate of {label}: " in text
    summary = text.split("summary of config/opt_scale.yaml: study opt_scale\n", 1)[1].splitlines()
    assert summary[0].split() == ["model", "parameters", "GPUs", "per", "job", "GPU-hours"]  # no step column
    rows = {line.split()[0]: line.split() for line in summary[1:9]}
    assert list(rows) == list(opt_study.estimates)
    assert rows["opt-66b"][1:] == ["65.7B", "2", f"{opt_study.estimates['opt-66b'].total_gpu_hours:,.1f}"]
    total = next(line for line in summary if line.startswith("total"))
    assert total.split() == ["total", f"{opt_study.total_gpu_hours:,.1f}"]
    text = render_study(pythia_study, "config/pythia_scale.yaml")
    summary = text.split("summary of config/pythia_scale.yaml: study pythia_scale\n", 1)[1].splitlines()
    assert summary[0].split()[:3] == ["model", "parameters", "step"]
    step_row = next(line.split() for line in summary if line.startswith("pythia-1.4b-step36000 "))
    assert step_row[:3] == ["pythia-1.4b-step36000", "1.41B", "36,000"]
    size_row = next(line.split() for line in summary if line.startswith("pythia-1.4b "))
    assert size_row[:3] == ["pythia-1.4b", "1.41B", "1"]  # no step: straight to GPUs per job
    assert "a checkpoint (step) has its final model's geometry" in text


# ------------------------------------------------------------------------------------------ bad input
def test_undefined_labels_and_several_models_are_named(tmp_path: Path, opt_config: dict) -> None:
    bad = tmp_path / "bad.yaml"
    text = yaml.safe_load((ROOT / "config/opt_scale.yaml").read_text())
    bad.write_text(yaml.safe_dump({**text, "model": ["opt-125m", "opt-175b"]}))
    with pytest.raises(CostError, match=r"bad\.yaml'.*model 'opt-175b' is not defined under `models`"):
        load_config(bad)
    with pytest.raises(CostError, match=r"several models .*estimate_study"):
        estimate(opt_config)
    with pytest.raises(CostError, match=r"model 'opt-175b' is not defined under `models`"):
        estimate(opt_config, model="opt-175b")


# ------------------------------------------------------------------------------------- the command line
def test_cost_command_on_a_study_writes_the_tables_and_the_readme_block(tmp_path: Path, capsys) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- cost-opt:start -->\nold\n<!-- cost-opt:end -->\n\nafter\n")
    out = tmp_path / "cost.tsv"
    config = str(ROOT / "config/opt_scale.yaml")
    assert main(["cost", config, "--out", str(out), "--readme", str(readme), "--block", "cost-opt"]) == 0
    printed = capsys.readouterr().out
    assert "summary of " in printed
    assert printed.count("cost estimate of opt-") == 8
    page = readme.read_text()
    assert page.startswith("# x\n\n<!-- cost-opt:start -->\n```text\n")
    assert f"{printed.rstrip()}\n```\n<!-- cost-opt:end -->\n\nafter\n" in page
    assert "old" not in page
    table = pd.read_csv(out, sep="\t")
    assert list(table["model"].unique()) == [f"opt-{s}" for s in OPT_SIZES]
    total = next(
        line for line in printed.splitlines() if line.startswith("total ") and len(line.split()) == 2
    )
    assert total.split()[1] == f"{table['gpu_hours'].sum():,.1f}"
    # markers missing: a clear error naming the file and the markers, exit status 2, the page untouched
    readme.write_text("# no markers\n")
    assert main(["cost", config, "--readme", str(readme), "--block", "cost-opt"]) == 2
    err = capsys.readouterr().err
    assert "README.md" in err
    assert "<!-- cost-opt:start -->" in err
    assert readme.read_text() == "# no markers\n"
    with pytest.raises(CostError, match=r"--readme '.*nope\.md' does not exist"):
        write_readme_block(tmp_path / "nope.md", "cost", "x")


def test_single_model_output_is_unchanged(tmp_path: Path, capsys) -> None:
    """`model: <label>`: the one table as before, by the positional config or --configfile alike."""
    assert main(["cost", "--configfile", str(ROOT / "config/paper.yaml")]) == 0
    by_option = capsys.readouterr().out
    assert main(["cost", str(ROOT / "config/paper.yaml")]) == 0
    by_position = capsys.readouterr().out.replace(str(ROOT / "config/paper.yaml"), "X")
    assert by_position == by_option.replace(str(ROOT / "config/paper.yaml"), "X")
    first = by_option.splitlines()[0]
    assert first.endswith(": 65.7B parameters, 64 layers × 72 heads, context 2048 (facebook/opt-66b (OPT paper, "
                          "Table 1))")  # fmt: skip
    assert "summary" not in by_option
    readme = tmp_path / "page.md"
    readme.write_text("<!-- cost:start -->\n<!-- cost:end -->\n")
    assert main(["cost", str(ROOT / "config/paper.yaml"), "--readme", str(readme)]) == 0
    assert (
        readme.read_text()
        == f"<!-- cost:start -->\n```text\n{capsys.readouterr().out.rstrip()}\n```\n<!-- cost:end -->\n"
    )
    with pytest.raises(SystemExit) as exit_:
        main(["cost", "config/paper.yaml", "--configfile", "config/tiny.yaml"])
    assert exit_.value.code == 2
    assert "not both" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["cost"])
    assert "cost needs a workflow config" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("study", "config"), [("opt", "config/opt_scale.yaml"), ("pythia", "config/pythia_scale.yaml")]
)
def test_the_docs_cost_tables_are_the_commands_output(
    request: pytest.FixtureRequest, study: str, config: str
) -> None:
    """README (the summary) and docs/scale.md (every table) hold what `iclprune cost` prints today."""
    from iclprune.reporting.timings import read_block
    from iclprune.workflow.cost import render_study

    est = request.getfixturevalue(f"{study}_study")
    root = Path(__file__).resolve().parents[1]
    for page, block, summary_only in (
        ("README.md", f"cost-{study}-scale", True),
        ("docs/scale.md", f"cost-{study}-scale-full", False),
    ):
        fenced = read_block((root / page).read_text(), block)
        assert fenced == f"```text\n{render_study(est, config, summary_only=summary_only).rstrip()}\n```", (
            page,
            block,
        )
