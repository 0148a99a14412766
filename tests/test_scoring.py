"""Shared-context scoring equals lm-eval's stock HFLM path; OOM retry; tokenisation and truncation."""

from __future__ import annotations

import logging
import random

import numpy as np
import pytest
import torch

from iclprune.core.components import Mask
from iclprune.evaluate.batching import Example
from iclprune.evaluate.evaluation import Evaluator, build_requests
from iclprune.evaluate.scoring import ScoringOutOfMemoryError, encode_instances, is_oom, loglikelihoods
from iclprune.evaluate.taskdefs import task_config
from iclprune.model.models import load_model
from iclprune.model.sites import resolve
from iclprune.model.surgery import masked

TOL = 1e-4  # fp32, |Δ loglik| against HFLM


def _assert_same(fast, ref) -> None:
    assert len(fast) == len(ref)
    np.testing.assert_allclose([f[0] for f in fast], [r[0] for r in ref], atol=TOL, rtol=0)
    assert [f[1] for f in fast] == [r[1] for r in ref]


def _both(model, tok, reqs, mask, **kw):
    """(fast, reference) log-likelihoods of ``reqs`` under ``mask`` from two Evaluators on one model."""
    fast = Evaluator(model, tok, shared_context=True, **kw).loglikelihoods(reqs, mask)
    ref = Evaluator(model, tok, shared_context=False, **kw).loglikelihoods(reqs, mask)
    return fast, ref


@pytest.fixture(scope="module", params=["llama", "opt", "gpt_neox"])
def tiny(request):
    return load_model(f"tiny:{request.param}", seed=0)


def _mask(model) -> Mask:
    sites = resolve(model)
    return Mask(frozenset({(0, 1), (sites.n_layers - 1, 0)}), frozenset({1}))


@pytest.mark.parametrize(("task", "shots"), [("icl_continuation", 5), ("icl_lastword", 2)])
def test_tiny_models_match_hflm_under_a_mask(tiny, task, shots) -> None:
    model, tok = tiny
    reqs = build_requests(task_config(task), shots, limit=4)
    for mask in (Mask(), _mask(model)):
        fast, ref = _both(model, tok, reqs, mask, batch_size=3)
        _assert_same(fast, ref)
    # the mask matters (the comparison is not between two unmasked runs)
    assert fast != Evaluator(model, tok).loglikelihoods(reqs)


def test_choices_of_different_token_lengths_share_one_context(tiny) -> None:
    model, tok = tiny
    reqs = build_requests(task_config("icl_continuation"), 3, limit=5)
    ev = Evaluator(model, tok, batch_size=5)
    examples = ev.examples(reqs)
    by_doc: dict[int, list[Example]] = {}
    for inst, ex in zip(reqs.cloned(), examples, strict=True):
        by_doc.setdefault(inst.doc_id, []).append(ex)
    assert all(len({e.context for e in exs}) == 1 for exs in by_doc.values())  # one context per doc
    assert any(len({len(e.continuation) for e in exs}) > 1 for exs in by_doc.values())
    _assert_same(*_both(model, tok, reqs, _mask(model), batch_size=5))


def test_left_truncation_to_max_length_matches_hflm(tiny) -> None:
    model, tok = tiny
    reqs = build_requests(task_config("icl_copa"), 3, limit=3)
    fast, ref = _both(model, tok, reqs, Mask(), batch_size=4, max_length=24)
    _assert_same(fast, ref)
    examples = Evaluator(model, tok, max_length=24).examples(reqs)
    assert all(len(e.context) + len(e.continuation) == 25 for e in examples)  # HFLM's window + 1
    # different continuation lengths truncate the shared context differently: still exact
    assert len({e.context for e in examples}) > reqs.n_docs


def test_batch_size_and_order_do_not_change_scores(tiny) -> None:
    model, tok = tiny
    reqs = build_requests(task_config("icl_continuation"), 2, limit=4)
    examples = Evaluator(model, tok).examples(reqs)
    base = loglikelihoods(model, examples, batch_size=64)
    for bs in (1, 3):
        _assert_same(loglikelihoods(model, examples, batch_size=bs), base)
    _assert_same(loglikelihoods(model, examples, batch_size=5, shared_context=False), base)
    order = list(range(len(examples)))
    random.Random(0).shuffle(order)
    shuffled = loglikelihoods(model, [examples[i] for i in order], batch_size=5)
    _assert_same(shuffled, [base[i] for i in order])


def test_empty_context_and_custom_requests_match_hflm() -> None:
    from lm_eval.api.instance import Instance

    model, tok = load_model("tiny:llama", seed=1)
    pairs = [("", " hello there"), ("", "hello"), ("The cat sat on the", " mat"), ("A b c ", "d e"),
             ("x", " y z w")]  # fmt: skip
    insts = [
        Instance("loglikelihood", {}, pair, i, metadata=("custom", i, 1)) for i, pair in enumerate(pairs)
    ]
    ev = Evaluator(model, tok, batch_size=2)
    ref = ev.lm.loglikelihood(insts, disable_tqdm=True)
    examples = encode_instances(insts, ev.lm)
    assert examples[0].context == (ev.lm.prefix_token_id,)
    _assert_same(loglikelihoods(model, examples, batch_size=2), ref)


def test_cache_rows_repeat_along_the_batch() -> None:
    """transformers' DynamicCache.batch_select_indices with repeated indices copies whole rows."""
    model, _ = load_model("tiny:llama", seed=0)
    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 11, 12]])
    with torch.no_grad():
        cache = model(input_ids=ids, use_cache=True).past_key_values
        before = [layer.keys.clone() for layer in cache.layers]
        cache.batch_select_indices(torch.tensor([0, 0, 1, 1, 1]))
    for layer, keys in zip(cache.layers, before, strict=True):
        assert layer.keys.shape[0] == 5
        assert torch.equal(layer.keys, keys[[0, 0, 1, 1, 1]])


@pytest.mark.integration
@pytest.mark.parametrize("shots", [1, 5])
def test_smollm2_matches_hflm_under_a_mask(smollm2, shots) -> None:
    model, tok = smollm2
    mask = Mask(frozenset({(0, 3), (5, 1), (12, 7), (29, 0)}), frozenset({3, 17}))
    reqs = build_requests(task_config("icl_copa"), shots, limit=3)
    fast, ref = _both(model, tok, reqs, mask, batch_size=4)
    _assert_same(fast, ref)
    reqs = build_requests(task_config("icl_lastword"), shots, limit=4)
    fast, ref = _both(model, tok, reqs, mask, batch_size=4)
    _assert_same(fast, ref)
    fast, ref = _both(model, tok, reqs, Mask(), batch_size=4)
    _assert_same(fast, ref)
    assert any(g for _, g in ref)  # is_greedy is compared where it is sometimes True


# ------------------------------------------------------------------------------------------ out of memory
class _OOMAbove:
    """A forward pre-hook on the stock embedding that raises an OOM error while the batch is > limit."""

    def __init__(self, limit: int, error: type[BaseException] = torch.OutOfMemoryError):
        self.limit, self.error, self.raised = limit, error, 0

    def __call__(self, module, args):
        if args[0].shape[0] > self.limit:
            self.raised += 1
            raise self.error("CUDA out of memory. Tried to allocate 20.00 GiB (simulated)")


def test_oom_halves_the_batch_and_results_equal_the_no_oom_run(caplog) -> None:
    model, tok = load_model("tiny:llama", seed=0)
    reqs = build_requests(task_config("icl_continuation"), 2, limit=6)
    clean = Evaluator(model, tok, batch_size=8).loglikelihoods(reqs)
    for error in (torch.OutOfMemoryError, RuntimeError):
        for shared in (True, False):
            hook = _OOMAbove(2, error)
            handle = model.get_input_embeddings().register_forward_pre_hook(hook)
            try:
                with caplog.at_level(logging.WARNING):
                    got = Evaluator(model, tok, batch_size=8, shared_context=shared).loglikelihoods(reqs)
            finally:
                handle.remove()
            assert hook.raised >= 2  # 8 → 4 → 2
            _assert_same(got, clean)
            # HFLM: 8 requests; shared context: 8 contexts with all their continuations (all 24 rows here)
            assert f"out of memory at batch size {24 if shared else 8} " in caplog.text
            assert "retrying" in caplog.text
            caplog.clear()


def test_oom_at_batch_size_one_fails_clearly() -> None:
    model, tok = load_model("tiny:llama", seed=0)
    reqs = build_requests(task_config("icl_antonyms"), 0, limit=2)
    for shared in (True, False):
        handle = model.get_input_embeddings().register_forward_pre_hook(_OOMAbove(0))
        try:
            with pytest.raises(ScoringOutOfMemoryError, match="even at batch size 1"):
                Evaluator(model, tok, batch_size=4, shared_context=shared).loglikelihoods(reqs)
        finally:
            handle.remove()


def test_other_errors_are_not_retried() -> None:
    model, tok = load_model("tiny:llama", seed=0)
    reqs = build_requests(task_config("icl_antonyms"), 0, limit=2)

    def broken(module, args):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    handle = model.get_input_embeddings().register_forward_pre_hook(broken)
    try:
        with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
            Evaluator(model, tok).loglikelihoods(reqs)
    finally:
        handle.remove()
    assert is_oom(torch.OutOfMemoryError("x"))
    assert is_oom(RuntimeError("CUDA out of memory."))
    assert not is_oom(RuntimeError("shape mismatch"))
    assert not is_oom(ValueError("out of memory"))


def test_scoring_under_masked_hooks_equals_physically_pruned_model() -> None:
    from iclprune.model.surgery import prune

    model, tok = load_model("tiny:opt", seed=3)
    mask = Mask(frozenset({(0, 0), (2, 3)}), frozenset({0}))
    reqs = build_requests(task_config("icl_copa"), 2, limit=3)
    examples = Evaluator(model, tok).examples(reqs)
    with masked(model, mask):
        hooked = loglikelihoods(model, examples)
    _assert_same(loglikelihoods(prune(model, mask), examples), hooked)
