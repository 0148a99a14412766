"""What a study is: its name (``study``, the root of every output path) and its models (``model``: one
label of ``models`` or a list of them, e.g. the sizes of a family or the checkpoints of one model).

A scale study puts its models side by side: the sizes against parameter count, and the training
checkpoints of one model (``models.<label>.step``) against training step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class StudyError(ValueError):
    """A config whose study or models cannot be run."""


def study_models(config: Mapping[str, Any]) -> list[str]:
    """Labels of the study's models, in the config's order.

    ``config["model"]`` is one label or a non-empty list of unique labels, each defined under
    ``config["models"]``; otherwise a :class:`StudyError` naming the bad value and the defined labels.
    """
    study = config.get("study")
    if not isinstance(study, str) or not STUDY_NAME.match(study):
        raise StudyError(
            f"study {study!r}: expected a name of letters, digits, '.', '_' or '-' (it names results/<study>/)"
        )
    chosen = config.get("model")
    labels = [chosen] if isinstance(chosen, str) else chosen
    if not isinstance(labels, list) or not labels or not all(isinstance(m, str) for m in labels):
        raise StudyError(f"model {chosen!r}: expected a label of `models` or a non-empty list of them")
    defined = config.get("models") or {}
    unknown = [m for m in labels if m not in defined]
    if unknown:
        names = ", ".join(unknown)
        raise StudyError(
            f"model {names!r} is not defined under `models` ({', '.join(defined)})"
            if len(unknown) == 1
            else f"models {names} are not defined under `models` ({', '.join(defined)})"
        )
    repeated = sorted({m for m in labels if labels.count(m) > 1})
    if repeated:
        raise StudyError(f"model list {labels} names {repeated} twice; expected each model once")
    return list(labels)


def scale_series(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """The study's scale series: axis → its models, for each axis with two models or more.

    ``"n_parameters"``: the models without ``step`` (sizes of a family); ``"step"``: the training
    checkpoints (models with ``step``), which must come from one repository. A study of one model, or
    of one size plus one checkpoint, has none.
    """
    labels = study_models(config)
    sizes = [m for m in labels if config["models"][m].get("step") is None]
    checkpoints = [m for m in labels if config["models"][m].get("step") is not None]
    sources = sorted({config["models"][m]["source"] for m in checkpoints})
    if len(sources) > 1:
        raise StudyError(
            f"checkpoints (models with `step`) of several repositories {sources}; expected the checkpoints "
            "of one model (a study compares sizes across models, and steps within one)"
        )
    steps = [config["models"][m]["step"] for m in checkpoints]
    if len(set(steps)) < len(steps):
        raise StudyError(f"checkpoints {checkpoints} repeat a step ({steps}); expected one model per step")
    series = {"n_parameters": sizes, "step": checkpoints}
    return {axis: models for axis, models in series.items() if len(models) >= 2}
