"""Plain-data stage outputs: atomic writes, Parquet/TSV/JSON tables, provenance sidecars.

Every stage writes through :func:`atomic_path`, so a crash never leaves a half-written output that a
re-run would mistake for a finished one. Tables are long-format Parquet (or TSV); each carries a JSON
sidecar ``<name>.json`` with package versions, seeds, the config hash and the git commit. No pickles.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

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


def git_state(start: str | os.PathLike[str] | None = None) -> tuple[str, bool | None]:
    """``(commit, dirty)`` of the repository at ``start``, by default the one holding this package's
    source (else the working directory's): the HEAD commit and whether tracked files differ from it;
    ``("unknown", None)`` outside a git checkout. ``$ICLPRUNE_GIT_COMMIT`` (containers without ``.git``)
    overrides the commit, with ``$ICLPRUNE_GIT_DIRTY`` (``0``/``1``; unknown when unset)."""
    if os.environ.get("ICLPRUNE_GIT_COMMIT"):
        flag = os.environ.get("ICLPRUNE_GIT_DIRTY")
        return os.environ["ICLPRUNE_GIT_COMMIT"], None if flag is None else flag.strip() in {"1", "true"}
    places = [Path(start)] if start is not None else [Path(__file__).resolve().parent, Path.cwd()]
    for cwd in places:
        try:
            head = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True,
                text=True, timeout=10, check=True,
            ).stdout.strip()  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            continue
        return head, bool(dirty)
    return "unknown", None


def git_commit(start: str | os.PathLike[str] | None = None) -> str:
    """The current git commit (see :func:`git_state`), or ``unknown``."""
    return git_state(start)[0]


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
    """A sidecar dict: package versions (``python``, ``torch``, ``transformers``, ``lm_eval``, ``iclprune``,
    ...), ``git_commit`` and ``git_dirty`` (separate fields), ``config_hash`` and the config itself, plus
    ``extra`` (``seeds``, counts). Nothing in it depends on the time or the host, so two runs of a stage
    with the same inputs write byte-identical sidecars."""
    commit, dirty = git_state()
    return {
        "versions": package_versions(),
        "git_commit": commit,
        "git_dirty": dirty,
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
    """Write a table and its provenance sidecar (sidecar first, so a present table implies both; the
    sidecar is removed again when the table cannot be written)."""
    check_table_path(path)
    write_json(provenance(config, **extra), sidecar_path(path))
    try:
        write_table(df, path)
    except BaseException:
        sidecar_path(path).unlink(missing_ok=True)
        raise


def check_table_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if it names a table this package writes (``.parquet`` or ``.tsv``); otherwise a ValueError
    naming it. Stages call this before computing anything."""
    p = Path(path)
    if p.suffix not in (".parquet", ".tsv"):
        raise ValueError(
            f"output {str(p)!r} has unknown table format {p.suffix!r}; expected .parquet or .tsv"
        )
    return p


CHECKPOINT_HEADER = "checkpoint_config_hash"
_EXPECTED_HASH: dict[Path, str] = {}  # checkpoint path → config hash its header must carry


def _checkpoint_lines(path: Path) -> list[dict[str, Any]]:
    """The records of a checkpoint file. A torn last line (the process was killed mid-write) is cut off
    the file, so later appends start on a fresh line; any other undecodable line is an error."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        log.warning("checkpoint %s: dropping a torn last line (%d bytes)", path, len(data) - keep)
        os.truncate(path, keep)
        data = data[:keep]
    records = []
    for number, line in enumerate(data.decode(errors="replace").splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise StageInputError(
                f"corrupted checkpoint {path}, line {number}: {err}; expected one JSON record per line "
                "(delete the file to recompute its points)"
            ) from err
        if not isinstance(record, dict):
            raise StageInputError(
                f"corrupted checkpoint {path}, line {number}: {line[:60]!r} is not a JSON object; expected "
                "one record per line (delete the file to recompute its points)"
            )
        records.append(record)
    return records


class Checkpoint:
    """Append-only JSONL of finished sub-results of a long stage, so a re-run resumes after a crash.

    Each record is one line, flushed and fsynced; a torn last line (killed mid-write) is dropped. ``key``
    names the fields that identify a sub-result. A stage binds the file to its parameters first with
    :func:`prepare_checkpoint`; the file's first line then records their hash.
    """

    def __init__(self, path: str | os.PathLike[str], key: tuple[str, ...]):
        self.path = Path(path)
        self.key = key
        self.done: dict[tuple, dict[str, Any]] = {}
        self.config_hash: str | None = None
        if self.path.is_file():
            for record in _checkpoint_lines(self.path):
                if CHECKPOINT_HEADER in record:
                    self.config_hash = record[CHECKPOINT_HEADER]
                    continue
                missing = [k for k in key if k not in record]
                if missing:
                    raise StageInputError(
                        f"corrupted checkpoint {self.path}: record {json.dumps(record)[:80]} lacks {missing}; "
                        f"expected fields {list(key)} (delete the file to recompute its points)"
                    )
                self.done[self._key(record)] = record

    def _key(self, record: Mapping[str, Any]) -> tuple:
        return tuple(record[k] for k in self.key)

    def get(self, **key: Any) -> dict[str, Any] | None:
        """The finished record with these key values, if any."""
        return self.done.get(tuple(key[k] for k in self.key))

    def add(self, record: dict[str, Any]) -> None:
        """Persist one finished record (after the header line, when the stage bound this file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        expected = _EXPECTED_HASH.get(self.path.absolute())
        lines = ""
        if expected and not self.path.exists():
            lines = json.dumps({CHECKPOINT_HEADER: expected}) + "\n"
        with self.path.open("a") as fh:
            # Field order is kept (not sorted): a resumed point's table columns come out in the order a
            # freshly computed point's do, so resumed and uninterrupted runs write identical tables.
            fh.write(lines + json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.done[self._key(record)] = record

    def remove(self) -> None:
        """Delete the checkpoint once the stage's final output is written."""
        self.path.unlink(missing_ok=True)
        _EXPECTED_HASH.pop(self.path.absolute(), None)


def prepare_checkpoint(path: str | os.PathLike[str], config: Mapping[str, Any]) -> Path:
    """Bind a stage's checkpoint ``path`` to ``config`` (its parameters and inputs) before the stage runs.

    A checkpoint left by a run with the same config hash is kept, and the number of finished points it
    holds is logged (``resuming N finished points``); one written for other parameters (or without a
    header) is deleted with a warning, so changed parameters never reuse stale points. A corrupted file
    raises :class:`StageInputError` naming it. Nothing is written until the first point finishes.
    """
    p = Path(path)
    digest = config_hash(config)
    if p.is_file():
        records = _checkpoint_lines(p)
        found = next((r[CHECKPOINT_HEADER] for r in records if CHECKPOINT_HEADER in r), None)
        n_points = sum(1 for r in records if CHECKPOINT_HEADER not in r)
        if found == digest:
            log.info("resuming %d finished points from %s", n_points, p)
        else:
            log.warning(
                "checkpoint %s was written for other parameters (config hash %s, now %s); discarding its "
                "%d points", p, found, digest, n_points,
            )  # fmt: skip
            p.unlink()
    _EXPECTED_HASH[p.absolute()] = digest
    return p


def raise_on_sigterm() -> Any:
    """Turn SIGTERM into ``SystemExit(143)`` so ``finally`` blocks run (temporary files of atomic writes
    are removed; a checkpoint keeps its finished points). Returns the previous handler (None, and nothing
    installed, outside the main thread)."""

    def handler(signum: int, frame: Any) -> None:
        print("iclprune: terminated (SIGTERM); finished points stay in the checkpoint", file=sys.stderr)
        raise SystemExit(128 + signum)

    if threading.current_thread() is not threading.main_thread():
        return None  # only the main thread may install handlers; leave the process's as it is
    return signal.signal(signal.SIGTERM, handler)
