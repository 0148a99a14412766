"""Bad inputs through the real entry points: config validation (Snakemake dry runs), the stage functions
the Snakemake scripts call, and the ``iclprune`` command line (in-process and as a process).

For every case: the error names the bad value and what was expected, it is raised by iclprune's own code
(a project error type, or the CLI's one-line message and exit status 2) rather than from deep inside a
library, and no output (table, sidecar, per-document table, temporary file) is left behind. Models are
the tiny random Llama (3 layers x 6 heads, GQA) with at most 2 documents, so the module takes seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iclprune.core.io import StageInputError, read_json, write_table
from iclprune.core.settings import EvaluationSettings, ImportanceSettings
from iclprune.evaluate.taskdefs import TaskConfigError
from iclprune.model.models import ModelLoadError
from iclprune.model.sites import UnsupportedArchitectureError
from iclprune.workflow import cli, stages, sweeps

TINY = {"source": "tiny:llama", "dtype": "float32"}
TASK = "icl_antonyms"
PKG = Path(stages.__file__).resolve().parents[1]  # the iclprune package (stages is in its workflow/)


# ----------------------------------------------------------------------------------------------- helpers
def assert_clean(directory: Path, keep: set[str] = frozenset()) -> None:
    """Nothing but the pre-existing inputs ``keep`` in ``directory``: no table, sidecar, per-document
    table, checkpoint or temporary file of an atomic write."""
    left = sorted(p.name for p in directory.iterdir() if p.name not in keep)
    assert left == [], f"partial outputs left behind: {left}"


def expect(error: type[BaseException], match: str, call: Callable[[], object]) -> BaseException:
    """``call()`` raises ``error`` whose one-line message matches ``match``, raised in iclprune's code."""
    with pytest.raises(error, match=match) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, f"multi-line message: {message!r}"
    raised_in = Path(str(info.traceback[-1].path)).resolve()
    assert raised_in.is_relative_to(PKG), f"raised deep inside a library ({raised_in}): {message}"
    return info.value


def cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI in-process on ``argv``; it must fail with status 2 and one error line on stderr
    (argparse adds its usage line above it). Returns the error line."""
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


@pytest.fixture
def tasks(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of one bundled task (YAML + data) that a test may break; ICLPRUNE_TASKS points at it."""
    d = tmp_path / "tasks"
    (d / "data").mkdir(parents=True)
    shutil.copy(root / "tasks" / f"{TASK}.yaml", d)
    shutil.copytree(root / "tasks" / "data" / TASK, d / "data" / TASK)
    monkeypatch.setenv("ICLPRUNE_TASKS", str(d))
    return d


def head_table(n_layers: int = 3, n_heads: int = 6) -> pd.DataFrame:
    """A well-formed importance table (both variants) for a ``(n_layers, n_heads)`` model."""
    layer, head = np.divmod(np.arange(n_layers * n_heads), n_heads)
    score = np.random.default_rng(0).random(n_layers * n_heads)
    frames = [
        pd.DataFrame({"task": TASK, "shot": 0, "variant": v, "layer": layer, "head": head, "score": score})
        for v in ("bansal", "michel")
    ]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------- config values: Snakemake dry runs
CONFIG_CASES = {
    "unknown_key": ("seed: 1234", "seed: 1234\nseeds: [1, 2]", ["'seeds' was unexpected"]),
    "wrong_type": ("  n_docs: 4", "  n_docs: four", ["'four' is not of type 'integer'", "['importance']['n_docs']"]),
    "negative_shot": ("shots: [0, 1, 5]", "shots: [0, -2, 5]", ["-2 is less than the minimum of 0", "['shots'][1]"]),
    "percent_over_100": (
        "head_percents: [0, 50, 90]", "head_percents: [0, 50, 150]",
        ["150 is greater than the maximum of 100", "['pruning']['head_percents'][2]"],
    ),
    "empty_task_list": ("tasks: [icl_antonyms, icl_city_country]", "tasks: []", ["[] should be non-empty", "['tasks']"]),
    "unknown_dtype": ("dtype: float32", "dtype: float8", ["'float8' is not one of", "float32"]),
    "unknown_model_source": ('source: "tiny:llama"', 'source: "tiny:gpt5"', ["tiny:gpt5", "tiny:llama"]),
    "sweep_shot_not_a_shot": ("sweep_shots: [0, 1]", "sweep_shots: [1, 3]", ["sweep_shots [1, 3] has [3], not in shots [0, 1, 5]"]),
    "task_both_in_and_ood": ("ood_tasks: [icl_lastword]", "ood_tasks: [icl_antonyms]",
                             ["['icl_antonyms'] listed in both `tasks` and `ood_tasks`"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def dry_runs(root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, Path]]:
    """``snakemake -n --configfile <bad.yaml>`` for every config case, run side by side (each is a
    separate Snakemake process that validates the config while parsing the workflow)."""
    text = (root / "config/tiny.yaml").read_text()
    env = dict(os.environ, ICLPRUNE_TASKS=str(root / "tasks"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    procs = {}
    for name, (old, new, _) in CONFIG_CASES.items():
        assert old in text, old
        work = tmp_path_factory.mktemp(name)
        (work / "bad.yaml").write_text(text.replace(old, new))
        cmd = [str(Path(sys.executable).with_name("snakemake")), "--snakefile", str(root / "Snakefile"),
               "--directory", str(work), "--configfile", str(work / "bad.yaml"), "-n", "--cores", "1"]  # fmt: skip
        with (work / "snakemake.log").open("w") as log:  # a file, not a pipe: a dry run's DAG is long
            procs[name] = (subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), work)
    codes = {name: p.wait(timeout=300) for name, (p, _) in procs.items()}
    return {
        name: (codes[name], (work / "snakemake.log").read_text(), work) for name, (_, work) in procs.items()
    }


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_bad_config_value_is_rejected_by_the_dry_run(dry_runs, case: str) -> None:
    code, output, work = dry_runs[case]
    assert code != 0, output[-2000:]
    for part in CONFIG_CASES[case][2]:
        assert part in output, output[-2000:]
    assert "Traceback" not in output
    assert not (work / "results").exists()


# ------------------------------------------------------------------------------------------- task files
def _edit_yaml(tasks: Path, old: str, new: str) -> None:
    path = tasks / f"{TASK}.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_task_without_doc_to_text(tasks: Path, out_dir: Path) -> None:
    _edit_yaml(tasks, 'doc_to_text: "Word: {{word}}\\nOpposite:"\n', "")
    out = out_dir / "ffns.parquet"
    expect(
        TaskConfigError,
        r"lacks required keys \['doc_to_text'\]",
        lambda: stages.ffn_oracle(TINY, TASK, 0, out, evaluation=EvaluationSettings(limit=2)),
    )
    assert_clean(out_dir)


def test_task_with_bad_output_type(tasks: Path, out_dir: Path) -> None:
    _edit_yaml(tasks, "output_type: multiple_choice", "output_type: multiple_choise")
    expect(
        TaskConfigError,
        r"output_type='multiple_choise'; expected one of \['multiple_choice', 'loglikelihood'\]",
        lambda: stages.ffn_oracle(
            TINY, TASK, 0, out_dir / "ffns.parquet", evaluation=EvaluationSettings(limit=2)
        ),
    )
    assert_clean(out_dir)


def test_task_template_field_absent_from_documents(tasks: Path, out_dir: Path) -> None:
    _edit_yaml(tasks, "{{word}}", "{{wordz}}")
    expect(
        TaskConfigError,
        r"documents of split '(train|validation)' lack fields \['wordz'\]",
        lambda: stages.evaluate(TINY, TASK, 0, out_dir / "e.parquet", evaluation=EvaluationSettings(limit=2)),
    )
    assert_clean(out_dir)


def test_task_data_file_missing(tasks: Path, out_dir: Path) -> None:
    (tasks / "data" / TASK / "validation.jsonl").unlink()
    expect(
        TaskConfigError,
        r"data file for split 'validation' not found: .*validation\.jsonl",
        lambda: stages.ffn_oracle(
            TINY, TASK, 0, out_dir / "ffns.parquet", evaluation=EvaluationSettings(limit=2)
        ),
    )
    assert_clean(out_dir)


def test_task_data_line_not_json(tasks: Path, out_dir: Path) -> None:
    path = tasks / "data" / TASK / "train.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[4] = '{"word": "hot", "choices": ["cold"\n'  # line 5: cut short
    path.write_text("".join(lines))
    expect(
        TaskConfigError,
        r"line 5 of split 'train' \(.*train\.jsonl\) is not JSON: .*expected one JSON object per line",
        lambda: stages.head_importance(
            TINY, TASK, 1, out_dir / "heads.parquet", importance=ImportanceSettings(n_docs=2)
        ),
    )
    assert_clean(out_dir)


def test_more_shots_than_demonstrations(out_dir: Path) -> None:
    expect(
        TaskConfigError,
        r"shots=500 exceeds the 150 documents available for demonstrations in split 'train'",
        lambda: stages.ffn_oracle(
            TINY, TASK, 500, out_dir / "ffns.parquet", evaluation=EvaluationSettings(limit=2)
        ),
    )
    assert_clean(out_dir)


def test_unknown_task_name(capsys, out_dir: Path) -> None:
    line = cli_error(capsys, ["ffn-oracle", "--model", "tiny:llama", "--task", "icl_nonesuch", "--shots", "0",
                              "--limit", "2", "--out", str(out_dir / "f.parquet")])  # fmt: skip
    assert "unknown task(s) ['icl_nonesuch']" in line
    assert "icl_antonyms" in line
    assert_clean(out_dir)


# ------------------------------------------------------------------------------------------ model paths
def test_model_directory_missing(tmp_path: Path, out_dir: Path) -> None:
    missing = tmp_path / "no_such_model"
    expect(
        ModelLoadError,
        rf"model path '{missing}' does not exist .*expected a directory with config\.json",
        lambda: stages.cache_model({"source": str(missing)}, out_dir / "card.json"),
    )
    assert_clean(out_dir)


def test_model_directory_without_config(tmp_path: Path, out_dir: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"")
    expect(
        ModelLoadError,
        r"model directory '.*model' has no config\.json; expected a saved HF model",
        lambda: stages.cache_model({"source": str(model)}, out_dir / "card.json"),
    )
    assert_clean(out_dir)


@pytest.mark.parametrize("model_type", ["nonesuch", "gpt2"])  # unknown to transformers / no site map
def test_model_of_unknown_architecture(tmp_path: Path, out_dir: Path, model_type: str) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": model_type}))
    expect(
        UnsupportedArchitectureError,
        rf"model '.*model': unknown architecture model_type='{model_type}': no site map; expected one of \[.*'llama'",
        lambda: stages.evaluate(
            {"source": str(model)}, TASK, 0, out_dir / "e.parquet", evaluation=EvaluationSettings(limit=2)
        ),
    )
    assert_clean(out_dir)


def test_unknown_tiny_family(out_dir: Path) -> None:
    expect(
        ModelLoadError,
        r"unknown tiny model 'tiny:gpt5'; expected tiny:opt, tiny:llama or tiny:gpt_neox",
        lambda: stages.cache_model({"source": "tiny:gpt5"}, out_dir / "card.json"),
    )
    assert_clean(out_dir)


def test_hub_id_not_cached_offline(out_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    expect(
        ModelLoadError,
        r"hub id 'nobody-here/no-model' \(revision main\) is not in the local Hugging Face cache",
        lambda: stages.cache_model({"source": "nobody-here/no-model"}, out_dir / "card.json"),
    )
    assert_clean(out_dir)


# --------------------------------------------------------------------------------------------- rankings
def _sweep(out_dir: Path, **kw) -> Callable[[], None]:
    return lambda: sweeps.pruning_sweep(
        TINY, TASK, 0, out_dir / "sweep.parquet", evaluation=EvaluationSettings(limit=2), **kw
    )


def test_head_ranking_of_the_wrong_shape(tmp_path: Path, out_dir: Path) -> None:
    write_table(head_table(n_layers=2), tmp_path / "heads.parquet")
    expect(
        ValueError,
        r"head ranking covers 12 heads .*expected every head of the model's \(3 layers, 6 heads\)",
        _sweep(out_dir, head_scores=tmp_path / "heads.parquet", grid=[(0, 0), (50, 0)]),
    )
    assert_clean(out_dir)


def test_head_ranking_with_a_duplicated_head(tmp_path: Path, out_dir: Path) -> None:
    df = head_table()
    df.loc[df.index[7], "head"] = 0  # bansal layer 1 head 1 → a second (1, 0)
    write_table(df, tmp_path / "heads.parquet")
    expect(
        StageInputError,
        r"head scores .*heads\.parquet list head \(1, 0\) 2 times; expected one score per component",
        _sweep(out_dir, head_scores=tmp_path / "heads.parquet", grid=[(50, 0)]),
    )
    assert_clean(out_dir)


def test_head_ranking_with_a_missing_layer(tmp_path: Path, out_dir: Path) -> None:
    df = head_table()
    write_table(df[df.layer != 1], tmp_path / "heads.parquet")
    expect(
        StageInputError,
        r"head scores .*heads\.parquet have layers \[0, 2\], missing \[1\]; expected layers 0\.\.L-1",
        _sweep(out_dir, head_scores=tmp_path / "heads.parquet", grid=[(50, 0)]),
    )
    assert_clean(out_dir)


def test_head_ranking_with_a_non_finite_score(tmp_path: Path, out_dir: Path) -> None:
    df = head_table()
    df.loc[3, "score"] = np.nan
    write_table(df, tmp_path / "heads.parquet")
    expect(
        StageInputError,
        r"head scores .*heads\.parquet hold a non-finite score nan for head \(0, 3\); expected finite scores",
        _sweep(out_dir, head_scores=tmp_path / "heads.parquet", grid=[(50, 0)]),
    )
    assert_clean(out_dir)


def test_ffn_ranking_of_the_wrong_shape(tmp_path: Path, out_dir: Path) -> None:
    ffn = pd.DataFrame({"task": TASK, "shot": 0, "layer": range(5), "score": np.arange(5.0)})
    write_table(ffn, tmp_path / "ffns.parquet")
    expect(
        ValueError,
        r"FFN ranking covers 5 layers; expected every one of the model's 3 layers",
        _sweep(out_dir, ffn_scores=tmp_path / "ffns.parquet", grid=[(0, 50)]),
    )
    assert_clean(out_dir)


# ---------------------------------------------------------------------------------------- CLI arguments
def _evaluate_argv(out_dir: Path, *extra: str) -> list[str]:
    return ["evaluate", "--model", "tiny:llama", "--task", TASK, "--shots", "0", "--limit", "2",
            "--out", str(out_dir / "e.parquet"), *extra]  # fmt: skip


def test_cli_malformed_component(capsys, out_dir: Path) -> None:
    line = cli_error(capsys, _evaluate_argv(out_dir, "--remove", "head:x:y"))
    assert (
        "argument --remove: bad component 'head:x:y'; expected 'head:<layer>:<head>' or 'ffn:<layer>'" in line
    )
    assert_clean(out_dir)


def test_cli_head_index_out_of_range(capsys, out_dir: Path) -> None:
    line = cli_error(capsys, _evaluate_argv(out_dir, "--remove", "head:1:2", "head:3:0"))
    assert "head index out of range: head:3:0; expected layer in [0, 3) and head in [0, 6)" in line
    assert_clean(out_dir)


def test_cli_ffn_index_out_of_range(capsys, out_dir: Path) -> None:
    line = cli_error(capsys, _evaluate_argv(out_dir, "--remove", "ffn:7"))
    assert "FFN index out of range: ffn:7; expected layer in [0, 3)" in line
    assert_clean(out_dir)


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        ("30", "argument --grid: bad grid point '30'; expected pct_heads,pct_ffns such as 70,20"),
        ("130,0", "argument --grid: bad grid point '130,0'; expected percentages in [0, 100]"),
        ("ten,0", "argument --grid: bad grid point 'ten,0'; expected pct_heads,pct_ffns"),
    ],
)
def test_cli_bad_grid_point(capsys, tmp_path: Path, out_dir: Path, grid: str, expected: str) -> None:
    write_table(head_table(), tmp_path / "heads.parquet")
    line = cli_error(capsys, ["sweep", "--model", "tiny:llama", "--task", TASK, "--shots", "0",
                              "--head-scores", str(tmp_path / "heads.parquet"), "--grid", "0,0", grid,
                              "--out", str(out_dir / "s.parquet")])  # fmt: skip
    assert expected in line
    assert_clean(out_dir)


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--limit", "-1", "argument --limit: -1 is out of range; expected an integer >= 1"),
        ("--shots", "-1", "argument --shots: -1 is out of range; expected an integer >= 0"),
        ("--batch-size", "0", "argument --batch-size: 0 is out of range; expected an integer >= 1"),
        ("--out", "e.csv", "argument --out: 'e.csv' has no .parquet or .tsv suffix; expected a table path"),
    ],
)
def test_cli_bad_numbers_and_paths(capsys, out_dir: Path, flag: str, value: str, expected: str) -> None:
    argv = _evaluate_argv(out_dir)
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    assert expected in cli_error(capsys, argv)
    assert_clean(out_dir)


def _cli_process(root: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ICLPRUNE_TASKS=str(root / "tasks"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    cmd = [sys.executable, "-m", "iclprune", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("sweep", "--task", TASK, "--shots", "0", "--grid", "30", "--out", "s.parquet"), "bad grid point '30'"),
        (("evaluate", "--model", "./missing-model", "--task", TASK, "--shots", "0", "--out", "e.parquet"),
         "model path './missing-model' does not exist"),
        (("sweep", "--task", TASK, "--shots", "0", "--head-scores", "gone.parquet", "--grid", "0,0", "--out",
          "s.parquet"), "missing input table gone.parquet; expected the output of an earlier stage"),
    ],
)  # fmt: skip
def test_cli_process_exits_2_with_one_line_and_no_traceback(
    root: Path, out_dir: Path, args: tuple[str, ...], expected: str
) -> None:
    done = _cli_process(root, out_dir, *args)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, done.stderr[-2000:]
    assert expected in errors[0]
    assert errors[0].startswith(f"iclprune {args[0]}: error:")
    assert_clean(out_dir)


# -------------------------------------------------------------------------- corrupted intermediate files
def test_truncated_parquet(tmp_path: Path, out_dir: Path) -> None:
    write_table(head_table(), tmp_path / "heads.parquet")
    data = (tmp_path / "heads.parquet").read_bytes()
    (tmp_path / "heads.parquet").write_bytes(data[: len(data) // 2])
    expect(
        StageInputError,
        r"corrupted table .*heads\.parquet: .*; delete it and re-run its stage",
        _sweep(out_dir, head_scores=tmp_path / "heads.parquet", grid=[(50, 0)]),
    )
    assert_clean(out_dir)


def test_parquet_with_wrong_columns(tmp_path: Path, out_dir: Path) -> None:
    write_table(head_table().rename(columns={"score": "importance"}), tmp_path / "heads.parquet")
    expect(
        StageInputError,
        r"table .*heads\.parquet lacks columns \['score'\]; has \[.*'importance'\]",
        _sweep(out_dir, head_scores=tmp_path / "heads.parquet", grid=[(50, 0)]),
    )
    assert_clean(out_dir)


def test_missing_input_table(tmp_path: Path, out_dir: Path) -> None:
    expect(
        StageInputError,
        r"missing input table .*nowhere\.parquet; expected the output of an earlier stage",
        _sweep(out_dir, head_scores=tmp_path / "nowhere.parquet", grid=[(50, 0)]),
    )
    assert_clean(out_dir)


def test_invalid_json_sidecar(tmp_path: Path) -> None:
    sidecar = tmp_path / "heads.json"
    sidecar.write_text('{"config_hash": "abc", "versions": {')
    expect(
        StageInputError,
        r"corrupted JSON file .*heads\.json: .*; delete it and re-run its stage",
        lambda: read_json(sidecar),
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (['{"layer": -1, "value": 0.5, "docs": {}}', "not json at all", '{"layer": 0, "value": 0.5, "docs": {}}'],
         r"corrupted checkpoint .*ffns\.parquet\.partial\.jsonl, line 3: .*expected one JSON record per line"),
        (['{"layer": -1, "value": 0.5, "docs": {}}', '{"value": 0.5, "docs": {}}'],
         r"corrupted checkpoint .*ffns\.parquet\.partial\.jsonl: record .* lacks \['layer'\]; expected fields \['layer'\]"),
    ],
)  # fmt: skip
def test_corrupt_checkpoint_line(out_dir: Path, lines: list[str], expected: str) -> None:
    out = out_dir / "ffns.parquet"
    params = {"model": TINY, "task": TASK, "shots": 0, "limit": 2, "metric": "acc", "seed": 1234}
    from iclprune.core.io import CHECKPOINT_HEADER, config_hash

    checkpoint = out_dir / "ffns.parquet.partial.jsonl"  # bound to this stage's parameters, then corrupted
    checkpoint.write_text(
        json.dumps({CHECKPOINT_HEADER: config_hash(params)}) + "\n" + "\n".join(lines) + "\n"
    )
    expect(
        StageInputError,
        expected,
        lambda: stages.ffn_oracle(TINY, TASK, 0, out, evaluation=EvaluationSettings(limit=2)),
    )
    assert_clean(out_dir, keep={checkpoint.name})  # the checkpoint is the user's to inspect or delete
