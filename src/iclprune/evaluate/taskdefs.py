"""Task definitions without heavy imports: bundled task files, lm-eval registry names, validation.

Kept free of torch/transformers so the workflow's DAG building and light stages (figures, tables) stay
fast; :mod:`iclprune.evaluate.evaluation` re-exports everything here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from iclprune.evaluate.lmeval_fixes import BROKEN_TASKS, FIXED_TASKS, fixed_config


class TaskConfigError(ValueError):
    """A task name or task file is unknown or malformed; the message names it and what was expected."""


def tasks_dir() -> Path:
    """The bundled task suite: ``$ICLPRUNE_TASKS`` or ``./tasks``."""
    return Path(os.environ.get("ICLPRUNE_TASKS", "tasks")).resolve()


_TASK_LINE = re.compile(r"^(?:task|group):\s*[\"']?([A-Za-z0-9_.\-]+)[\"']?\s*$", re.M)


@lru_cache(maxsize=1)
def registry_task_files() -> dict[str, list[Path]]:
    """Task and group name → the YAML files of lm-eval's bundled registry that declare it, read with a
    regex (about a second; indexing the whole registry with lm-eval's TaskManager takes several)."""
    import lm_eval.tasks

    root = Path(lm_eval.tasks.__file__).parent
    names: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*.yaml")):
        for name in _TASK_LINE.findall(path.read_text(errors="replace")):
            names.setdefault(name, []).append(path)
    return names


def registry_task_names() -> frozenset[str]:
    """Task and group names declared by lm-eval's bundled YAMLs."""
    return frozenset(registry_task_files())


def check_task_names(names: Sequence[str], directory: Path | None = None) -> None:
    """Raise TaskConfigError naming every task that is neither bundled, nor in lm-eval's registry, nor one
    of the project's fixed tasks (:mod:`iclprune.evaluate.lmeval_fixes`), and every registry task known to be broken."""
    d = directory or tasks_dir()
    unbundled = [t for t in names if not (d / f"{t}.yaml").is_file()]
    broken = [t for t in unbundled if t in BROKEN_TASKS]
    if broken:
        raise TaskConfigError("; ".join(f"task {t!r}: {BROKEN_TASKS[t]}" for t in broken))
    known = registry_task_names() | set(FIXED_TASKS) if unbundled else frozenset()
    unknown = [t for t in unbundled if t not in known]
    if unknown:
        raise TaskConfigError(
            f"unknown task(s) {unknown}: not bundled in {d} ({', '.join(bundled_tasks(d)) or 'none'}) "
            "and not in lm-eval's task registry"
        )


def check_disjoint_tasks(tasks: Sequence[str], ood_tasks: Sequence[str]) -> None:
    """A task cannot be both in-distribution (``tasks``) and out-of-distribution (``ood_tasks``)."""
    both = sorted(set(tasks) & set(ood_tasks))
    if both:
        raise TaskConfigError(
            f"task(s) {both} listed in both `tasks` and `ood_tasks`; expected each task in one of them"
        )


def check_sweep_shots(sweep_shots: Sequence[int] | None, shots: Sequence[int]) -> list[int]:
    """The shots the evaluation-heavy stages run at: ``sweep_shots`` (a non-empty subset of ``shots``,
    in ``shots``' order) or every shot when None; a TaskConfigError naming any shot not in ``shots``."""
    if sweep_shots is None:
        return list(shots)
    if not sweep_shots:
        raise TaskConfigError(
            f"sweep_shots is empty; expected a non-empty subset of shots {list(shots)} (or null: every shot)"
        )
    extra = [s for s in sweep_shots if s not in shots]
    if extra:
        raise TaskConfigError(
            f"sweep_shots {list(sweep_shots)} has {extra}, not in shots {list(shots)}; expected a subset of `shots`"
        )
    return [s for s in shots if s in sweep_shots]


def bundled_tasks(directory: Path | None = None) -> list[str]:
    """Names of the bundled tasks (one ``<name>.yaml`` each), sorted."""
    d = directory or tasks_dir()
    return sorted(p.stem for p in d.glob("*.yaml"))


def task_config(name: str, directory: Path | None = None) -> dict[str, Any]:
    """The lm-eval config dict of a bundled task (data paths made absolute), of a registry task, or of a
    fixed registry task (:mod:`iclprune.evaluate.lmeval_fixes`). The dataset source is the task's own; see
    :func:`iclprune.evaluate.taskdata.with_source` to read it from a snapshot or local files."""
    d = directory or tasks_dir()
    path = d / f"{name}.yaml"
    if path.is_file():
        try:
            cfg = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise TaskConfigError(f"task file {path} is not valid YAML: {err}") from err
        if not isinstance(cfg, dict) or cfg.get("task") != name:
            raise TaskConfigError(f"task file {path} must be a mapping with task: {name}")
        files = (cfg.get("dataset_kwargs") or {}).get("data_files") or {}
        for split, rel in files.items():
            full = (d / rel).resolve()
            if not full.is_file():
                raise TaskConfigError(f"task {name!r}: data file for split {split!r} not found: {full}")
            files[split] = str(full)
        validate_bundled_task(cfg, path)
        return cfg
    check_task_names([name], d)
    if name in FIXED_TASKS:
        base = FIXED_TASKS[name]
        return fixed_config(name, registry_config(base, resolve_functions=base not in BROKEN_TASKS))
    return registry_config(name)


@lru_cache(maxsize=16)
def task_manager(folder: str | None = None) -> Any:
    """lm-eval's ``TaskManager``: over its whole bundled registry, or (``folder``) only over the registry
    folder that holds a task (the same index and YAML loading, in a fraction of the time); built once."""
    from lm_eval.tasks import TaskManager

    if folder is None:
        return TaskManager()
    return TaskManager(include_defaults=False, include_path=folder)


def registry_config(name: str, *, resolve_functions: bool = True) -> dict[str, Any]:
    """The config dict of lm-eval registry task ``name``, read as lm-eval itself reads it: the YAML its
    ``TaskManager`` indexed, loaded with ``include``s merged and ``!function`` entries imported (or, with
    ``resolve_functions=False``, left as the functions' dotted paths)."""
    from lm_eval.tasks._index import Kind
    from lm_eval.tasks._yaml_loader import load_yaml

    if name in BROKEN_TASKS and resolve_functions:
        raise TaskConfigError(f"task {name!r} cannot be loaded: {BROKEN_TASKS[name]}")
    files = registry_task_files().get(name, [])
    # one declaring YAML: index only its folder (includes are resolved by path); else the whole registry
    manager = task_manager(str(files[0].parent)) if len(files) == 1 else task_manager()
    entry = manager.task_index.get(name)
    if entry is None:
        raise TaskConfigError(f"task {name!r} is not in lm-eval's task registry")
    if entry.kind is not Kind.TASK or entry.yaml_path is None:
        raise TaskConfigError(
            f"{name!r} is an lm-eval {entry.kind.name.lower()}, not a single YAML task; expected one task name "
            "(list a group's tasks one by one)"
        )
    cfg = load_yaml(entry.yaml_path, resolve_func=resolve_functions)
    for key in ("tag", "group", "task_list"):
        cfg.pop(key, None)
    return cfg


_REQUIRED_KEYS = ("dataset_path", "output_type", "doc_to_text", "doc_to_target", "metric_list")
# Evaluation scores every request by log-likelihood (iclprune.evaluate.evaluation), so bundled tasks use these.
OUTPUT_TYPES = ("multiple_choice", "loglikelihood")


def validate_bundled_task(cfg: dict[str, Any], path: Path) -> None:
    """Check a bundled task file before lm-eval sees it: required keys, every named split has a data
    file, and every field its templates use exists in the first document of every split."""
    import jinja2
    import jinja2.meta

    missing = [k for k in _REQUIRED_KEYS if k not in cfg]
    if missing:
        raise TaskConfigError(f"task file {path} lacks required keys {missing}")
    if cfg["output_type"] not in OUTPUT_TYPES:
        raise TaskConfigError(
            f"task file {path}: output_type={cfg['output_type']!r}; expected one of {list(OUTPUT_TYPES)}"
        )
    files = (cfg.get("dataset_kwargs") or {}).get("data_files") or {}
    for role in ("training_split", "validation_split", "test_split", "fewshot_split"):
        split = cfg.get(role)
        if split and split not in files:
            raise TaskConfigError(
                f"task file {path}: {role}={split!r} has no data file; dataset_kwargs.data_files has {sorted(files)}"
            )
    if not (cfg.get("validation_split") or cfg.get("test_split")):
        raise TaskConfigError(f"task file {path} names no validation_split or test_split to evaluate on")
    env = jinja2.Environment()
    fields: set[str] = set()
    for key in ("doc_to_text", "doc_to_choice", "doc_to_target"):
        template = cfg.get(key)
        if isinstance(template, str) and "{{" in template:
            fields |= jinja2.meta.find_undeclared_variables(env.parse(template))
    for split, file in files.items():
        docs = []
        with open(file) as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                except json.JSONDecodeError as err:
                    raise TaskConfigError(
                        f"task file {path}: line {number} of split {split!r} ({file}) is not JSON: {err}; "
                        "expected one JSON object per line"
                    ) from err
                if not isinstance(doc, dict):
                    raise TaskConfigError(
                        f"task file {path}: line {number} of split {split!r} ({file}) is a "
                        f"{type(doc).__name__}; expected one JSON object per line"
                    )
                docs.append(doc)
        if not docs:
            raise TaskConfigError(f"task file {path}: data file of split {split!r} ({file}) has no documents")
        doc = docs[0]
        absent = sorted(fields - set(doc))
        if absent:
            raise TaskConfigError(
                f"task file {path}: documents of split {split!r} lack fields {absent} used by its templates; "
                f"they have {sorted(doc)}"
            )


def chance_level(cfg: dict[str, Any]) -> float | None:
    """``metadata.chance`` of a bundled task, if it declares one."""
    chance = (cfg.get("metadata") or {}).get("chance")
    return float(chance) if chance is not None else None
