"""Evaluation through EleutherAI lm-eval on ONE resident model under any mask.

Design: lm-eval's own ``Task`` builds the requests (documents, k-shot contexts, choices) once per
(task, shot) with a fixed few-shot seed, so every mask of that (task, shot) sees byte-identical prompts;
lm-eval's ``apply_filters``/``process_results``/``aggregation`` turn the log-likelihoods into metrics,
exactly as ``lm_eval.evaluator.evaluate`` does. The log-likelihoods come from one of two paths, both
under :func:`iclprune.model.surgery.masked` hooks on the same in-memory model:

* ``shared_context=True`` (default, fast): requests are tokenised exactly as lm-eval's ``HFLM`` does
  (:func:`iclprune.evaluate.scoring.encode_instances`, once per (task, shot)) and scored by
  :func:`iclprune.evaluate.scoring.loglikelihoods`, which runs each multiple-choice context once and scores every
  choice from its cached keys/values. Equal to the reference path within 1e-4 (fp32), same ``is_greedy``.
* ``shared_context=False`` (reference): lm-eval's stock ``HFLM`` wrapped around the model object, which
  runs ``context + choice`` once per choice.

With ``mask_batch > 1`` (shared context only), several masks of a sweep are scored in the same forwards:
each batch is tiled once per mask and :func:`iclprune.model.surgery.variants_masked` hooks give every block of
rows its own mask.

We call the scorer directly (no ``CachingLM``), so no request cache can leak results from one mask into
another. A batch that runs out of memory is retried at half the batch size; a NaN/Inf log-likelihood
raises :class:`iclprune.evaluate.scoring.NonFiniteScoreError` naming the task, shot, mask and document.

Task configs come from :mod:`iclprune.evaluate.taskdefs`: bundled tasks live in ``tasks/<name>.yaml``
(``data_files`` relative to ``tasks/``); any other name is looked up in lm-eval's task registry (the
cluster path, e.g. ``boolq``).
"""

from __future__ import annotations

import copy
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from torch import nn

from iclprune.core.components import Mask, component_str
from iclprune.evaluate.batching import Example
from iclprune.evaluate.scoring import (
    ScoringOutOfMemoryError,
    check_finite,
    encode_instances,
    retry_halving,
    variant_loglikelihoods,
)
from iclprune.evaluate.scoring import loglikelihoods as score_loglikelihoods
from iclprune.evaluate.taskdefs import TaskConfigError
from iclprune.model.surgery import masked, variants_masked

log = logging.getLogger(__name__)

FULL_MODEL = Mask()  # nothing removed
DEFAULT_FEWSHOT_SEED = 1234  # lm-eval's default few-shot seed, used for every (task, shot)
Role = Literal["eval", "importance"]


@dataclass
class TaskRequests:
    """lm-eval's requests of one (task, shot), built once; ``role='importance'`` means the first N
    training documents (validation where there is no training split) with demos from the same
    few-shot split, the document itself excluded."""

    name: str
    shots: int
    seed: int
    role: Role
    limit: int | None
    task: Any  # lm_eval.api.task.ConfigurableTask
    instances: list[Any]
    docs: list[tuple[int, dict[str, Any]]] = field(repr=False)
    # token ids of every request, per (tokenizer, max_length): masks change scores, never tokens
    encoded: dict[tuple[int, int], list[Example]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_docs(self) -> int:
        return len(self.docs)

    def cloned(self) -> list[Any]:
        """Every request as lm-eval scores it: an instance with ``repeats = n`` appears ``n`` times."""
        return [inst for inst in self.instances for _ in range(inst.repeats)]


def build_requests(
    cfg: dict[str, Any],
    shots: int,
    *,
    seed: int = DEFAULT_FEWSHOT_SEED,
    limit: int | None = None,
    role: Role = "eval",
) -> TaskRequests:
    """Build lm-eval's Instances for ``cfg`` at ``shots`` demonstrations with few-shot seed ``seed``."""
    from lm_eval.api.task import ConfigurableTask

    if shots < 0:
        raise ValueError(f"shots={shots}; expected a non-negative number of demonstrations")
    if limit is not None and limit < 1:
        raise ValueError(f"limit={limit}; expected a positive number of documents or None")
    cfg = copy.deepcopy(cfg)
    name = cfg.get("task", "<unnamed>")
    if role == "importance":
        # Evaluate-over the training split: lm-eval then excludes each document from its own demos
        # (it does so when the few-shot split is the evaluated split).
        split = cfg.get("training_split") or cfg.get("validation_split") or cfg.get("test_split")
        cfg["test_split"] = split
        cfg.pop("validation_split", None)
        cfg.setdefault("fewshot_split", split)
    cfg["num_fewshot"] = shots
    # Built directly (not through get_task_dict, whose TaskManager indexes lm-eval's whole registry).
    task = ConfigurableTask(config=cfg)
    if shots > 0 and not (task.has_training_docs() or task.config.fewshot_split):
        raise TaskConfigError(f"task {name!r} has no split to draw {shots} demonstrations from")
    if shots > 0:
        pool = len(task.fewshot_docs()) - (1 if role == "importance" else 0)
        if shots > pool:
            raise TaskConfigError(
                f"task {name!r}: shots={shots} exceeds the {pool} documents available for demonstrations "
                f"in split {task.config.fewshot_split or task.config.training_split!r}"
            )
    task.set_fewshot_seed(seed=seed)
    task.build_all_requests(limit=limit, rank=0, world_size=1, cache_requests=False)
    docs = list(task.doc_iterator(rank=0, limit=limit, world_size=1))
    return TaskRequests(name, shots, seed, role, limit, task, list(task.instances), docs)


@dataclass
class EvalResult:
    """Metrics of one evaluation and its per-document rows."""

    metrics: dict[str, float]
    per_doc: pd.DataFrame  # doc_id, <metrics...>, loglik (list per request), is_greedy (list)


def describe_mask(mask: Mask, limit: int = 12) -> str:
    """``mask`` in words for error messages: its removed heads and FFNs (the first ``limit`` of each)."""

    def listed(keys: list[str]) -> str:
        more = f", … ({len(keys)} in all)" if len(keys) > limit else ""
        return ", ".join(keys[:limit]) + more

    if not mask.heads and not mask.ffns:
        return "the full model (nothing removed)"
    parts = []
    if mask.heads:
        parts.append("heads " + listed([component_str(("head", *h)) for h in sorted(mask.heads)]))
    if mask.ffns:
        parts.append("FFNs " + listed([component_str(("ffn", f)) for f in sorted(mask.ffns)]))
    return "mask removing " + " and ".join(parts)


def _describe(reqs: TaskRequests, cloned: list[Any], mask: Mask, i: int) -> str:
    """Request ``i`` of ``reqs`` (``cloned`` = ``reqs.cloned()``) under ``mask``, for error messages."""
    inst = cloned[i]
    return (
        f"task {reqs.name!r}, {reqs.shots}-shot, {describe_mask(mask)}, "
        f"document {inst.doc_id} (request {inst.idx} of that document)"
    )


class Evaluator:
    """One resident model scored under any mask (heads + FFNs), without reloading.

    ``shared_context=True`` (default) scores with :func:`iclprune.evaluate.scoring.loglikelihoods` (each context
    once, every choice from its cache); ``False`` uses lm-eval's stock ``HFLM`` (the reference). Both
    tokenise through the same ``HFLM`` (``self.lm``). With ``shared_context``, :meth:`evaluate_many`
    scores up to ``mask_batch`` masks in the same forwards (:func:`iclprune.model.surgery.variants_masked`).
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        *,
        batch_size: int = 8,
        max_length: int | None = None,
        shared_context: bool = True,
        mask_batch: int = 4,
    ):
        from lm_eval.models.huggingface import HFLM

        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}; expected a positive integer")
        if mask_batch < 1:
            raise ValueError(f"mask_batch={mask_batch}; expected a positive integer")
        self.model = model.eval()
        self.batch_size = batch_size
        self.shared_context = shared_context
        self.mask_batch = mask_batch
        device = next(model.parameters()).device
        self.lm = HFLM(
            pretrained=model,
            tokenizer=tokenizer,
            batch_size=batch_size,
            max_length=max_length,
            device=str(device),
        )
        self.pad_token_id = int(self.lm.tokenizer.pad_token_id or 0)

    def examples(self, reqs: TaskRequests) -> list[Example]:
        """Token ids of every request of ``reqs`` (repeats expanded), tokenised and truncated as HFLM
        does; computed once per (task, shot) and tokenizer."""
        key = (id(self.lm.tokenizer), int(self.lm.max_length))
        if key not in reqs.encoded:
            reqs.encoded[key] = encode_instances(reqs, self.lm)
        return reqs.encoded[key]

    def loglikelihoods(self, reqs: TaskRequests, mask: Mask = FULL_MODEL) -> list[tuple[float, bool]]:
        """``(loglik, is_greedy)`` for every request of ``reqs`` (in order) with ``mask`` removed.

        Raises :class:`iclprune.evaluate.scoring.NonFiniteScoreError` naming the task, shot, mask, document and
        the first layer with a non-finite output when a log-likelihood is NaN/Inf.
        """
        cloned = reqs.cloned()

        def describe(i: int) -> str:
            return _describe(reqs, cloned, mask, i)

        examples = self.examples(reqs)
        with masked(self.model, mask):
            if self.shared_context:
                return score_loglikelihoods(
                    self.model, examples, batch_size=self.batch_size, pad_token_id=self.pad_token_id,
                    describe=describe,
                )  # fmt: skip
            results = self._hflm_loglikelihoods(cloned)
            check_finite(self.model, results, examples, describe)
        return results

    def loglikelihoods_many(
        self, reqs: TaskRequests, masks: Sequence[Mask]
    ) -> list[list[tuple[float, bool]]]:
        """:meth:`loglikelihoods` of ``reqs`` under each of ``masks``, in order.

        With ``shared_context`` and ``mask_batch > 1``, masks go ``mask_batch`` at a time through the
        same forwards (each batch tiled once per mask, so a forward holds ``mask_batch × batch_size``
        contexts); when even one context per mask runs out of memory the masks are split in halves.
        Results equal one :meth:`loglikelihoods` call per mask up to floating-point reassociation
        (``tests/test_mask_batch.py``). Otherwise one mask after another.
        """
        masks = list(masks)
        if not self.shared_context or self.mask_batch == 1 or len(masks) < 2:
            return [self.loglikelihoods(reqs, m) for m in masks]
        out: list[list[tuple[float, bool]]] = []
        for c in range(0, len(masks), self.mask_batch):
            out += self._variants(reqs, masks[c : c + self.mask_batch])
        return out

    def _variants(self, reqs: TaskRequests, masks: list[Mask]) -> list[list[tuple[float, bool]]]:
        if len(masks) == 1:
            return [self.loglikelihoods(reqs, masks[0])]
        examples = self.examples(reqs)
        try:
            with variants_masked(self.model, masks):
                results = variant_loglikelihoods(
                    self.model, examples, len(masks), batch_size=self.batch_size,
                    pad_token_id=self.pad_token_id,
                )  # fmt: skip
        except ScoringOutOfMemoryError:
            half = len(masks) // 2
            log.warning("out of memory with %d mask variants per forward; splitting them", len(masks))
            return self._variants(reqs, masks[:half]) + self._variants(reqs, masks[half:])
        cloned = reqs.cloned()
        for mask, res in zip(masks, results, strict=True):
            if any(not math.isfinite(ll) for ll, _ in res):
                with masked(self.model, mask):  # name the layer, one mask at a time
                    check_finite(self.model, res, examples, lambda i, m=mask: _describe(reqs, cloned, m, i))
        return results

    def _hflm_loglikelihoods(self, cloned: list[Any]) -> list[tuple[float, bool]]:
        """The reference path: lm-eval's ``HFLM.loglikelihood``; on out-of-memory the whole call is
        retried at half the batch size (HFLM batches internally), down to 1."""

        def run(size: int) -> list[tuple[float, bool]]:
            self.lm.batch_size_per_gpu = size
            return self.lm.loglikelihood(cloned, disable_tqdm=True)

        try:
            return retry_halving(
                run, self.batch_size, what="HFLM",
                at_one=lambda: "out of memory in lm-eval's HFLM even at batch size 1; use a smaller model, "
                "fewer shots, a shorter max_length or a bigger device",
            )[0]  # fmt: skip
        finally:
            self.lm.batch_size_per_gpu = self.batch_size

    def evaluate_many(self, reqs: TaskRequests, masks: Sequence[Mask]) -> list[EvalResult]:
        """:meth:`evaluate` under each of ``masks``, up to ``mask_batch`` of them per forward."""
        if reqs.role != "eval":
            raise ValueError(f"requests of role {reqs.role!r} are for importance, not evaluation")
        return [score_responses(reqs, r) for r in self.loglikelihoods_many(reqs, masks)]

    def evaluate(self, reqs: TaskRequests, mask: Mask = FULL_MODEL) -> EvalResult:
        """Accuracy (and the task's other metrics) of the model with ``mask`` removed."""
        if reqs.role != "eval":
            raise ValueError(f"requests of role {reqs.role!r} are for importance, not evaluation")
        return score_responses(reqs, self.loglikelihoods(reqs, mask))

    def importance_examples(self, reqs: TaskRequests) -> list[Example]:
        """The gold (context, continuation) of every document, tokenised exactly as evaluation does."""
        return importance_examples(reqs, self.lm)


def score_responses(reqs: TaskRequests, resps: Sequence[tuple[float, bool]]) -> EvalResult:
    """Apply lm-eval's filters, ``process_results`` and ``aggregation`` to raw responses."""
    task = reqs.task
    cloned = reqs.cloned()
    if len(resps) != len(cloned):
        raise ValueError(f"{len(resps)} responses for {len(cloned)} requests")
    for inst in reqs.instances:
        inst.resps = []
        inst.filtered_resps = {}
    for resp, inst in zip(resps, cloned, strict=True):
        inst.resps.append(resp)
    task.apply_filters()
    by_doc: dict[int, list[Any]] = defaultdict(list)
    for inst in reqs.instances:
        by_doc[inst.doc_id].append(inst)
    filter_key = next(iter(reqs.instances[0].filtered_resps))
    raw: dict[str, list[Any]] = defaultdict(list)
    rows = []
    for doc_id, doc in reqs.docs:
        insts = sorted(by_doc[doc_id], key=lambda i: i.idx)
        values = task.process_results(doc, [i.filtered_resps[filter_key] for i in insts])
        for metric, value in values.items():
            raw[metric].append(value)
        row = {"doc_id": int(doc_id)}
        row.update({m: v for m, v in values.items() if isinstance(v, int | float)})
        row["loglik"] = [float(i.resps[0][0]) for i in insts]
        row["is_greedy"] = [bool(i.resps[0][1]) for i in insts]
        rows.append(row)
    aggregations = task.aggregation()
    metrics = {m: float(aggregations[m](v)) for m, v in raw.items()}
    per_doc = pd.DataFrame(rows)
    groups = question_groups([doc for _, doc in reqs.docs])
    if groups is not None and "acc" in per_doc:
        metrics["acc_all"] = acc_all(per_doc["acc"].tolist(), groups)
    return EvalResult(metrics, per_doc)


def question_groups(docs: Sequence[dict[str, Any]]) -> list[tuple[Any, Any]] | None:
    """MultiRC-style ``(paragraph, question)`` of every document, or None when docs lack that ``idx``."""
    keys = []
    for doc in docs:
        idx = doc.get("idx")
        if not isinstance(idx, dict) or "paragraph" not in idx or "question" not in idx:
            return None
        keys.append((idx["paragraph"], idx["question"]))
    return keys


def acc_all(acc: Sequence[float], groups: Sequence[tuple[Any, Any]]) -> float:
    """MultiRC's ``acc_all``: the share of questions whose every answer document is right."""
    if len(acc) != len(groups):
        raise ValueError(f"{len(acc)} accuracies for {len(groups)} documents")
    per_question: dict[tuple[Any, Any], bool] = {}
    for value, key in zip(acc, groups, strict=True):
        per_question[key] = per_question.get(key, True) and bool(value)
    return sum(per_question.values()) / len(per_question)


def gold_index(task: Any, doc: dict[str, Any]) -> int:
    """The index of a multiple-choice document's gold choice (its first, when lm-eval's target is a list)."""
    gold = task.doc_to_target(doc)
    if isinstance(gold, list):
        gold = gold[0]
    if not isinstance(gold, int):
        gold = task.doc_to_choice(doc).index(gold)
    return int(gold)


def importance_examples(reqs: TaskRequests, lm: Any) -> list[Example]:
    """One :class:`Example` per document: its k-shot context and its gold continuation, encoded with
    lm-eval's own ``_encode_pair`` (so the answer carries the same leading space as in evaluation)."""
    if reqs.role != "importance":
        raise ValueError("importance examples come from requests built with role='importance'")
    task = reqs.task
    by_doc: dict[int, list[Any]] = defaultdict(list)
    for inst in reqs.instances:
        by_doc[inst.doc_id].append(inst)
    examples = []
    for doc_id, doc in reqs.docs:
        insts = sorted(by_doc[doc_id], key=lambda i: i.idx)
        gold = gold_index(task, doc) if task.OUTPUT_TYPE == "multiple_choice" else 0
        context, continuation = insts[gold].args
        ctx, cont = lm._encode_pair(context, continuation)
        examples.append(Example(tuple(ctx), tuple(cont)))
    return examples
