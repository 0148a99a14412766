"""Two lm-eval 0.4.13 registry tasks that are wrong, overridden here in the open (never patched in place).

Each fixed task is the registry's own config with the smallest change that repairs it; everything else
(prompt, choices, splits, aggregation) stays the registry's. They are named apart from the registry's
tasks so that a result path always says which one made it, and ``docs/method.md`` lists them as
deviations. ``tests/test_lmeval_fixes.py`` shows each defect on real data and that the fix removes it.

``multirc_fixed``
    The registry's ``multirc`` lists the choices ``["…Is the answer correct? yes", "…? no"]`` with
    ``doc_to_target: label``. In the data, label 1 means *the answer is correct*, so the gold choice of a
    correct answer is "…no": the target is inverted. The fix lists the choices ``[no, yes]`` (label 1 →
    "yes", as the older harness that produced the paper's numbers scored it). The project adds ``acc_all``
    (every answer of a question right) as the paper reports it (:func:`iclprune.evaluate.evaluation.acc_all`).
``record_fixed``
    The registry's ``record`` imports ``transformers.data.metrics.squad_metrics`` in its ``util.py``,
    which transformers 5 removed, so the task cannot be loaded. The fix replaces only those functions
    with the equivalents below (same prompt, same choices; exact match and token F1 as SQuAD defines
    them, best over the gold answers).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

#: fixed task name → the lm-eval 0.4.13 registry task it repairs
FIXED_TASKS: dict[str, str] = {"multirc_fixed": "multirc", "record_fixed": "record"}
#: registry tasks that cannot be used as they are, and what to use instead
BROKEN_TASKS: dict[str, str] = {
    "record": "lm-eval 0.4.13's `record` imports transformers.data.metrics.squad_metrics, which "
    "transformers 5 removed; use `record_fixed` (the same task without that import, docs/method.md)",
}

MULTIRC_CHOICES = (
    "['''{{answer}}\\nIs the answer correct? no''', '''{{answer}}\\nIs the answer correct? yes''']"
)


# ------------------------------------------------------------------------------------------- ReCoRD
def record_doc_to_text(doc: dict[str, Any]) -> str:
    """The passage, then each ``@highlight`` as a bullet line (the registry's prompt)."""
    initial, *highlights = doc["passage"].strip().split("\n@highlight\n")
    return initial + "\n\n" + "".join(f"  - {h}.\n" for h in highlights)


def _fill(query: str, entity: str) -> str:
    return f"  - {query}".replace("@placeholder", entity)


def record_doc_to_target(doc: dict[str, Any]) -> str:
    """The query completed with the first gold entity (documents hold sorted, unique answers)."""
    return _fill(doc["query"], doc["answers"][0])


def record_doc_to_choice(doc: dict[str, Any]) -> list[str]:
    """The query completed with each candidate entity."""
    return [_fill(doc["query"], entity) for entity in doc["entities"]]


def record_process_docs(dataset: Any) -> Any:
    """Sorted, unique entities and answers (so choice order does not depend on the source's order)."""

    def one(doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "passage": doc["passage"],
            "query": doc["query"],
            "entities": sorted(set(doc["entities"])),
            "answers": sorted(set(doc["answers"])),
        }

    return dataset.map(one)


_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(gold: str, prediction: str) -> int:
    """1 when the normalised strings are equal, else 0."""
    return int(normalize_answer(gold) == normalize_answer(prediction))


def token_f1(gold: str, prediction: str) -> float:
    """SQuAD's token F1 of the normalised strings (when either is empty: 1 if both are, else 0)."""
    gold_tokens = normalize_answer(gold).split() if gold else []
    pred_tokens = normalize_answer(prediction).split() if prediction else []
    if not gold_tokens or not pred_tokens:
        return float(gold_tokens == pred_tokens)
    same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_over_answers(metric: Callable[[str, str], float], prediction: str, answers: Sequence[str]) -> float:
    """The best ``metric`` of ``prediction`` against any gold answer."""
    return max(metric(prediction, answer) for answer in answers)


def record_process_results(doc: dict[str, Any], results: Sequence[tuple[float, bool]]) -> dict[str, float]:
    """The most likely entity against the gold answers: ``{"f1": …, "em": …}`` for this document."""
    best = max(range(len(results)), key=lambda i: (results[i][0], -i))  # first maximum, as argmax
    prediction = doc["entities"][best]
    return {
        "f1": best_over_answers(token_f1, prediction, doc["answers"]),
        "em": float(best_over_answers(exact_match, prediction, doc["answers"])),
    }


_RECORD_FUNCTIONS = {
    "doc_to_text": record_doc_to_text,
    "doc_to_target": record_doc_to_target,
    "doc_to_choice": record_doc_to_choice,
    "process_docs": record_process_docs,
    "process_results": record_process_results,
}


def fixed_config(name: str, registry_config: dict[str, Any]) -> dict[str, Any]:
    """The config of fixed task ``name`` from its registry task's config (``record``'s read with its
    ``!function`` entries unresolved, so that its broken ``util.py`` is never imported)."""
    cfg = dict(registry_config)
    cfg["task"] = name
    cfg.pop("tag", None)
    metadata = dict(cfg.get("metadata") or {})
    metadata["iclprune_fix_of"] = FIXED_TASKS[name]
    cfg["metadata"] = metadata
    if name == "multirc_fixed":
        cfg["doc_to_choice"] = MULTIRC_CHOICES
        cfg["doc_to_target"] = "label"
    elif name == "record_fixed":
        cfg.update(_RECORD_FUNCTIONS)
    else:
        raise KeyError(f"{name!r} is not a fixed task; expected one of {sorted(FIXED_TASKS)}")
    return cfg
