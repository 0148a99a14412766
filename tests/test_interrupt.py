"""Interruption: a real ``iclprune sweep`` process is killed (SIGTERM, SIGKILL) after its checkpoint holds
finished points; the same command then resumes from the checkpoint and writes tables equal (byte for
byte) to an uninterrupted run's. Plus, in-process: a checkpoint is reused only for the parameters that
wrote it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iclprune.core.io import CHECKPOINT_HEADER, config_hash, read_json, write_table
from iclprune.core.settings import EvaluationSettings
from iclprune.workflow import stages

TASK = "icl_antonyms"
GRID = [f"{p},0" for p in range(0, 100, 10)]  # 10 points: a few seconds of work on the tiny model
OUT = "sweep.parquet"
CHECKPOINT = OUT + ".partial.jsonl"


def _heads(path: Path) -> None:
    """A fixed head-importance table for the tiny Llama (3 layers x 6 heads), both variants."""
    layer, head = np.divmod(np.arange(18), 6)
    score = np.random.default_rng(0).random(18)
    frames = [
        pd.DataFrame({"task": TASK, "shot": 1, "variant": v, "layer": layer, "head": head, "score": score})
        for v in ("bansal", "michel")
    ]
    write_table(pd.concat(frames, ignore_index=True), path)


def _command() -> list[str]:
    return [sys.executable, "-m", "iclprune", "sweep", "--model", "tiny:llama", "--task", TASK, "--shots", "1",
            "--limit", "4", "--batch-size", "4", "--head-scores", "heads.parquet", "--grid", *GRID,
            "--out", OUT]  # fmt: skip


def _env(root: Path) -> dict[str, str]:
    return dict(
        os.environ,
        ICLPRUNE_TASKS=str(root / "tasks"),
        ICLPRUNE_RESOURCES=str(root / "resources"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        OMP_NUM_THREADS="1",
    )


def _finished_points(checkpoint: Path) -> int:
    """Complete, decodable records in a checkpoint being written (the header line excluded)."""
    if not checkpoint.is_file():
        return 0
    n = 0
    for line in checkpoint.read_bytes().split(b"\n")[:-1]:  # the last piece has no newline yet
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        n += CHECKPOINT_HEADER not in record
    return n


def _outputs(work: Path) -> list[str]:
    return sorted(p.name for p in work.iterdir() if p.name not in {"heads.parquet", CHECKPOINT, "log.txt"})


@pytest.fixture(scope="module")
def uninterrupted(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same sweep run start to finish, once."""
    work = tmp_path_factory.mktemp("uninterrupted")
    _heads(work / "heads.parquet")
    done = subprocess.run(_command(), cwd=work, env=_env(root), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming" not in done.stderr
    assert not (work / CHECKPOINT).exists()
    return work


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_sweep_resumes_to_the_uninterrupted_tables(
    root: Path, tmp_path: Path, uninterrupted: Path, sig: signal.Signals
) -> None:
    work = tmp_path
    _heads(work / "heads.parquet")
    checkpoint = work / CHECKPOINT
    with (work / "log.txt").open("w") as log:
        proc = subprocess.Popen(_command(), cwd=work, env=_env(root), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while _finished_points(checkpoint) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        proc.send_signal(sig)
        code = proc.wait(timeout=120)
    log_text = (work / "log.txt").read_text()
    if sig == signal.SIGTERM:  # a clean exit: the handler unwound the stage
        assert code == 128 + signal.SIGTERM, log_text[-3000:]
        assert "terminated (SIGTERM); finished points stay in the checkpoint" in log_text
        assert "Traceback" not in log_text
    else:
        assert code == -signal.SIGKILL
    finished = _finished_points(checkpoint)
    assert 1 <= finished < len(GRID), f"{finished} of {len(GRID)} points finished: not interrupted midway"
    assert _outputs(work) == [], "a killed stage left outputs (or temporary files) behind"

    again = subprocess.run(_command(), cwd=work, env=_env(root), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming {finished} finished points from {CHECKPOINT}" in again.stderr
    assert not checkpoint.exists()  # deleted once the tables are written
    assert _outputs(work) == ["sweep.docs.parquet", "sweep.json", "sweep.parquet"]
    for name in ("sweep.parquet", "sweep.docs.parquet"):
        resumed, reference = pd.read_parquet(work / name), pd.read_parquet(uninterrupted / name)
        pd.testing.assert_frame_equal(resumed, reference, check_exact=True)
        assert (work / name).read_bytes() == (uninterrupted / name).read_bytes(), name
    assert (
        read_json(work / "sweep.json")["config_hash"]
        == read_json(uninterrupted / "sweep.json")["config_hash"]
    )


TINY = {"source": "tiny:llama", "dtype": "float32"}


def _ffn_checkpoint(out: Path, value: float) -> Path:
    """A checkpoint holding one finished point (the full model, ``layer`` -1) with a marker value, bound
    to the parameters of ``ffn_oracle(TINY, TASK, 0, out, limit=2)``."""
    params = {"model": TINY, "task": TASK, "shots": 0, "limit": 2, "metric": "acc", "seed": 1234}
    docs = {"doc_id": [0, 1], "acc": [1.0, 0.0], "loglik": [[-1.0] * 4] * 2, "is_greedy": [[False] * 4] * 2}
    path = Path(str(out) + ".partial.jsonl")
    header = {CHECKPOINT_HEADER: config_hash(params)}
    path.write_text(
        json.dumps(header) + "\n" + json.dumps({"layer": -1, "value": value, "docs": docs}) + "\n"
    )
    return path


def test_checkpoint_is_reused_for_the_same_parameters_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "ffns.parquet"
    marker = 0.123456789  # no evaluation of 2 documents yields this accuracy
    _ffn_checkpoint(out, marker)
    with caplog.at_level(logging.INFO, logger="iclprune.core.io"):
        stages.ffn_oracle(TINY, TASK, 0, out, evaluation=EvaluationSettings(limit=2))
    assert "resuming 1 finished points" in caplog.text
    assert pd.read_parquet(out).baseline_acc.unique().tolist() == [marker]  # reused, not recomputed
    assert not Path(str(out) + ".partial.jsonl").exists()

    caplog.clear()
    stale = tmp_path / "other.parquet"
    _ffn_checkpoint(stale, marker)  # written for limit=2; the stage now runs with limit=3
    with caplog.at_level(logging.INFO, logger="iclprune.core.io"):
        stages.ffn_oracle(TINY, TASK, 0, stale, evaluation=EvaluationSettings(limit=3))
    assert "was written for other parameters" in caplog.text
    assert "discarding its 1 points" in caplog.text
    assert marker not in pd.read_parquet(stale).baseline_acc.tolist()  # recomputed
    assert len(pd.read_parquet(tmp_path / "other.docs.parquet").query("layer == -1")) == 3
