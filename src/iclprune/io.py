"""Plain-data stage outputs: atomic writes, Parquet/TSV/JSON tables, provenance sidecars.

Every stage writes through :func:`atomic_path`, so a crash never leaves a half-written output that a
re-run would mistake for a finished one. Tables are long-format Parquet (or TSV); each carries a JSON
sidecar ``<name>.json`` with package versions, seeds, the config hash and the git commit. No pickles.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

_UMASK = os.umask(0)
os.umask(_UMASK)
PACKAGES = ("iclprune", "torch", "transformers", "lm_eval", "accelerate", "numpy", "pandas", "scipy")


class StageInputError(ValueError):
    """An input file of a stage is missing, corrupted or of the wrong shape; the message names it."""


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path`` atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` as sorted, indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read JSON with an error naming the file when it is missing or corrupted."""
    p = Path(path)
    if not p.is_file():
        raise StageInputError(f"missing input file {p}; expected the output of an earlier stage")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as err:
        raise StageInputError(f"corrupted JSON file {p}: {err}; delete it and re-run its stage") from err


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``df`` atomically as Parquet (``.parquet``) or TSV (``.tsv``)."""
    p = Path(path)
    with atomic_path(p) as tmp:
        if p.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        elif p.suffix == ".tsv":
            df.to_csv(tmp, sep="\t", index=False, float_format="%.10g")
        else:
            raise ValueError(f"unknown table format {p.suffix!r} for {p}; expected .parquet or .tsv")


def read_table(path: str | os.PathLike[str], columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet/TSV table; errors name the file and any missing column."""
    p = Path(path)
    if not p.is_file():
        raise StageInputError(f"missing input table {p}; expected the output of an earlier stage")
    try:
        df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, sep="\t")
    except Exception as err:  # pyarrow/pandas raise many types for a truncated or foreign file
        raise StageInputError(f"corrupted table {p}: {err}; delete it and re-run its stage") from err
    missing = [c for c in columns or [] if c not in df.columns]
    if missing:
        raise StageInputError(f"table {p} lacks columns {missing}; has {list(df.columns)}")
    return df


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 (first 16 hex digits) of the canonical JSON form of ``config``."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def git_commit(start: str | os.PathLike[str] | None = None) -> str:
    """The current git commit (with ``-dirty`` when the tree has changes), or ``unknown``."""
    if os.environ.get("ICLPRUNE_GIT_COMMIT"):
        return os.environ["ICLPRUNE_GIT_COMMIT"]
    cwd = str(start or Path.cwd())
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True,
            timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine a result, plus Python's."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name.replace("_", "-"))
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(config: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """A sidecar dict: versions, git commit, config hash and the config itself, plus ``extra`` (seeds, ...)."""
    return {
        "versions": package_versions(),
        "git_commit": git_commit(),
        "config_hash": config_hash(config),
        "config": dict(config),
        **extra,
    }


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``results/x/scores.parquet`` → ``results/x/scores.json``."""
    return Path(path).with_suffix(".json")


def write_with_provenance(
    df: pd.DataFrame, path: str | os.PathLike[str], config: Mapping[str, Any], **extra: Any
) -> None:
    """Write a table and its provenance sidecar (sidecar first, so a present table implies both)."""
    write_json(provenance(config, **extra), sidecar_path(path))
    write_table(df, path)


class Checkpoint:
    """Append-only JSONL of finished sub-results of a long stage, so a re-run resumes after a crash.

    Each record is one line, flushed and fsynced; a torn last line (killed mid-write) is ignored.
    ``key`` names the fields that identify a sub-result.
    """

    def __init__(self, path: str | os.PathLike[str], key: tuple[str, ...]):
        self.path = Path(path)
        self.key = key
        self.done: dict[tuple, dict[str, Any]] = {}
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                self.done[self._key(record)] = record

    def _key(self, record: Mapping[str, Any]) -> tuple:
        return tuple(record[k] for k in self.key)

    def get(self, **key: Any) -> dict[str, Any] | None:
        """The finished record with these key values, if any."""
        return self.done.get(tuple(key[k] for k in self.key))

    def add(self, record: dict[str, Any]) -> None:
        """Persist one finished record."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.done[self._key(record)] = record

    def remove(self) -> None:
        """Delete the checkpoint once the stage's final output is written."""
        self.path.unlink(missing_ok=True)
