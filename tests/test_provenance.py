"""Provenance and determinism of stage outputs: every table's JSON sidecar records package versions, seeds,
the config hash and the git commit (with the tree's dirtiness as its own field); two runs of a stage on
the same inputs write byte-identical tables on CPU; the config hash follows the parameters."""

from __future__ import annotations

import re
import subprocess
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest

from iclprune.core.io import config_hash, git_state, read_json
from iclprune.core.settings import EvaluationSettings
from iclprune.workflow import stages

TINY = {"source": "tiny:llama", "dtype": "float32"}
TASK = "icl_antonyms"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def _oracle(directory: Path, limit: int = 2) -> Path:
    """One FFN-oracle run in ``directory`` from a freshly built model; returns its table."""
    stages._load.cache_clear()  # rebuild the model: the run must not depend on a resident copy
    out = directory / "ffns.parquet"
    stages.ffn_oracle(TINY, TASK, 0, out, evaluation=EvaluationSettings(limit=limit, batch_size=2))
    return out


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _oracle(tmp_path_factory.mktemp("run_a")), _oracle(tmp_path_factory.mktemp("run_b"))


def test_two_runs_write_byte_identical_tables(two_runs: tuple[Path, Path]) -> None:
    a, b = two_runs
    for name in ("ffns.parquet", "ffns.docs.parquet"):
        assert (a.parent / name).read_bytes() == (b.parent / name).read_bytes(), name
    table = pd.read_parquet(a)
    assert table.layer.tolist() == [0, 1, 2]
    side_a, side_b = read_json(a.with_suffix(".json")), read_json(b.with_suffix(".json"))
    for side in (side_a, side_b):  # the git fields may differ: other work changes the tree meanwhile
        side.pop("git_commit")
        side.pop("git_dirty")
    assert side_a == side_b  # nothing in a sidecar depends on the time or the host


def test_tsv_tables_are_byte_identical_across_runs(tmp_path: Path) -> None:
    outs = []
    for run in ("a", "b"):
        stages._load.cache_clear()
        out = tmp_path / run / "task_table.tsv"
        stages.task_table(TINY, [TASK], [0, 1], out, evaluation=EvaluationSettings(limit=2, batch_size=2))
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    table = pd.read_csv(outs[0], sep="\t")
    assert table[["task", "shot"]].values.tolist() == [[TASK, 0], [TASK, 1]]


def test_sidecar_records_versions_seeds_config_hash_and_git(root: Path, two_runs: tuple[Path, Path]) -> None:
    side = read_json(two_runs[0].with_suffix(".json"))
    versions = side["versions"]
    for package in ("torch", "transformers", "lm_eval", "iclprune"):
        assert versions[package] == version(package.replace("_", "-"))
    assert re.fullmatch(r"3\.\d+\.\d+", versions["python"])
    assert side["seeds"] == {"fewshot": 1234}
    config = {"model": TINY, "task": TASK, "shots": 0, "limit": 2, "metric": "acc"}
    assert side["config"] == config
    assert side["config_hash"] == config_hash(config)
    assert re.fullmatch(r"[0-9a-f]{40}", side["git_commit"])  # no "-dirty" suffix: that is its own field
    # the checkout's commit at run time: HEAD now or (others commit meanwhile) one of its ancestors
    ancestor = ["git", "merge-base", "--is-ancestor", side["git_commit"], "HEAD"]
    assert subprocess.run(ancestor, cwd=root, capture_output=True).returncode == 0
    assert isinstance(side["git_dirty"], bool)
    assert side["n_docs"] == 2


def test_config_hash_changes_with_a_parameter(tmp_path: Path, two_runs: tuple[Path, Path]) -> None:
    other = _oracle(tmp_path, limit=3)
    same, changed = read_json(two_runs[0].with_suffix(".json")), read_json(other.with_suffix(".json"))
    assert changed["config"]["limit"] == 3
    assert changed["config_hash"] != same["config_hash"]
    assert read_json(two_runs[1].with_suffix(".json"))["config_hash"] == same["config_hash"]
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})  # key order is irrelevant
    assert config_hash({"a": 1, "b": [1, 2]}) != config_hash({"a": 1, "b": [2, 1]})


def test_git_state_reports_commit_and_dirtiness_separately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (("init", "-q"), ("config", "user.email", "t@example.org"), ("config", "user.name", "t")):
        _git(repo, *args)
    (repo / "f.txt").write_text("one\n")
    _git(repo, "add", "f.txt")
    _git(repo, "commit", "-q", "-m", "one")
    commit = _git(repo, "rev-parse", "HEAD")
    assert git_state(repo) == (commit, False)
    (repo / "untracked.txt").write_text("x\n")
    assert git_state(repo) == (commit, False)  # untracked files do not make a tree dirty
    (repo / "f.txt").write_text("two\n")
    assert git_state(repo) == (commit, True)
    outside = tmp_path / "plain"
    outside.mkdir()
    assert git_state(outside) == ("unknown", None)
    monkeypatch.setenv("ICLPRUNE_GIT_COMMIT", "0" * 40)  # containers without .git pass it in
    monkeypatch.setenv("ICLPRUNE_GIT_DIRTY", "1")
    assert git_state(repo) == ("0" * 40, True)
