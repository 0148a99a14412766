"""The config's setting blocks as frozen objects (iclprune.core.settings), and the package's layering."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from iclprune.core.settings import (
    EvaluationSettings,
    ImportanceSettings,
    InductionSettings,
    PruningSettings,
    SettingsError,
)

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "iclprune"
BLOCKS = {
    "evaluation": EvaluationSettings,
    "importance": ImportanceSettings,
    "pruning": PruningSettings,
    "induction": InductionSettings,
}


def _schema() -> dict:
    return yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_each_block_matches_the_schema_keys_and_defaults(block: str) -> None:
    """Every key of the schema's block is a field with the schema's default, and nothing else is."""
    props = _schema()["properties"][block]["properties"]
    cls = BLOCKS[block]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    extra = {"seed", "metric"} if block == "evaluation" else {"seed"} if block == "importance" else set()
    assert set(fields) - extra == set(props)
    defaults = cls().to_dict()
    for key, prop in props.items():
        assert defaults[key] == prop["default"], key


def test_from_config_reads_the_block_the_seed_and_the_tasks_metric() -> None:
    config = {
        "seed": 7,
        "metrics": {"icl_antonyms": "acc_norm"},
        "evaluation": {"limit": 16, "batch_size": 2, "mask_batch": 1},
        "importance": {"n_docs": 4, "variant": "michel"},
        "pruning": {"head_percents": [0, 50]},
        "induction": {"n_seeds": 3},
    }
    ev = EvaluationSettings.from_config(config, "icl_antonyms")
    assert (ev.limit, ev.batch_size, ev.mask_batch, ev.seed, ev.metric) == (16, 2, 1, 7, "acc_norm")
    assert EvaluationSettings.from_config(config, "icl_category").metric == "acc"
    imp = ImportanceSettings.from_config(config)
    assert (imp.n_docs, imp.variant, imp.seed, imp.batch_size) == (4, "michel", 7, 8)
    assert PruningSettings.from_config(config).head_grid == [(0.0, 0.0), (50.0, 0.0)]
    assert InductionSettings.from_config(config).n_seeds == 3


def test_a_block_travels_as_plain_data_and_back_unchanged() -> None:
    """rule params (to_dict: JSON-able) → script (from_dict) → the same object."""
    import json

    for obj in (
        EvaluationSettings(limit=3, metric="em"),
        ImportanceSettings(normalizer="none"),
        PruningSettings(ffn_percents=[0, 40], combined_head_percents=[0, 50], combined_ffn_percents=[0]),
        InductionSettings(n_seeds=2, compat_off_by_one=True),
    ):
        data = json.loads(json.dumps(obj.to_dict()))
        assert type(obj).from_dict(data) == obj


def test_settings_are_frozen() -> None:
    settings = EvaluationSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.limit = 3  # type: ignore[misc]
    assert settings.replace(limit=3).limit == 3


def test_pruning_grids() -> None:
    p = PruningSettings(
        head_percents=[0, 30],
        ffn_percents=[10],
        combined_head_percents=[0, 50],
        combined_ffn_percents=[0, 20],
    )
    assert p.head_grid == [(0, 0), (30, 0)]
    assert p.ffn_grid == [(0, 10)]
    assert p.combined_grid == [(0, 0), (0, 20), (50, 0), (50, 20)]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: EvaluationSettings(limit=0), r"evaluation\.limit = 0; expected an integer >= 1 or null"),
        (
            lambda: EvaluationSettings(batch_size="8"),
            r"evaluation\.batch_size = '8'; expected an integer >= 1",
        ),
        (
            lambda: EvaluationSettings(shared_context=1),
            r"evaluation\.shared_context = 1; expected true or false",
        ),
        (
            lambda: EvaluationSettings(metric="bleu"),
            r"metrics\.<task> = 'bleu'; expected one of acc, acc_norm",
        ),
        (
            lambda: ImportanceSettings(variant="paper"),
            r"importance\.variant = 'paper'; expected one of bansal",
        ),
        (lambda: ImportanceSettings(seed=-1), r"config\.seed = -1; expected an integer >= 0"),
        (lambda: PruningSettings(head_percents=[0, 120]), r"pruning\.head_percents holds 120; expected"),
        (lambda: PruningSettings(ffn_percents=50), r"pruning\.ffn_percents = 50; expected a list"),
        (lambda: InductionSettings(n_seeds=0), r"induction\.n_seeds = 0; expected an integer >= 1"),
        (
            lambda: EvaluationSettings.from_dict({"limt": 3}),
            r"unknown evaluation setting\(s\) limt; expected some of batch_size, layers_per_pass, limit",
        ),
    ],
)
def test_a_bad_setting_is_named_with_what_was_expected(build, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        build()


def test_the_workflow_refuses_a_bad_setting_before_any_job(tmp_path: Path) -> None:
    """A bad setting stops the dry run, before any job, with the key named."""
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    config["evaluation"]["limit"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(path), "-d", str(tmp_path / "w")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    assert "limit" in run.stdout + run.stderr


# ------------------------------------------------------------------------------------------- layering
LAYERS = ["core", "model", "evaluate", "analysis", "reporting", "workflow"]


def _imports(path: Path) -> set[str]:
    """The iclprune modules ``path`` imports (at any depth of the file, lazily or not)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("iclprune"):
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("iclprune")}
    return out


def test_every_module_sits_in_one_subpackage_and_none_imports_upward() -> None:
    loose = sorted(p.name for p in PKG.glob("*.py") if p.name not in {"__init__.py", "__main__.py"})
    assert loose == [], f"modules outside the subpackages: {loose}"
    assert sorted(p.name for p in PKG.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(LAYERS)
    upward = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).parts
        if len(rel) < 2:
            continue
        mine = LAYERS.index(rel[0])
        for name in _imports(path):
            parts = name.split(".")
            if len(parts) > 1 and parts[1] in LAYERS and LAYERS.index(parts[1]) > mine:
                upward.append(f"{'/'.join(rel)} imports {name}")
    assert upward == []


def test_no_module_is_above_700_lines() -> None:
    long = {
        str(p.relative_to(PKG)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > 700
    }
    assert long == {}


def test_reporting_and_agreement_never_import_torch() -> None:
    modules = [
        "iclprune.analysis.agreement",
        *(f"iclprune.reporting.{p.stem}" for p in (PKG / "reporting").glob("*.py") if p.stem != "__init__"),
        *(f"iclprune.reporting.plotting.{p.stem}" for p in (PKG / "reporting" / "plotting").glob("*.py")),
        "iclprune.workflow.summaries",
    ]
    code = f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\nprint('torch' in sys.modules)"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert run.stdout.strip() == "False"
