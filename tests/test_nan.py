"""NaN/Inf in scores fails loudly, naming the task, shot, mask, document and the layer where it appeared.

The NaN is injected by hooks on stock modules of a real (tiny) model: an embedding pre-hook marks the
rows whose tokens include a token of one chosen document's prompt, and a forward hook on one layer's
FFN block turns those rows into NaN, as a numerically broken layer would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch

from iclprune.analysis.importance import head_importance
from iclprune.core.components import Mask
from iclprune.evaluate.evaluation import Evaluator, build_requests
from iclprune.evaluate.scoring import NonFiniteScoreError
from iclprune.evaluate.taskdefs import task_config
from iclprune.model.models import load_model
from iclprune.model.sites import resolve

TASK = "icl_antonyms"


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny:llama", seed=0)


@contextmanager
def nan_at(model: torch.nn.Module, layer: int, marker: int | None) -> Iterator[None]:
    """Rows whose input ids contain ``marker`` (every row when None) get a NaN FFN output at ``layer``."""
    flagged: list[torch.Tensor] = []

    def mark(module, args):
        ids = args[0]
        flagged[:] = [
            torch.ones(ids.shape[0], dtype=torch.bool) if marker is None else (ids == marker).any(1)
        ]

    def poison(module, args, output):
        rows = flagged[0].to(output.device)
        return torch.where(rows.view(-1, *[1] * (output.dim() - 1)), torch.nan, output)

    handles = [
        model.get_input_embeddings().register_forward_pre_hook(mark),
        resolve(model).layers[layer].ffn_block.register_forward_hook(poison),
    ]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _marker(ev: Evaluator, reqs, doc_id: int) -> int:
    """A token of ``doc_id``'s prompt that no other document's prompt contains."""
    contexts: dict[int, set[int]] = {}
    for inst, ex in zip(reqs.cloned(), ev.examples(reqs), strict=True):
        contexts.setdefault(inst.doc_id, set()).update(ex.context)
    others = set().union(*(c for d, c in contexts.items() if d != doc_id))
    unique = sorted(contexts[doc_id] - others)
    assert unique, "the test needs a document with a token of its own"
    return unique[0]


@pytest.mark.parametrize("shared_context", [True, False])
def test_nan_loglikelihood_names_task_shot_mask_document_and_layer(tiny, shared_context) -> None:
    model, tok = tiny
    ev = Evaluator(model, tok, batch_size=4, shared_context=shared_context)
    reqs = build_requests(task_config(TASK), 1, limit=4)
    mask = Mask(frozenset({(0, 1)}), frozenset({2}))
    marker = _marker(ev, reqs, doc_id=2)
    with nan_at(model, 1, marker), pytest.raises(NonFiniteScoreError) as err:
        ev.evaluate(reqs, mask)
    msg = str(err.value)
    assert f"task '{TASK}', 1-shot" in msg
    assert "mask removing heads head:0:1 and FFNs ffn:2" in msg
    assert "document 2 " in msg
    assert "the first non-finite layer output is layer 1" in msg
    # the hooks are gone and the same evaluation is finite again
    assert ev.evaluate(reqs, mask).per_doc.loglik.explode().astype(float).notna().all()


def test_nan_with_several_masks_per_forward_names_the_mask(tiny) -> None:
    model, tok = tiny
    ev = Evaluator(model, tok, batch_size=4, mask_batch=2)
    reqs = build_requests(task_config(TASK), 1, limit=4)
    masks = [Mask(frozenset({(0, 1)})), Mask(ffns=frozenset({2}))]
    with nan_at(model, 1, _marker(ev, reqs, doc_id=2)), pytest.raises(NonFiniteScoreError) as err:
        ev.evaluate_many(reqs, masks)
    msg = str(err.value)
    assert "mask removing heads head:0:1" in msg
    assert "document 2 " in msg
    assert "the first non-finite layer output is layer 1" in msg
    assert all(r.per_doc.loglik.explode().astype(float).notna().all() for r in ev.evaluate_many(reqs, masks))


def test_inf_in_logits_is_named_as_overflow(tiny) -> None:
    model, tok = tiny
    ev = Evaluator(model, tok, batch_size=4)
    reqs = build_requests(task_config(TASK), 0, limit=2)

    def overflow(module, args, output):
        return output.clone().fill_(float("inf"))

    handle = model.get_output_embeddings().register_forward_hook(overflow)
    try:
        with pytest.raises(NonFiniteScoreError, match=r"full model .*document 0 .*logits or their softmax"):
            ev.loglikelihoods(reqs)
    finally:
        handle.remove()


def test_nan_head_importance_names_task_shot_and_layer(tiny) -> None:
    model, tok = tiny
    reqs = build_requests(task_config(TASK), 1, limit=3, role="importance")
    examples = Evaluator(model, tok).importance_examples(reqs)
    with nan_at(model, 2, None), pytest.raises(NonFiniteScoreError) as err:
        head_importance(model, examples, batch_size=2, label=f"task '{TASK}', 1-shot")
    msg = str(err.value)
    assert f"task '{TASK}', 1-shot" in msg
    assert "the first non-finite layer output is layer 2" in msg


def test_nan_importance_stage_names_task_and_shot_and_writes_nothing(tmp_path) -> None:
    from iclprune.core.settings import ImportanceSettings
    from iclprune.workflow.stages import head_importance as stage
    from iclprune.workflow.stages import load_spec

    model, _ = load_spec("tiny:llama")  # the stage's resident copy
    out = tmp_path / "heads.parquet"
    with nan_at(model, 0, None), pytest.raises(NonFiniteScoreError, match=rf"task '{TASK}', 1-shot.*layer 0"):
        stage("tiny:llama", TASK, 1, out, importance=ImportanceSettings(n_docs=2, batch_size=2))
    assert list(tmp_path.iterdir()) == []
