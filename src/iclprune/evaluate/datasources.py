"""Which files a task's documents come from, and fetching a hub dataset's snapshot at its pinned commit.

A source is given per task in the workflow config, first match wins (:func:`task_sources`):

.. code-block:: yaml

    data_sources:                       # 1. one task, explicitly
      boolq: {path: /data/boolq}        #    a folder of <split>.jsonl / <split>-*.parquet files
      cb: {files: {train: a.jsonl, validation: b.jsonl}}
      copa: {repo: aps/super_glue, name: copa, revision: <40-hex commit>}
    data_root: /data/superglue          # 2. <data_root>/<task>/ (a fixed task also looks for its base task)
    data_spec: config/paper_data.yaml   # 3. the data spec: hub repositories and pinned revisions

Each becomes a :class:`DataSource`: a **hub** source (repository, dataset config, pinned revision) or a
**local** one (split → files). :func:`fetch_snapshot` snapshots a hub source into the hub cache, only the
files of the task's dataset config (found from the repository card's ``configs`` section, else from file
names), reusing the cache and never downloading when ``HF_HUB_OFFLINE=1``. Checking the documents and
writing the manifest is :mod:`iclprune.evaluate.taskdata`'s.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from iclprune.evaluate.lmeval_fixes import FIXED_TASKS
from iclprune.evaluate.taskdefs import TaskConfigError
from iclprune.model.download import DownloadError, check_revision, hub_cache_dir

log = logging.getLogger(__name__)

#: file suffix → the ``datasets`` builder that reads it
BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}
SPLITS = ("train", "validation", "test")
# train.jsonl, validation-00000-of-00001.parquet, test_0.parquet, dev.json
_SPLIT_FILE = re.compile(
    r"^(?P<split>[A-Za-z][A-Za-z0-9]*?)(?:[-_]\d+(?:-of-\d+)?)?\.(?:parquet|jsonl|json|csv)$"
)
_SOURCE_KEYS = {"repo", "name", "revision", "data_files", "path", "files"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class DataSourceError(TaskConfigError):
    """A task's data source is malformed, missing, unpinned or lacks what the task needs; the message
    names the task and what was expected."""


# ------------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class DataSource:
    """Where one task's documents come from.

    A hub source has ``repo`` (a dataset repository such as ``aps/super_glue``), ``name`` (its dataset
    config, lm-eval's ``dataset_name``), ``revision`` (a 40-hex commit, checked when fetched) and optional
    ``data_files`` (split → glob patterns inside the repository, when its card has no ``configs``). A
    local source has ``files`` (split → absolute file paths).
    """

    task: str
    repo: str | None = None
    name: str | None = None
    revision: str | None = None
    data_files: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "hub" if self.repo else "local"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (a rule's ``params`` value, a manifest's ``source``)."""
        out: dict[str, Any] = {"task": self.task, "kind": self.kind}
        if self.repo:
            out.update(repo=self.repo, name=self.name, revision=self.revision)
            if self.data_files:
                out["data_files"] = self.data_files
        else:
            out["files"] = self.files
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataSource:
        return cls(
            task=data["task"],
            repo=data.get("repo"),
            name=data.get("name"),
            revision=data.get("revision"),
            data_files={k: list(v) for k, v in (data.get("data_files") or {}).items()},
            files={k: list(v) for k, v in (data.get("files") or {}).items()},
        )

    def key(self) -> str:
        """A path-safe name for this source (the data rule's output folder): which repository at which
        commit, or a digest of the local files' paths."""
        if self.repo:
            rev = (self.revision or "unpinned")[:12]
            return f"hub-{self.repo.replace('/', '--')}-{self.name or 'default'}-{rev}"
        digest = hashlib.sha256(json.dumps(self.files, sort_keys=True).encode()).hexdigest()[:12]
        return f"local-{digest}"

    def local_files(self) -> list[str]:
        """Every local file (a hub source has none): the data rule's inputs."""
        return sorted({f for files in self.files.values() for f in files})


def base_task(task: str) -> str:
    """The registry task whose data ``task`` reads (a fixed task reads its base task's data)."""
    return FIXED_TASKS.get(task, task)


def split_files(directory: Path, *, task: str) -> dict[str, list[str]]:
    """Split → files of a local folder holding ``<split>.jsonl``, ``<split>-00000-of-00001.parquet`` … (one
    format); a :class:`DataSourceError` naming the task when it holds none or mixes formats."""
    if not directory.is_dir():
        raise DataSourceError(
            f"task {task!r}: data folder {directory} does not exist; expected a folder of split files"
        )
    out: dict[str, list[str]] = {}
    for path in sorted(directory.iterdir()):
        m = _SPLIT_FILE.match(path.name)
        if m and path.is_file():
            out.setdefault(m["split"], []).append(str(path.resolve()))
    if not out:
        raise DataSourceError(
            f"task {task!r}: data folder {directory} holds no split files; expected files such as train.jsonl, "
            "validation.jsonl or validation-00000-of-00001.parquet"
        )
    _builder(out, task)
    return out


def _builder(files: Mapping[str, Sequence[str]], task: str) -> str:
    suffixes = {Path(f).suffix for fs in files.values() for f in fs}
    builders = {BUILDERS.get(s) for s in suffixes}
    if None in builders or len(builders) != 1:
        raise DataSourceError(
            f"task {task!r}: data files have suffixes {sorted(suffixes)}; expected one format of "
            f"{sorted(BUILDERS)} for all splits"
        )
    return builders.pop()  # type: ignore[return-value]


def source_from_entry(task: str, entry: Any, *, base_dir: Path, where: str) -> DataSource:
    """One task's source from a config or data-spec entry (``where`` names the entry in messages)."""
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, Mapping):
        raise DataSourceError(
            f"task {task!r}: {where} is {entry!r}; expected a mapping with repo/name/revision, path or files"
        )
    unknown = sorted(set(entry) - _SOURCE_KEYS)
    if unknown:
        raise DataSourceError(
            f"task {task!r}: {where} has unknown keys {unknown}; expected some of {sorted(_SOURCE_KEYS)}"
        )
    kinds = [k for k in ("repo", "path", "files") if entry.get(k) is not None]
    if len(kinds) != 1:
        raise DataSourceError(
            f"task {task!r}: {where} gives {kinds or 'none'} of repo, path, files; expected exactly one"
        )
    hub_only = sorted(k for k in ("name", "revision", "data_files") if entry.get(k) is not None)
    if "repo" not in kinds and hub_only:
        raise DataSourceError(
            f"task {task!r}: {where} gives {hub_only} with {kinds[0]}; expected those only with `repo` (a hub "
            "source)"
        )
    if "repo" in kinds:
        repo = entry["repo"]
        if not isinstance(repo, str) or not _HUB_ID.match(repo):
            raise DataSourceError(
                f"task {task!r}: {where} repo {repo!r} is not a hub dataset id; expected 'org/name'"
            )
        revision = entry.get("revision")
        if revision is not None and not isinstance(revision, str):
            raise DataSourceError(
                f"task {task!r}: {where} revision {revision!r}; expected a 40-hex commit string"
            )
        patterns = entry.get("data_files") or {}
        if not isinstance(patterns, Mapping):
            raise DataSourceError(
                f"task {task!r}: {where} data_files {patterns!r}; expected split → glob pattern(s)"
            )
        return DataSource(
            task,
            repo=repo,
            name=entry.get("name"),
            revision=revision,
            data_files={s: [p] if isinstance(p, str) else list(p) for s, p in patterns.items()},
        )
    if "path" in kinds:
        return DataSource(
            task, files=split_files(base_dir / Path(str(entry["path"])).expanduser(), task=task)
        )
    given = entry["files"]
    if not isinstance(given, Mapping) or not given:
        raise DataSourceError(f"task {task!r}: {where} files {given!r}; expected split → file path(s)")
    files: dict[str, list[str]] = {}
    for split, paths in given.items():
        for p in [paths] if isinstance(paths, str) else list(paths):
            full = (base_dir / Path(str(p)).expanduser()).resolve()
            if not full.is_file():
                raise DataSourceError(f"task {task!r}: {where} file of split {split!r} not found: {full}")
            files.setdefault(str(split), []).append(str(full))
    _builder(files, task)
    return DataSource(task, files=files)


def read_data_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``datasets`` mapping of a data spec file (task → repo/name/revision)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise DataSourceError(
            f"data spec {path} not found; expected a YAML file with a `datasets` mapping"
        ) from None
    except yaml.YAMLError as err:
        raise DataSourceError(f"data spec {path} is not valid YAML: {err}") from err
    if not isinstance(data, Mapping) or not isinstance(data.get("datasets"), Mapping):
        raise DataSourceError(
            f"data spec {path} has no `datasets` mapping; expected task → {{repo, name, revision}}"
        )
    return dict(data["datasets"])


def task_sources(
    config: Mapping[str, Any], tasks: Sequence[str], *, base_dir: str | os.PathLike[str] = "."
) -> dict[str, DataSource]:
    """The data source of each of ``tasks`` that has one in ``config`` (``data_sources``, then
    ``data_root``, then ``data_spec``; relative paths from ``base_dir``). Tasks without one keep the
    source of their own config (bundled tasks: their files). Cheap: no lm-eval, no data read."""
    base = Path(base_dir)
    explicit = config.get("data_sources") or {}
    if not isinstance(explicit, Mapping):
        raise DataSourceError(f"data_sources is {explicit!r}; expected a mapping task → source")
    stray = sorted(set(explicit) - set(tasks))
    if stray:
        raise DataSourceError(
            f"data_sources names {stray}, not tasks of this run; expected some of {list(tasks)}"
        )
    spec = read_data_spec(base / config["data_spec"]) if config.get("data_spec") else {}
    root = base / Path(str(config["data_root"])).expanduser() if config.get("data_root") else None
    if root is not None and not root.is_dir():
        raise DataSourceError(
            f"data_root {root} is not a folder; expected a folder with one sub-folder per task"
        )
    out: dict[str, DataSource] = {}
    for task in tasks:
        if task in explicit:
            out[task] = source_from_entry(task, explicit[task], base_dir=base, where=f"data_sources.{task}")
        elif root is not None and any((root / t).is_dir() for t in (task, base_task(task))):
            folder = root / task if (root / task).is_dir() else root / base_task(task)
            out[task] = DataSource(task, files=split_files(folder, task=task))
        elif task in spec or base_task(task) in spec:
            key = task if task in spec else base_task(task)
            out[task] = source_from_entry(task, spec[key], base_dir=base, where=f"data spec entry {key!r}")
    return out


# ------------------------------------------------------------------------------------------ hub fetch
def _card_data_files(readme: Path, name: str | None, *, task: str) -> dict[str, list[str]] | None:
    """Split → patterns of dataset config ``name`` in a dataset card's YAML ``configs`` (None when the
    card has no ``configs``; a :class:`DataSourceError` naming the configs it has when ``name`` is not
    among them)."""
    if not readme.is_file():
        return None
    text = readme.read_text(errors="replace")
    m = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, re.S)
    if not m:
        return None
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError:
        return None
    configs = [c for c in (meta.get("configs") or []) if isinstance(c, Mapping)]
    for conf in configs:
        if conf.get("config_name", "default") != (name or "default"):
            continue
        files = conf.get("data_files")
        if isinstance(files, str):
            return {"train": [files]}
        if isinstance(files, Mapping):
            return {s: [p] if isinstance(p, str) else list(p) for s, p in files.items()}
        out: dict[str, list[str]] = {}
        for item in files or []:
            if isinstance(item, str):  # a bare pattern: the train split, as datasets reads it
                out.setdefault("train", []).append(item)
                continue
            paths = item["path"]
            out.setdefault(item.get("split", "train"), []).extend(
                [paths] if isinstance(paths, str) else paths
            )
        return out
    if configs:
        names = [c.get("config_name", "default") for c in configs]
        raise DataSourceError(
            f"task {task!r}: the dataset card {readme} has no config {name or 'default'!r}; expected one of "
            f"{names} (the data spec's `name`, lm-eval's dataset_name)"
        )
    return None


def _match(snapshot: Path, patterns: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    import fnmatch

    rel = sorted(p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file())
    out: dict[str, list[str]] = {}
    for split, pats in patterns.items():
        hits = [r for r in rel if any(fnmatch.fnmatch(r, p) for p in pats)]
        if hits:
            out[split] = hits
    return out


def _unmatched(snapshot: Path, patterns: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Split → patterns of the splits that no file of ``snapshot`` matches."""
    found = _match(snapshot, patterns)
    return {s: list(p) for s, p in patterns.items() if s not in found}


def _by_file_name(snapshot: Path, folder: str) -> dict[str, list[str]]:
    d = snapshot / folder
    if not d.is_dir():
        return {}
    out: dict[str, list[str]] = {}
    for path in sorted(d.iterdir()):
        m = _SPLIT_FILE.match(path.name)
        if m:
            out.setdefault(m["split"], []).append(f"{folder}/{path.name}")
    return out


def _snapshot(
    source: DataSource, revision: str, patterns: list[str], cache: Path, *, download: bool
) -> Path | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"task {source.task!r}: dataset {source.repo!r}@{revision}"
    try:
        path = snapshot_download(
            source.repo, repo_type="dataset", revision=revision, cache_dir=str(cache),
            allow_patterns=patterns, local_files_only=not download,
        )  # fmt: skip
        return Path(path)
    except LocalEntryNotFoundError as err:
        if not download:
            return None
        raise DataSourceError(f"{where} could not be downloaded (network?): {err}") from err
    except RevisionNotFoundError as err:
        raise DataSourceError(
            f"{where}: no such revision on the hub; expected a commit of that repository: {err}"
        ) from err
    except (RepositoryNotFoundError, GatedRepoError) as err:
        raise DataSourceError(f"{where}: not on the hub or needs access (`hf auth login`): {err}") from err


def fetch_snapshot(
    source: DataSource, *, cache_dir: str | os.PathLike[str] | None = None
) -> tuple[Path, dict[str, list[str]]]:
    """The snapshot of a hub source at its pinned commit and the split → files (relative to it) of its
    dataset config, downloading only what the hub cache lacks (nothing when ``HF_HUB_OFFLINE=1``)."""
    from iclprune.model.download import _offline

    try:
        revision = check_revision(source.repo or "", source.revision, kind="dataset")
    except DownloadError as err:
        raise DataSourceError(f"task {source.task!r}: {err}") from err
    cache = hub_cache_dir(cache_dir)
    offline = _offline()

    def get(patterns: list[str], lacking) -> Path:
        """The snapshot holding files for ``patterns``; ``lacking(snapshot)`` says what it still lacks."""
        snap = _snapshot(source, revision, patterns, cache, download=False)
        if snap is not None and not lacking(snap):
            return snap
        if offline:
            state = f"is incomplete (no files for {lacking(snap)})" if snap is not None else "is not"
            raise DataSourceError(
                f"task {source.task!r}: dataset {source.repo!r}@{revision} {state} in the hub cache {cache} and "
                "HF_HUB_OFFLINE=1 forbids downloading; expected a snapshot there: run the task_data rule with "
                "network access (HF_HUB_OFFLINE=0), copy the cache from a machine that has it, or give a local "
                "source (data_root / data_sources)"
            )
        log.info("downloading %s %s@%s into %s", patterns, source.repo, revision, cache)
        snap = _snapshot(source, revision, patterns, cache, download=True)
        assert snap is not None
        return snap

    patterns = dict(source.data_files)
    if not patterns:
        card = get(["README.md"], lambda s: [] if (s / "README.md").is_file() else ["README.md"])
        patterns = _card_data_files(card / "README.md", source.name, task=source.task) or {}
    if patterns:
        flat = sorted({p for ps in patterns.values() for p in ps})
        snap = get(flat, lambda s: _unmatched(s, patterns))
        splits = _match(snap, patterns)
        unmatched = _unmatched(snap, patterns)
        if splits and unmatched:  # some splits found, others not even after downloading
            raise DataSourceError(
                f"task {source.task!r}: dataset {source.repo!r}@{revision} has no files for {unmatched} of "
                f"config {source.name!r}; expected every split's data_files pattern to match a file"
            )
    else:  # no card configs: <config>/<split>-*.parquet or data/<split>-*.parquet
        folder = source.name or "data"
        snap = get([f"{folder}/*"], lambda s: [] if _by_file_name(s, folder) else [f"{folder}/*"])
        splits = _by_file_name(snap, folder)
    if not splits:
        raise DataSourceError(
            f"task {source.task!r}: dataset {source.repo!r}@{revision} has no data files for config "
            f"{source.name!r} (patterns {patterns or source.name}); expected the config lm-eval reads"
        )
    return snap, splits
