"""Shared fixtures. Everything runs offline: hub access is switched off before any library import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("ICLPRUNE_RESOURCES", str(ROOT / "resources"))

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real SuperGLUE/GLUE copies (``$ICLPRUNE_SHARED_DATA``, default ``../shared/data`` beside the
    checkout; CI has them there). Read in place, never copied into the repository."""
    path = Path(os.environ.get("ICLPRUNE_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()
    if not (path / "SHA256SUMS").is_file():
        pytest.fail(
            f"real benchmark data not found at {path}; expected ../shared/data (or $ICLPRUNE_SHARED_DATA)"
        )
    return path


@pytest.fixture(scope="session")
def smollm2():
    """The embedded SmolLM2-135M-Instruct ``(model, tokenizer)``, dequantised once into resources/."""
    from iclprune.model.models import load_model

    return load_model("embedded")


@dataclass(frozen=True)
class TinyRun:
    """A finished local run of the tiny workflow config: its working directory and the process."""

    workdir: Path
    process: subprocess.CompletedProcess


def snakemake(root: Path, workdir: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """``snakemake *args`` with the repository's Snakefile in ``workdir``, offline, with the repository's
    tasks and model cache, and datasets' cache inside ``workdir``."""
    env = dict(
        os.environ,
        ICLPRUNE_TASKS=str(root / "tasks"),
        ICLPRUNE_RESOURCES=str(root / "resources"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_DATASETS_CACHE=str(workdir / ".datasets-cache"),
    )
    cmd = [str(Path(sys.executable).with_name("snakemake")), "--snakefile", str(root / "Snakefile"),
           "--directory", str(workdir), *args]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def tiny_snakemake(root: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """``snakemake --cores 2 *args`` on config/tiny.yaml in ``workdir`` (:func:`snakemake`; 30 min limit)."""
    return snakemake(root, workdir, "--configfile", str(root / "config/tiny.yaml"), "--cores", "2", *args)


@pytest.fixture(scope="session")
def run_tiny():
    """:func:`tiny_snakemake`, for tests that go on with the tiny run's working directory."""
    return tiny_snakemake


@pytest.fixture(scope="session")
def tiny_run(root: Path, tmp_path_factory: pytest.TempPathFactory) -> TinyRun:
    """The whole tiny workflow (config/tiny.yaml) run once per session with ``snakemake --cores 2`` in a
    temp working directory. Shared by the workflow test (which goes on to check resuming and the
    report there) and the Slurm test (whose tables must equal these byte for byte)."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    (workdir / "config").mkdir()
    shutil.copy(root / "config/schema.yaml", workdir / "config/schema.yaml")
    shutil.copy(root / "config/config.yaml", workdir / "config/config.yaml")
    done = tiny_snakemake(root, workdir)
    return TinyRun(workdir=workdir, process=done)
