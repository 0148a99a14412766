"""Where a registry task's documents come from: a pinned hub snapshot or local files, checked and hashed.

lm-eval's registry tasks name a Hugging Face dataset (``dataset_path``/``dataset_name``) and would fetch it
on first use. This workflow's compute jobs run offline, so every registry task's documents are settled
first, on the login node, by the ``task_data`` rule (:func:`prepare`):

* **hub** sources (the data spec, ``config/paper_data.yaml``): the dataset repository is snapshotted at a
  pinned commit into the hub cache (only the files of the task's dataset config, found from the
  repository card's ``configs`` section), exactly as the model is (:mod:`iclprune.model.download`);
* **local** sources (config ``data_root`` / ``data_sources``): json/jsonl/parquet/csv files the user has.

Either way, the task's own config is pointed at those files (:func:`with_source`: ``dataset_path`` becomes
the file format, ``dataset_kwargs.data_files`` the files; prompts, choices, targets, ``process_results``
and metrics stay the registry's), its first document of every split is run through the task's templates
(a missing field fails here, naming the task, split and field), and a SHA-256 manifest is written. Jobs
read only the files the manifest lists, after re-hashing them (:func:`load_manifest`), and
``iclprune verify-data`` re-checks a manifest by hand.

Where each task's source is configured, and the hub fetch, are :mod:`iclprune.evaluate.datasources`'s
(this module re-exports its names, ``__all__``, so ``from iclprune.evaluate.taskdata import ...`` keeps
working for them).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iclprune.evaluate.datasources import (
    BUILDERS,
    SPLITS,
    DataSource,
    DataSourceError,
    _builder,
    base_task,
    fetch_snapshot,
    read_data_spec,
    source_from_entry,
    split_files,
    task_sources,
)
from iclprune.model.download import COMMIT, build_manifest, verify_snapshot

__all__ = [
    "BUILDERS",
    "DATA_FORMAT",
    "ROLES",
    "SPLITS",
    "DataSource",
    "DataSourceError",
    "base_task",
    "check_documents",
    "data_identity",
    "fetch_snapshot",
    "is_commit",
    "load_manifest",
    "prepare",
    "read_data_spec",
    "source_from_entry",
    "split_files",
    "task_config_for",
    "task_sources",
    "verify_data",
    "with_source",
]

log = logging.getLogger(__name__)

DATA_FORMAT = (
    "iclprune-data/1"  # a model manifest's file list (iclprune.model.download) plus the task's splits
)
ROLES = ("training_split", "validation_split", "test_split", "fewshot_split")


# ------------------------------------------------------------------------------------------ the config
def with_source(cfg: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``cfg`` (an lm-eval task config) reading the files of data ``manifest`` instead of its own dataset.

    Only the source changes: ``dataset_path`` becomes the files' builder (parquet/json/csv),
    ``dataset_name`` null and ``dataset_kwargs`` ``{data_files: …}``. A split role (training, validation,
    test, few-shot) naming a split the source lacks is set to null, with one log line.
    """
    out = copy.deepcopy(dict(cfg))
    root = Path(manifest["snapshot"])
    files = {s: [str(root / f) for f in fs] for s, fs in manifest["splits"].items()}
    out["dataset_path"] = manifest["builder"]
    out["dataset_name"] = None
    out["dataset_kwargs"] = {"data_files": files}
    task = out.get("task", manifest.get("task"))
    for role in ROLES:
        split = out.get(role)
        if split and split not in files:
            log.info("task %s: the data source has no %r split; %s set to null", task, split, role)
            out[role] = None
    return out


def _fields_of(text: str) -> set[str]:
    import jinja2
    import jinja2.meta

    return set(jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(text)))


def _missing_field(err: Exception) -> str | None:
    """The field a template or ``process_docs`` looked up and did not find (a KeyError's key, a jinja2
    "'x' is undefined"), or None."""
    import jinja2

    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    if isinstance(err, jinja2.exceptions.UndefinedError):
        m = re.search(r"'([^']+)' is undefined", str(err))
        return m.group(1) if m else None
    return None


def _one_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


def check_documents(cfg: Mapping[str, Any], *, task: str, need_eval: bool = True) -> dict[str, int]:
    """Build the lm-eval task of ``cfg`` (no model) and run the first document of every split it uses
    through its templates; return split → number of documents.

    Raises :class:`DataSourceError` naming the task, the split and the missing field when a document
    lacks a field the prompt, choices or target need, or (with ``need_eval``) when the task has no split
    to evaluate on. Without ``need_eval`` a source with only a training split is checked as importance
    reads it.
    """
    import datasets
    from lm_eval.api.task import ConfigurableTask

    cfg = dict(cfg)
    if not (cfg.get("validation_split") or cfg.get("test_split")):
        have = sorted(cfg.get("dataset_kwargs", {}).get("data_files", {}))
        if need_eval or not cfg.get("training_split"):
            raise DataSourceError(
                f"task {task!r}: its data source has no split to evaluate on (it has {have}); expected the "
                "task's validation or test split"
            )
        cfg["test_split"] = cfg["training_split"]  # as importance reads it (iclprune.evaluate.evaluation)
    splits = [cfg[r] for r in ("training_split", "validation_split", "test_split") if cfg.get(r)]
    # the raw documents first (lm-eval reads them again from datasets' cache): their fields are known
    # before lm-eval's task runs a template on them (it does, on a first document, while it is built)
    try:
        raw = datasets.load_dataset(
            cfg["dataset_path"], name=cfg.get("dataset_name"), **(cfg.get("dataset_kwargs") or {})
        )
    except Exception as err:  # datasets' own errors: unreadable file, bad JSON, splits of other fields
        raise _split_problem(cfg, task) or DataSourceError(
            f"task {task!r}: its data could not be read: {_one_line(err)}"
        ) from err
    columns = {split: sorted(raw[split].column_names) for split in splits}
    for split in splits:
        have = columns[split]
        if cfg.get("process_docs") is not None:  # the fields templates see are made by process_docs
            break
        for key in ("doc_to_text", "doc_to_target", "doc_to_choice"):
            value = cfg.get(key)
            if isinstance(value, str) and "{{" in value:
                missing = sorted(_fields_of(value) - set(have) - {"loop", "range"})
                if missing:
                    raise DataSourceError(
                        f"task {task!r}: documents of split {split!r} lack field {missing[0]!r} that its "
                        f"{key} needs; they have {have}"
                    )
            elif (
                key == "doc_to_target"
                and isinstance(value, str)
                and value.isidentifier()
                and value not in have
            ):
                raise DataSourceError(
                    f"task {task!r}: documents of split {split!r} lack field {value!r} (its doc_to_target); "
                    f"they have {have}"
                )

    def lacking(err: Exception, split: str | None) -> DataSourceError | None:
        """A missing-field error naming ``split`` (default: the first split without that field)."""
        name = _missing_field(err)
        if name is None:
            return None
        if split is None:
            split = next((s for s in splits if name not in columns[s]), splits[-1])
        return DataSourceError(
            f"task {task!r}: documents of split {split!r} lack field {name!r} that the task needs; they have "
            f"{columns[split]}"
        )

    try:
        lm_task = ConfigurableTask(config=copy.deepcopy(cfg))
    except Exception as err:  # a function template or process_docs on a document without a field
        raise lacking(err, None) or DataSourceError(
            f"task {task!r}: its documents could not be read by the task: {_one_line(err)}"
        ) from err
    getters = {
        "training_split": lm_task.training_docs,
        "validation_split": lm_task.validation_docs,
        "test_split": lm_task.test_docs,
    }
    counts: dict[str, int] = {}
    for role, get in getters.items():
        split = cfg.get(role)
        if not split:
            continue
        try:
            docs = get()
            doc = docs[0]
            lm_task.doc_to_text(doc)
            lm_task.doc_to_target(doc)
            if lm_task.OUTPUT_TYPE == "multiple_choice":
                lm_task.doc_to_choice(doc)
        except Exception as err:
            problem = lacking(err, split)
            if problem is None:
                raise
            raise problem from err
        counts[split] = len(docs)
    return counts


def _split_problem(cfg: Mapping[str, Any], task: str) -> DataSourceError | None:
    """Why the splits of ``cfg``'s files cannot be read together: one that cannot be read on its own, or
    one that lacks a field another has (``datasets`` then fails to cast them to one schema)."""
    import datasets

    files = (cfg.get("dataset_kwargs") or {}).get("data_files") or {}
    columns: dict[str, set[str]] = {}
    for split, paths in files.items():
        try:
            one = datasets.load_dataset(cfg["dataset_path"], data_files={split: paths})
        except Exception as err:
            return DataSourceError(
                f"task {task!r}: split {split!r} ({paths}) could not be read: {_one_line(err)}"
            )
        columns[split] = set(one[split].column_names)
    # the training split (the demonstrations) is the reference layout; a split lacking one of its fields
    # is named first, then a training split lacking a field that the others share
    reference = (
        cfg.get("training_split") if cfg.get("training_split") in columns else next(iter(columns), None)
    )
    order = [s for s in columns if s != reference] + ([reference] if reference else [])
    for split in order:
        others = [c for s, c in columns.items() if s != split]
        expected = (
            columns[reference] if split != reference else set.intersection(*others) if others else set()
        )
        missing = sorted(expected - columns[split])
        if missing:
            return DataSourceError(
                f"task {task!r}: documents of split {split!r} lack field {missing[0]!r} that the other splits "
                f"have; expected every split in the task's field layout (it has {sorted(columns[split])})"
            )
    return None


# -------------------------------------------------------------------------------------- the data rule
def _manifest_beside(snapshot: Path, task: str) -> Path:
    return snapshot.parent.parent / "iclprune" / f"{snapshot.name}.{task}.manifest.json"


def prepare(
    source: DataSource | Mapping[str, Any],
    out: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    need_eval: bool = True,
) -> dict[str, Any]:
    """The ``task_data`` stage: settle one task's documents and write their manifest to ``out``.

    Hub source: snapshot at the pinned commit (see :func:`fetch_snapshot`), manifest also written beside
    the snapshot in the cache (an earlier one there is compared first). Local source: the files as they
    are. Then the task's config is pointed at them and its documents checked (:func:`check_documents`).
    """
    from importlib.metadata import version

    from iclprune.core.io import write_json
    from iclprune.evaluate.taskdefs import task_config

    src = source if isinstance(source, DataSource) else DataSource.from_dict(source)
    if src.kind == "hub":
        snapshot, splits = fetch_snapshot(src, cache_dir=cache_dir)
        label, revision = src.repo or "", src.revision or ""
    else:
        paths = src.local_files()
        snapshot = Path(os.path.commonpath([str(Path(p).parent) for p in paths]))
        splits = {s: [Path(f).relative_to(snapshot).as_posix() for f in fs] for s, fs in src.files.items()}
        label, revision = f"local files of {src.task}", "local"
    wanted = sorted({f for fs in splits.values() for f in fs})
    manifest = build_manifest(snapshot, label, revision, allow_patterns=wanted)
    manifest.update(
        data_format=DATA_FORMAT,
        task=src.task,
        source=src.to_dict(),
        builder=_builder(splits, src.task),
        splits=splits,
        datasets=version("datasets"),
        lm_eval=version("lm_eval"),
    )
    manifest["allow_patterns"] = wanted
    cfg = with_source(task_config(src.task), manifest)
    manifest["documents"] = check_documents(cfg, task=src.task, need_eval=need_eval)
    if src.kind == "hub":
        beside = _manifest_beside(snapshot, src.task)
        if beside.is_file():
            verify_snapshot(beside, snapshot)  # bytes changed since an earlier fetch: a ChecksumError
        write_json(manifest, beside)
    write_json(manifest, out)
    log.info(
        "task %s: %s, splits %s (%d files, %d bytes); manifest %s", src.task,
        f"{src.repo}@{src.revision}" if src.kind == "hub" else f"local files under {snapshot}",
        manifest["documents"], manifest["n_files"], manifest["total_bytes"], out,
    )  # fmt: skip
    return manifest


def verify_data(manifest: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Re-hash the files a data manifest lists; return the manifest. Raises
    :class:`iclprune.model.download.ChecksumError` naming every missing or changed file."""
    data = dict(manifest) if isinstance(manifest, Mapping) else json.loads(Path(manifest).read_text())
    if data.get("data_format") != DATA_FORMAT:
        what = "manifest" if isinstance(manifest, Mapping) else str(manifest)
        raise DataSourceError(f"{what} is not a data manifest; expected data_format {DATA_FORMAT!r}")
    verify_snapshot(data)  # the same file list as a model manifest (iclprune.model.download)
    return data


def load_manifest(path: str | os.PathLike[str], task: str) -> dict[str, Any]:
    """The data manifest of ``task`` at ``path``, its files re-hashed (jobs read only verified bytes)."""
    data = verify_data(path)
    if data["task"] != task:
        raise DataSourceError(f"data manifest {path} is for task {data['task']!r}; expected {task!r}")
    return data


def task_config_for(task: str, data: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The lm-eval config of ``task``, reading the files of data manifest ``data`` when given."""
    from iclprune.evaluate.taskdefs import task_config

    cfg = task_config(task)
    return cfg if data is None else with_source(cfg, load_manifest(data, task))


def data_identity(data: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """What a result's provenance records of its data: the source and a digest of the file hashes."""
    if data is None:
        return None
    m = json.loads(Path(data).read_text())
    digest = hashlib.sha256("".join(f["sha256"] for f in m["files"]).encode()).hexdigest()
    return {"source": m["source"], "files_sha256": digest}


def is_commit(revision: str | None) -> bool:
    return bool(revision) and bool(COMMIT.fullmatch(str(revision)))
